// request_op: one request from URL to result, as a coroutine on one I/O
// worker, run as a chain of stages: admission, connect, send, read head
// (interim 1xx heads skipped), redirect, read body, deliver. request.cpp
// draws the state machine and holds run(), the whole flow; each stage is a
// file of its own (request_connect.cpp, request_send.cpp, request_head.cpp,
// request_redirect.cpp, request_body.cpp with request_body_watch.cpp,
// request_deliver.cpp) and enforces its limits (response_limits.hpp, and
// max_download_size / the minimum-speed guard of request_options). What the
// body becomes is the body_consumer's job (memory, file, sink).
//
// Threads: run() and everything it touches live on the worker's thread.
// cancel() may be called from any thread; it posts abort() to the worker.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "asio.hpp"
#include "body_consumer.hpp"
#include "connection.hpp"
#include "proxy_route.hpp"
#include "request_handles.hpp"
#include "content_decoder.hpp"
#include "url.hpp"
#include "vow/strand.hpp"
#include "vow/unique_function.hpp"
#include "vow/http/headers.hpp"
#include "vow/http/options.hpp"

namespace vow::http::detail {

struct io_worker;
struct request_env;
class request_op final : public std::enable_shared_from_this<request_op>, public live_request, public slot_waiter {
public:
    // `idle_promised`: the worker holds an idle connection to the URL's
    // origin set aside for this request (client_core::pick_worker, client_impl.hpp).
    request_op(std::shared_ptr<request_env> env, io_worker& worker, bool idle_promised, target_url url,
               request_options options, std::unique_ptr<body_consumer> consumer);
    ~request_op();

    // Runs the request on its worker; deliver() completes its future.
    void start();
    // From any thread: stop at once, closing the socket in use.
    void cancel() override;
    // From any thread: slot_limits gave this request the slot it waits for.
    void slot_granted() override;

    // For consumers that hand bytes to user code: waits (on this thread) until
    // wake_up() is called, or throws if the request was cancelled meanwhile.
    awaitable<void> wait_for_wake_up();
    // From any thread.
    void wake_up();
    // From any thread: re-checks what acquire_slot() waits for; consumes no
    // wake-up (a stale one would let a later wait_for_wake_up() pass early).
    void nudge();
    // Whether the next body read will not block: a Content-Length body with
    // bytes already in the socket (never for a chunked body, whose waiting
    // bytes may be framing only). A consumer may then read on before handing
    // bytes to user code.
    bool more_bytes_waiting() noexcept;
    // Whether the request is suspended in a read of body bytes (for a handler
    // that runs on this thread meanwhile).
    bool reading_body() const noexcept { return reading_body_; }

    const request_options& options() const noexcept { return options_; }
    io_worker& worker() noexcept { return worker_; }
    body_consumer& consumer() noexcept { return *consumer_; }

    // Throttled progress, reported on the completion executor.
    void note_body_bytes(std::size_t n);

    // User code for this request (progress, sink calls, the completion) runs
    // on this strand over the completion executor: in order, one at a time.
    executor& user_side() noexcept { return user_side_; }

private:
    // The whole request; throws a typed vow error on failure.
    awaitable<void> run();
    // The deliver stage (request_deliver.cpp): once, when run() has finished
    // (`error` says why it failed, null when it did not): the last progress
    // report, then the consumer's complete(error) on the user side. If the
    // user side drops the task (executor shut down), the future fails with
    // executor_shut_down instead.
    void deliver(std::exception_ptr error);

    struct slot_guard;

    // What changes from one hop of a redirect chain to the next.
    struct hop {
        target_url url;
        std::string method;
        std::string body;
    };
    // One request/response on a connection, from connect to the final head.
    struct exchange {
        std::unique_ptr<connection> conn;
        std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
        const proxy_endpoint* proxy = nullptr;  // this hop's route, null for direct
        bool absolute_form = false;  // through an HTTP proxy: the target is the whole URL
        bool asked_range = false;    // the request sent carried a Range
    };

    // The stages, in the order run() calls them (request.cpp draws the
    // state machine). Each lives in its own file and enforces its own limits.

