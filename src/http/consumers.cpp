#include "consumers.hpp"

#include <utility>

#include "client_impl.hpp"
#include "completed_file.hpp"
#include "content_range.hpp"
#include "request.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

void require_success(const response_head& head, const target_url& url) {
    if (head.status < 200 || head.status > 299) throw status_error(head.status, head.reason, head.headers, url.text);
}

// --- memory ----------------------------------------------------------------

body_consumer::verdict memory_consumer::on_head(const response_head& head, const target_url& url) {
    require_success(head, url);
    if (head.content_length && *head.content_length > limit_)
        throw body_limit_error("body of " + url.text + " is " + std::to_string(*head.content_length) +
                               " bytes, more than max_body_size (" + std::to_string(limit_) + " bytes)");
    url_ = url.text;
    result_.status = head.status;
    result_.reason = head.reason;
    result_.headers = head.headers;
    if (head.content_length) result_.body.reserve(static_cast<std::size_t>(*head.content_length));
    return verdict::read_body;
}

awaitable<void> memory_consumer::on_data(request_op&, const char* data, std::size_t n) {
    if (result_.body.size() + n > limit_)
        throw body_limit_error("body of " + url_ + " grew past max_body_size (" + std::to_string(limit_) + " bytes)");
    result_.body.append(data, n);
    co_return;
}

void memory_consumer::on_end(const target_url& url) { result_.url = url.text; }

// --- file ------------------------------------------------------------------

