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
        // The last bytes of the body need no catch-up (delivery reports
        // them), nor the timer it would arm: a syscall per small file.
        const bool whole = !decoder_ && body_total_ && body_received_ >= *body_total_;
        if (!whole) arm_catch_up();
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

// The deliver step as a task on the user side: runs once; destroyed unrun,
// it completes the future with executor_shut_down.
class delivery {
public:
    delivery(std::shared_ptr<request_op> op, std::optional<progress> last, std::exception_ptr error)
        : op_(std::move(op)), last_(std::move(last)), error_(std::move(error)) {}
    delivery(delivery&& o) noexcept = default;
    delivery& operator=(delivery&&) = delete;
    ~delivery() {
        if (op_) op_->consumer().complete(std::make_exception_ptr(executor_shut_down()));
    }
    void operator()() {
        auto op = std::move(op_);
        if (last_) {
            try {
                op->options().on_progress(*last_);
            } catch (...) {
                // A throwing progress callback must not lose the result.
            }
        }
        op->consumer().complete(std::move(error_));
    }

private:
    std::shared_ptr<request_op> op_;
    std::optional<progress> last_;
    std::exception_ptr error_;
};

}  // namespace

void request_op::deliver(std::exception_ptr error) {
    std::optional<progress> last;
    // After a cancel the caller has moved on: no new progress reports.
    if (options_.on_progress && !cancelled_) last = snapshot(std::chrono::steady_clock::now());
    try {
        user_side_.execute(delivery(shared_from_this(), std::move(last), std::move(error)));
    } catch (const executor_shut_down&) {
        // The delivery was destroyed unrun and completed with executor_shut_down.
    }
}

}  // namespace vow::http::detail