    // Admission (request.cpp): a slot of the origin; the total timeout
    // starts with the first one.
    awaitable<void> acquire_slot(const std::string& origin);
    void start_total_timeout();
    // connect -> send -> read head, on a pooled or new connection (request.cpp).
    awaitable<void> start_exchange(const hop& h, exchange& ex);
    // Releases the connection: to the worker's pool, or closed.
    void release(exchange& ex, bool reusable);

    // Connect (request_connect.cpp): resolve, TCP, proxy tunnel, TLS, all
    // under the connect timeout.
    awaitable<std::unique_ptr<connection>> connect(const target_url& url);
    // CONNECT url's host:port through `proxy` on c's TCP stream, before TLS;
    // throws proxy_error unless the proxy answers 2xx.
    awaitable<void> open_tunnel(connection& c, const target_url& url, const proxy_endpoint& proxy);
    // A failure to resolve, reach or talk to the proxy, named as such.
    [[noreturn]] void fail_at_proxy(beast::error_code ec, const char* phase, const target_url& url,
                                    const proxy_endpoint& proxy);

    // Send (request_send.cpp): the request message of this hop.
    bhttp::request<bhttp::string_body> build_request(const hop& h, exchange& ex);

    // Read head (request_head.cpp): drops interim (1xx) heads until the
    // final one is in `parser`, then checks what the head itself may not be.
    awaitable<void> skip_informational(connection& c, std::optional<bhttp::response_parser<bhttp::buffer_body>>& parser,
                                       bool head_request, const target_url& url);
    void check_final_head(const response_head& head, const exchange& ex, const target_url& url) const;

    // Redirect (request_redirect.cpp): skips a small body so the connection
    // can be reused, then the next hop, within the redirect limits.
    awaitable<void> leave_redirect(exchange& ex, const response_head& head, const target_url& url);
    // h becomes the next hop (303: a GET without body).
    void follow_redirect(hop& h, const response_head& head, int& redirects) const;

    // Read body (request_body.cpp): Content-Length, chunked or to close,
    // paced by the rate limiter and decoded by the content decoder; true
    // when the connection may be reused.
    void choose_decoder(bool has_body, response_head& head, const target_url& url);
    awaitable<bool> read_body(connection& c, bhttp::response_parser<bhttp::buffer_body>& parser,
                              const target_url& url);
    // client_options::max_bytes_per_second: waits (on rate_timer_) for this
    // request's turn to read, then returns how many of `want` bytes it may
    // read (at least 1). Without a cap, `want` at once.
    awaitable<std::size_t> pace(std::size_t want, const target_url& url);
    // After a paced read of `took` of the `granted` bytes: returns the rest.
    void paced(std::size_t granted, std::size_t took) noexcept;
    // Body bytes that came off the connection: counted, decoded when the
    // response is encoded (request_options::decode_content) and handed to
    // the consumer. body_buffer() is where the next read puts them.
    std::span<char> body_buffer();
    awaitable<void> take_body(const char* data, std::size_t n, const target_url& url);
    // Throws body_limit_error when `total` body bytes (a resumed part
    // included) would exceed options_.max_download_size.
    void check_download_size(std::uint64_t total, bool announced, const target_url& url) const;

    // The body stage's watches (request_body_watch.cpp). Body reads: one
    // timer per request watches for an idle connection, instead of a timer
    // armed and cancelled around every read (a syscall and a handler each).
    // Each read only notes when it started.
    void start_idle_watch(connection& c);
    void arm_idle_watch(std::chrono::steady_clock::time_point at);
    void stop_idle_watch() noexcept;
    void on_idle_watch(beast::error_code ec);
    // Content-Length body reads are batched: the socket's low watermark
    // (SO_RCVLOWAT) makes the kernel wake the I/O thread once batch_bytes are
    // waiting, not for every segment that lands, which cuts wake-ups and
    // small reads on both ends of the connection. The idle watch drops the
    // mark when a read has waited batch_wait, so bytes a slow or paused
    // server sent wait at most that long; a read that finds plenty waiting
    // starts batching again.
    static constexpr std::size_t batch_bytes = 256 * 1024;
    static constexpr std::chrono::milliseconds batch_wait{2};
    static constexpr std::uint64_t tls_record_slack = 20 * 1024;  // > one TLS record with its overhead
    // The minimum-speed guard: every low_speed_time while the body is read,
    // compares the bytes that came in that window with low_speed_limit.
    void start_speed_watch();
    void arm_speed_watch();
    void stop_speed_watch() noexcept;
    void start_batching();
    void set_low_watermark(connection& c, std::size_t bytes) noexcept;