file_consumer::file_consumer(std::filesystem::path path, std::string url, bool resume,
                             std::optional<std::string> sha256, bool part_known_absent, bool replace_existing)
    : file_(std::move(path)),
      url_(std::move(url)),
      resume_(resume),
      part_known_absent_(part_known_absent),
      expected_sha256_(std::move(sha256)) {
    if (!replace_existing) file_.never_replace();
    if (expected_sha256_) {
        for (auto& c : *expected_sha256_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
}

void file_consumer::add_request_headers(bhttp::fields& fields) {
    asked_from_ = 0;
    if (std::exchange(part_known_absent_, false))
        file_.known_absent();
    else if (resume_)
        asked_from_ = file_.existing_size();
    stored_.reset();
    if (asked_from_ == 0) return;
    // Only a .part whose meta says it is a part of this URL is continued;
    // one without meta, of another URL, or longer than its recorded total is
    // a foreign leftover: it is replaced (the request goes without a range).
    // So is a segmented download's .part (its meta has ranges): its bytes
    // are not one prefix; request_options::segments > 1 resumes it.
    stored_ = file_.stored_meta();
    if (!stored_ || !stored_->ranges.empty() || stored_->url != url_ || (stored_->total && *stored_->total < asked_from_)) {
        asked_from_ = 0;
        stored_.reset();
        return;
    }
    fields.set(bhttp::field::range, "bytes=" + std::to_string(asked_from_) + "-");
    if (stored_->validator) fields.set(bhttp::field::if_range, *stored_->validator);
}

body_consumer::verdict file_consumer::restart() {
    file_.discard();  // stale: start over without Range
    asked_from_ = 0;
    resume_ = false;
    return verdict::restart;
}

body_consumer::verdict file_consumer::on_head(const response_head& head, const target_url& url) {
    const bool hash = expected_sha256_.has_value();
    have_ = 0;
    already_complete_ = false;
    expected_size_.reset();
    if (head.status == 206 && asked_from_ > 0) {
        expected_size_ = check_partial_response(head.headers.find("Content-Range"), asked_from_,
                                                head.content_length, std::nullopt, url.text);
        // A total other than the one recorded: the file changed, the .part is of an older one.
        if (stored_->total && *expected_size_ != *stored_->total) return restart();
        have_ = asked_from_;
        auto validator = validator_of(head.headers);
        if (!validator) validator = stored_->validator;
        file_.open(true, part_meta{url_, validator, expected_size_, {}}, hash, head.content_length);
        require_unchanged_part();
    } else if (head.status == 416 && asked_from_ > 0) {
        auto range = head.headers.find("Content-Range");
        auto parsed = range ? parse_content_range(*range) : std::nullopt;
        auto validator = validator_of(head.headers);
        // The .part already holds the whole file only when the server's total,
        // the recorded total and (when both are known) the validators agree.
        const bool complete = parsed && parsed->total == asked_from_ && stored_->total == asked_from_ &&
                              (!validator || !stored_->validator || *validator == *stored_->validator);
        if (!complete) return restart();
        have_ = asked_from_;
        expected_size_ = asked_from_;
        already_complete_ = true;
        file_.open(true, *stored_, hash);
        require_unchanged_part();
    } else {
        require_success(head, url);
        if (head.status == 206)
            throw protocol_error("206 from " + url.text + " to a download that asked for no range");
        std::optional<std::uint64_t> total = head.status == 200 ? head.content_length : std::nullopt;
        file_.open(false, part_meta{url_, validator_of(head.headers), total, {}}, hash, head.content_length);
    }
    result_.status = head.status;
    result_.headers = head.headers;
    result_.resumed_from = have_;
    return verdict::read_body;
}

// The range was asked for the .part as it was when the request went out; if
// something else removed or wrote it since, continuing it would make a wrong file.
void file_consumer::require_unchanged_part() const {
    if (file_.size() == asked_from_) return;
    throw file_error(std::make_error_code(std::errc::io_error),
                     file_.part_path().string() + " changed while the request was in flight: it held " +
                         std::to_string(asked_from_) + " bytes, now " + std::to_string(file_.size()));
}

awaitable<void> file_consumer::on_data(request_op&, const char* data, std::size_t n) {
    if (already_complete_) co_return;  // the 416's own small body
    file_.write(data, n);
    result_.transferred += n;
    co_return;
}

void file_consumer::on_end(const target_url& url) {
    if (expected_sha256_) {
        auto actual = file_.digest();
        if (actual != *expected_sha256_) {
            file_.discard();
            throw checksum_error(*expected_sha256_, actual);
        }
        result_.sha256 = actual;
    }
    // After a 206 or 416, a backstop for bodies without a Content-Length
    // (chunked, to close): a file of another size than the total the server
    // gave is never renamed.
    if (expected_size_ && file_.size() != *expected_size_)
        throw protocol_error("the body of " + url.text + " made a file of " + std::to_string(file_.size()) +
                             " bytes, not the " + std::to_string(*expected_size_) + " the server gave; " +
                             file_.part_path().string() + " is not renamed");
    result_.size = file_.size();
    file_.commit();
    result_.path = file_.final_path();
    result_.url = url.text;
}

// --- sink ------------------------------------------------------------------

body_consumer::verdict sink_consumer::on_head(const response_head& head, const target_url& url) {
    require_success(head, url);
    result_.status = head.status;
    result_.headers = head.headers;
    return verdict::read_body;
}

// Calls the sink on the user side; done, run or not, it tells the consumer.
// op keeps the consumer (and its buffers) alive until then.
class sink_consumer::call {
public:
    call(std::shared_ptr<request_op> op, sink_consumer* consumer, const char* data, std::size_t n)
        : op_(std::move(op)), consumer_(consumer), data_(data), n_(n) {}
    call(call&& o) noexcept : op_(std::move(o.op_)), consumer_(o.consumer_), data_(o.data_), n_(o.n_) {}
    call& operator=(call&&) = delete;
    ~call() {
        if (!op_) return;
        consumer_->sink_error_ = std::make_exception_ptr(executor_shut_down());
        consumer_->call_done(*op_);
    }
    void operator()() {
        auto op = std::move(op_);
        try {
            consumer_->sink_(std::span<const char>(data_, n_));
        } catch (...) {
            consumer_->sink_error_ = std::current_exception();
        }
        consumer_->call_done(*op);
    }

private:
    std::shared_ptr<request_op> op_;
    sink_consumer* consumer_;
    const char* data_;
    std::size_t n_;
};

void sink_consumer::call_done(request_op& op) noexcept {
    switch (state_.exchange(sink_state::idle, std::memory_order_acq_rel)) {
        case sink_state::waited_for:
            op.wake_up();
            break;
        case sink_state::pending:
            asio::post(op.worker().ctx, [self = op.shared_from_this(), this] { flush(*self); });
            break;
        default:
            break;  // the I/O thread sees the state when it next looks
    }
}

std::span<char> sink_consumer::next_buffer() { return owned_buffer(current_).subspan(filled_); }

bool sink_consumer::sink_idle() {
    if (state_.load(std::memory_order_acquire) != sink_state::idle) return false;
    if (sink_error_) std::rethrow_exception(sink_error_);
    return true;
}

awaitable<void> sink_consumer::wait_for_sink(request_op& op) {
    auto expected = state_.load(std::memory_order_relaxed);
    while (expected != sink_state::idle &&
           !state_.compare_exchange_weak(expected, sink_state::waited_for, std::memory_order_acq_rel)) {
    }
    // The state decides, not the wake-up alone: the buffer the call reads
    // must not be refilled before the call is done.
    while (state_.load(std::memory_order_acquire) != sink_state::idle) co_await op.wait_for_wake_up();
    sink_idle();  // rethrows what the sink threw
}

// With the sink idle: hands on the bytes not yet handed on; a full buffer's
// last bytes move reading to the other buffer (free: no call is in flight).
void sink_consumer::hand_off(request_op& op) {
    auto buf = owned_buffer(current_);
    const char* data = buf.data() + handed_;
    const std::size_t n = filled_ - handed_;
    handed_ = filled_;
    if (filled_ == buf.size()) {
        current_ ^= 1;
        handed_ = filled_ = 0;
    }
    if (n == 0) return;
    result_.size += n;
    state_.store(sink_state::busy, std::memory_order_relaxed);  // only we leave idle
    try {
        op.user_side().execute(call(op.shared_from_this(), this, data, n));
    } catch (const executor_shut_down&) {
        // the call's destructor stored the error and marked the sink idle.
    }
}

void sink_consumer::flush(request_op& op) {
    // Only while a read is in flight into next_buffer(), past filled_: the
    // bytes before it may go. Anywhere else the request looks at the sink
    // itself (and a hand-off here could leave it waiting on a call that will
    // not wake it).
    if (closed_ || !op.reading_body() || state_.load(std::memory_order_acquire) != sink_state::idle || sink_error_)
        return;
    try {
        hand_off(op);
    } catch (...) {
        // Not on the coroutine: keep the error for its next look at the sink
        // (the refused call marked the sink idle).
        if (!sink_error_) sink_error_ = std::current_exception();
    }
}

awaitable<void> sink_consumer::on_data(request_op& op, const char*, std::size_t n) {
    filled_ += n;  // the bytes are already in place: next_buffer() pointed there
    const bool more = op.more_bytes_waiting();
    const bool full = filled_ == buffer_size();
    if (sink_idle()) {
        if (more && !full && filled_ - handed_ < buffer_size() / 2) co_return;  // larger spans
        hand_off(op);
        co_return;
    }
    if (!full) {
        if (more) co_return;  // keep filling while the sink works
        // The next read may block: the call's return should flush what we hold.
        auto expected = sink_state::busy;
        if (state_.compare_exchange_strong(expected, sink_state::pending, std::memory_order_acq_rel)) co_return;
        if (sink_idle()) hand_off(op);  // it returned meanwhile
        co_return;
    }
    co_await wait_for_sink(op);
    hand_off(op);
}

awaitable<void> sink_consumer::drain(request_op& op) {
    co_await wait_for_sink(op);
    hand_off(op);
    co_await wait_for_sink(op);
}

void sink_consumer::on_end(const target_url& url) {
    closed_ = true;
    result_.url = url.text;
}

}  // namespace vow::http::detail
