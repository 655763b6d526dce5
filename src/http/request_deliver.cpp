// The deliver stage and the progress reports before it: everything this
// request hands to user code goes through its user side (a strand over the
// completion executor), in order.
#include "request.hpp"
#include "request_stages.hpp"
#include "vow/errors.hpp"

namespace vow::http::detail {

progress request_op::snapshot(std::chrono::steady_clock::time_point now) const {
    progress p;
    p.received = body_received_;
    p.total = body_total_;
    double secs = std::chrono::duration<double>(now - attempt_started_).count();
    p.bytes_per_second = secs > 0 ? static_cast<double>(body_received_ - consumer_->already_have()) / secs : 0;
    return p;
}

void request_op::note_body_bytes(std::size_t n) {
    body_received_ += n;
    if (!options_.on_progress) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < options_.progress_interval) {
        arm_catch_up();
        return;
    }
    report_progress(now);
}

void request_op::report_progress(std::chrono::steady_clock::time_point now) {
    if (cancelled_) return;
    if (progress_in_flight_.exchange(true, std::memory_order_acq_rel)) {
        arm_catch_up();  // the previous report is still queued; try again later
        return;
    }
    last_progress_ = now;
    reported_ = body_received_;
    try {
        user_side_.execute([self = shared_from_this(), p = snapshot(now)] {
            self->progress_in_flight_.store(false, std::memory_order_release);
            try {
                self->options_.on_progress(p);
            } catch (...) {
                // Progress is advisory; a throwing callback does not fail the transfer.
            }
        });
    } catch (const executor_shut_down&) {
        progress_in_flight_.store(false, std::memory_order_release);  // nobody to report to
    }
}

// Without this, bytes that arrive just after a report and are followed by a
// stall would stay unreported until the end.
void request_op::arm_catch_up() {
    if (catch_up_armed_) return;
    catch_up_armed_ = true;
    catch_up_timer_.expires_at(std::max(last_progress_ + options_.progress_interval,
                                        std::chrono::steady_clock::now() + std::chrono::milliseconds(10)));
    catch_up_timer_.async_wait([self = weak_from_this()](beast::error_code ec) {
        auto op = self.lock();
        if (!op) return;
        op->catch_up_armed_ = false;
        if (!ec && op->body_received_ != op->reported_) op->report_progress(std::chrono::steady_clock::now());
    });
}

namespace {

// Runs the completion once; destroyed unrun, it completes with executor_shut_down.
class delivery {
public:
    delivery(std::optional<progress> last, std::function<void(const progress&)> on_progress,
             unique_function<void(std::exception_ptr)> complete)
        : last_(std::move(last)), on_progress_(std::move(on_progress)), complete_(std::move(complete)) {}
    delivery(delivery&& o) noexcept = default;
    delivery& operator=(delivery&&) = delete;
    ~delivery() {
        if (complete_) complete_(std::make_exception_ptr(executor_shut_down()));
    }
    void operator()() {
        auto complete = std::move(complete_);
        complete_ = nullptr;
        if (last_ && on_progress_) {
            try {
                on_progress_(*last_);
            } catch (...) {
                // A throwing progress callback must not lose the result.
            }
        }
        complete(nullptr);
    }

private:
    std::optional<progress> last_;
    std::function<void(const progress&)> on_progress_;
    unique_function<void(std::exception_ptr)> complete_;
};

}  // namespace

void request_op::deliver(unique_function<void(std::exception_ptr)> complete) {
    std::optional<progress> last;
    // After a cancel the caller has moved on: no new progress reports.
    if (options_.on_progress && !cancelled_) last = snapshot(std::chrono::steady_clock::now());
    try {
        user_side_.execute(delivery(std::move(last), options_.on_progress, std::move(complete)));
    } catch (const executor_shut_down&) {
        // The delivery was destroyed unrun and completed with executor_shut_down.
    }
}

}  // namespace vow::http::detail