    // Failures (request_errors.cpp): what went wrong, named by phase, as a
    // typed error.
    void abort();  // on the worker's thread
    [[noreturn]] void fail(beast::error_code ec, const char* phase, const target_url& url);
    void check_stopped(const target_url& url);

    std::shared_ptr<request_env> env_;  // the client, as far as a request sees it
    io_worker& worker_;
    target_url url_;
    request_options options_;
    std::unique_ptr<body_consumer> consumer_;
    vow::strand user_side_;

    // Worker-thread state.
    asio::steady_timer total_timer_;
    asio::steady_timer wake_timer_;  // slot waits and sink waits sleep on it
    connection* active_ = nullptr;   // closed by abort()
    tcp::resolver* resolving_ = nullptr;
    asio::steady_timer* connect_timer_ = nullptr;
    bool idle_promised_;  // until the first take_idle spends it
    bool total_armed_ = false;
    bool cancelled_ = false;
    bool total_expired_ = false;
    bool connect_expired_ = false;
    bool woken_ = false;
    bool idle_expired_ = false;
    bool idle_watching_ = false;  // the idle timer's handler may act (cleared before the connection moves on)
    asio::steady_timer idle_timer_;
    bool speed_expired_ = false;  // the minimum-speed guard closed the connection
    bool speed_watching_ = false; // the speed timer's handler may act
    asio::steady_timer speed_timer_;
    asio::steady_timer rate_timer_;  // waits for the turn pace() was given
    std::uint64_t speed_window_bytes_ = 0;  // body_received_ when the window began
    std::uint64_t speed_seen_ = 0;          // bytes per second in the window that tripped the guard
    // Time waiting for the sink is not the server's: the speed window leaves it out.
    bool waiting_for_sink_ = false;                                // in wait_for_wake_up()
    std::chrono::steady_clock::time_point sink_wait_started_{};   // or when the window began, if later
    std::chrono::steady_clock::duration sink_waited_{};           // in this window, waits that ended
    std::chrono::steady_clock::time_point read_started_{};  // of the body read in flight
    std::unique_ptr<content_decoder> decoder_;  // of this response's body, when it is decoded
    std::unique_ptr<char[]> encoded_buffer_;     // what the decoder reads from
    static constexpr std::size_t encoded_buffer_size = 64 * 1024;
    bool raw_body_ = false;      // the body is read straight from the socket (Content-Length)
    bool batching_ = false;      // body reads are batched (see batch_bytes)
    int low_watermark_ = 1;      // the SO_RCVLOWAT set on the active connection
    bool reading_body_ = false;  // suspended in a read of body bytes (into the consumer's buffer)
    std::atomic<bool> slot_granted_{false};  // set by slot_granted() (any thread); acquire pairs with its release

    // Progress.
    std::chrono::steady_clock::time_point attempt_started_;
    std::chrono::steady_clock::time_point last_progress_{};
    std::uint64_t body_received_ = 0;  // this response
    std::optional<std::uint64_t> body_total_;
    std::atomic<bool> progress_in_flight_{false};  // one report queued at a time: a slow callback is not flooded
    std::uint64_t reported_ = 0;                   // body_received_ at the last report
    asio::steady_timer catch_up_timer_;            // reports bytes held back by the interval when no more come
    bool catch_up_armed_ = false;
    progress snapshot(std::chrono::steady_clock::time_point now) const;
    void report_progress(std::chrono::steady_clock::time_point now);
    void arm_catch_up();
};

}  // namespace vow::http::detail
