// The read-body stage's watches, one timer each per request: the idle watch
// (no byte for idle_timeout during a read; it also ends batching when a
// read waited batch_wait) and the minimum-speed guard (low_speed_limit over
// low_speed_time). Each closes the socket; the read fails and fail() names
// the watch that tripped.
#include "request.hpp"
#include "request_stages.hpp"

namespace vow::http::detail {

void request_op::start_idle_watch(connection& c) {
    c.lowest().expires_never();  // the watch replaces the stream's per-read timer
    idle_expired_ = false;
    idle_watching_ = true;
    read_started_ = std::chrono::steady_clock::now();
    arm_idle_watch(read_started_ + options_.idle_timeout);
}

void request_op::arm_idle_watch(std::chrono::steady_clock::time_point at) {
    idle_timer_.expires_at(at);
    idle_timer_.async_wait([self = weak_from_this()](beast::error_code ec) {
        if (auto op = self.lock()) op->on_idle_watch(ec);
    });
}

void request_op::stop_idle_watch() noexcept {
    idle_watching_ = false;  // a handler already queued does nothing
    try {
        idle_timer_.cancel();
    } catch (...) {
        // A wait left armed only finds idle_watching_ cleared.
    }
}

void request_op::on_idle_watch(beast::error_code ec) {
    if (ec || !idle_watching_ || !active_) return;
    const auto now = std::chrono::steady_clock::now();
    // Only a read counts: time spent waiting for the sink is not the server's.
    if (reading_body_ && now - read_started_ >= options_.idle_timeout) {
        idle_expired_ = true;
        active_->close();  // the read fails; fail() reports the idle timeout
        return;
    }
    if (batching_ && reading_body_ && now - read_started_ >= batch_wait) {
        // A slow or paused server: take what has come (lowering the mark
        // wakes the read if bytes are waiting).
        batching_ = false;
        set_low_watermark(*active_, 1);
    }
    const auto since = reading_body_ ? read_started_ : now;
    arm_idle_watch(batching_ ? since + batch_wait : since + options_.idle_timeout);
}

void request_op::start_speed_watch() {
    speed_expired_ = false;
    if (options_.low_speed_limit == 0 || options_.low_speed_time <= request_options::duration::zero()) return;
    speed_watching_ = true;
    arm_speed_watch();
}

void request_op::arm_speed_watch() {
    const auto now = std::chrono::steady_clock::now();
    speed_window_bytes_ = body_received_;
    sink_waited_ = {};
    if (waiting_for_sink_) sink_wait_started_ = now;  // only the rest of that wait is this window's
    speed_timer_.expires_at(now + options_.low_speed_time);
    speed_timer_.async_wait([self = weak_from_this()](beast::error_code ec) {
        auto op = self.lock();
        if (ec || !op || !op->speed_watching_ || !op->active_) return;
        const std::chrono::steady_clock::duration window = op->options_.low_speed_time;
        auto waited = op->sink_waited_;
        if (op->waiting_for_sink_) waited += std::chrono::steady_clock::now() - op->sink_wait_started_;
        // The server's share of the window; one mostly spent on the sink gives no verdict.
        const auto served = window - std::min(waited, window);
        if (served * 2 < window) {
            op->arm_speed_watch();
            return;
        }
        const double secs = std::chrono::duration<double>(served).count();
        const auto came = op->body_received_ - op->speed_window_bytes_;
        if (static_cast<double>(came) < static_cast<double>(op->options_.low_speed_limit) * secs) {
            op->speed_seen_ = secs > 0 ? static_cast<std::uint64_t>(static_cast<double>(came) / secs) : came;
            op->speed_expired_ = true;
            op->active_->close();  // the read fails; fail() reports the low speed
            return;
        }
        op->arm_speed_watch();
    });
}

void request_op::stop_speed_watch() noexcept {
    speed_watching_ = false;  // a handler already queued does nothing
    try {
        speed_timer_.cancel();
    } catch (...) {
        // A wait left armed only finds speed_watching_ cleared.
    }
}

void request_op::start_batching() {
    batching_ = true;
    // The watch must look again within batch_wait.
    auto soon = std::chrono::steady_clock::now() + batch_wait;
    if (idle_timer_.expiry() > soon) arm_idle_watch(soon);
}

void request_op::set_low_watermark(connection& c, std::size_t bytes) noexcept {
    const int mark = static_cast<int>(bytes);
    if (mark == low_watermark_) return;
    beast::error_code ignored;  // a closed socket needs no mark
    c.lowest().socket().set_option(asio::socket_base::receive_low_watermark(mark), ignored);
    low_watermark_ = mark;
}

}  // namespace vow::http::detail
