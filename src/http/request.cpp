// One request, from URL to result, as a chain of stages on one I/O worker.
// run() below is the whole flow; each stage lives in a file of its own and
// enforces its own limits:
//
//   run()
//     |
//     v
//   admission ........ a slot of the origin; the total     request.cpp
//     |                timeout starts with the first
//     v
//   connect .......... pooled connection, or resolve ->    request_connect.cpp
//     |                TCP -> [proxy CONNECT tunnel] -> [TLS]
//     v
//   send ............. the request message                 request_send.cpp
//     |
//     v
//   read head ........ skips 1xx; checks the final head    request_head.cpp
//     |
//     +-- failed on a pooled connection the server had closed:
//     |   connect again, once (idempotent methods only)
//     +-- 3xx + Location --> redirect: next hop            request_redirect.cpp
//     |                      --> admission
//     +-- the consumer's verdict is restart (stale .part) --> admission
//     v
//   read body ........ Content-Length, chunked or to       request_body.cpp
//     |                close; paced, decoded, watched for  request_body_watch.cpp
//     |                idle and low speed
//     v
//   release .......... the connection to the pool (or      request.cpp
//     |                closed); the consumer's on_end
//     v
//   deliver(result) .. once, on the user side: the         request_deliver.cpp
//                      consumer completes the future
//
// Any stage may throw: the consumer's on_abandon runs, and the error is
// what deliver() completes the future with. Failures are named by
// request_errors.cpp; cancel() and the timers close the socket in use.
#include "request.hpp"

#include "request_env.hpp"
#include "request_stages.hpp"
#include "vow/errors.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

bool is_idempotent(const std::string& method) {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE" ||
           method == "TRACE";
}

}  // namespace

// Holds an admission slot until the request leaves the origin.
struct request_op::slot_guard {
    slot_limits* limits = nullptr;
    std::string origin;
    ~slot_guard() {
        if (limits) limits->release(origin);
    }
};

void request_op::start() {
    consumer_->on_cancel([weak = weak_from_this()] {
        if (auto op = weak.lock()) op->cancel();
    });
    const bool started = env_->gate.spawn_unless_closed([&] {
        asio::co_spawn(worker_.ctx, run(), [self = shared_from_this()](std::exception_ptr error) {
            self->deliver(std::move(error));
        });
    });
    if (!started) deliver(std::make_exception_ptr(cancelled_error("vow::http: the client was destroyed")));
}

awaitable<void> request_op::run() {
    worker_.live.insert(this);
    struct unregister {
        request_op* op;
        ~unregister() {
            op->worker_.live.erase(op);
            op->active_ = nullptr;
            op->total_timer_.cancel();
            op->catch_up_timer_.cancel();
        }
    } on_exit{this};

    if (env_->gate.closed()) throw cancelled_error("vow::http: the client was destroyed");
    hop h{url_, options_.method, options_.body};
    int redirects = 0;
    int restarts = 0;
    try {
        for (;;) {
            check_stopped(h.url);
            const std::string origin = h.url.origin();
            co_await acquire_slot(origin);
            slot_guard slot{&env_->limits, origin};
            start_total_timeout();

            exchange ex;
            co_await start_exchange(h, ex);  // connect, send, read head
            auto head = head_of(*ex.parser);
            check_final_head(head, ex, h.url);

            if (is_redirect(head)) {
                co_await leave_redirect(ex, head, h.url);
                follow_redirect(h, head, redirects);
                continue;
            }

            const bool has_body = h.method != "HEAD" && !ex.parser->is_done() && head.status / 100 == 2;
            choose_decoder(has_body, head, h.url);
            // Before on_head, so a fresh download over the cap creates no file.
            if (has_body && head.content_length) check_download_size(*head.content_length, true, h.url);
            if (consumer_->on_head(head, h.url) == body_consumer::verdict::restart) {
                if (++restarts > 1) throw protocol_error("server keeps refusing the range asked of " + h.url.text);
                release(ex, false);
                continue;
            }
            body_total_ = head.content_length;
            if (body_total_) *body_total_ += consumer_->already_have();
            body_received_ = consumer_->already_have();
            if (has_body && body_total_) check_download_size(*body_total_, true, h.url);

            const bool reusable = co_await read_body(*ex.conn, *ex.parser, h.url);
            release(ex, reusable);
            consumer_->on_end(h.url);
            co_return;
        }
    } catch (...) {
        consumer_->on_abandon();
        throw;
    }
}

awaitable<void> request_op::start_exchange(const hop& h, exchange& ex) {
    const target_url& url = h.url;
    // A pooled connection the server closed meanwhile fails before any
    // response byte; idempotent requests then get one fresh connection.
    const bool promised = std::exchange(idle_promised_, false);  // the first hop: url_ itself
    // This hop's route: direct, or through a proxy (absolute-form for http://).
    ex.proxy = env_->proxies.proxy_for(url);
    ex.absolute_form = ex.proxy && !url.tls;
    ex.conn = env_->connections.take_idle(worker_, env_->proxies.pool_key(url), promised);
    bool pooled = ex.conn != nullptr;
    for (;;) {
        if (!ex.conn) ex.conn = co_await connect(url);
        connection& conn = *ex.conn;
        active_ = &conn;
        check_stopped(url);

        const std::string request = wire_bytes(build_request(h, ex));
        conn.lowest().expires_after(options_.idle_timeout);
        auto [wec, written] =
            co_await on_stream(conn, [&](auto& s) { return asio::async_write(s, asio::buffer(request), nothrow); });
        (void)written;

        prepare_parser(ex.parser, h.method == "HEAD");
        beast::error_code rec;
        if (!wec) {
            conn.lowest().expires_after(options_.idle_timeout);
            auto [ec, n] = co_await on_stream(conn, [&](auto& s) {
                return bhttp::async_read_header(s, conn.buffer, *ex.parser, nothrow);
            });
            (void)n;
            rec = ec;
        }
        beast::error_code ec = wec ? wec : rec;
        if (!ec) break;
        const bool stale = pooled && !ex.parser->got_some() && conn.buffer.size() == 0 && !cancelled_ &&
                           !total_expired_ && is_idempotent(h.method);
        conn.close();
        active_ = nullptr;
        ex.conn.reset();
        if (!stale) fail(ec, wec ? "sending to" : "reading the response of", url);
        pooled = false;  // once, on a fresh connection
    }
    ++ex.conn->requests;
    co_await skip_informational(*ex.conn, ex.parser, h.method == "HEAD", url);
}

void request_op::release(exchange& ex, bool reusable) {
    active_ = nullptr;
    if (reusable) {
        env_->connections.put_idle(worker_, std::move(ex.conn));
    } else {
        ex.conn->close();
    }
}

void request_op::start_total_timeout() {
    // The total timeout counts from the first slot: time queued behind the
    // connection limits is not the request's fault.
    if (total_armed_) return;
    total_armed_ = true;
    attempt_started_ = std::chrono::steady_clock::now();
    total_timer_.expires_after(options_.total_timeout);
    total_timer_.async_wait([self = weak_from_this()](beast::error_code ec) {
        auto op = self.lock();
        if (ec || !op) return;
        op->total_expired_ = true;
        op->abort();
    });
}


request_op::request_op(std::shared_ptr<request_env> env, io_worker& worker, bool idle_promised, target_url url,
                       request_options options, std::unique_ptr<body_consumer> consumer)
    : env_(std::move(env)),
      worker_(worker),
      url_(std::move(url)),
      options_(std::move(options)),
      consumer_(std::move(consumer)),
      user_side_(env_->user_side),
      total_timer_(worker.ctx),
      wake_timer_(worker.ctx),
      idle_promised_(idle_promised),
      idle_timer_(worker.ctx),
      speed_timer_(worker.ctx),
      rate_timer_(worker.ctx),
      catch_up_timer_(worker.ctx) {}

request_op::~request_op() {
    if (idle_promised_) env_->connections.unpromise(worker_, env_->proxies.pool_key(url_));
}

void request_op::cancel() {
    asio::post(worker_.ctx, [self = shared_from_this()] {
        self->cancelled_ = true;
        self->abort();
    });
}

void request_op::abort() {
    if (active_) active_->close();
    if (resolving_) resolving_->cancel();
    if (connect_timer_) connect_timer_->cancel();
    total_timer_.cancel();
    wake_timer_.cancel();
    idle_timer_.cancel();
    speed_timer_.cancel();
    rate_timer_.cancel();
    catch_up_timer_.cancel();
}

void request_op::wake_up() {
    asio::post(worker_.ctx, [self = shared_from_this()] {
        self->woken_ = true;
        self->wake_timer_.cancel();
    });
}

void request_op::slot_granted() {
    slot_granted_.store(true, std::memory_order_release);
    nudge();
}

void request_op::nudge() {
    asio::post(worker_.ctx, [self = shared_from_this()] { self->wake_timer_.cancel(); });
}

bool request_op::more_bytes_waiting() noexcept {
    // Only for a body read straight from the socket, and only what the kernel
    // holds: through the parser (chunked), waiting bytes may be framing alone
    // (a CRLF, a size line), and the next read may block all the same.
    if (!active_ || !raw_body_) return false;
    beast::error_code ec;
    auto n = active_->lowest().socket().available(ec);
    return !ec && n > 0;
}

awaitable<void> request_op::wait_for_wake_up() {
    waiting_for_sink_ = true;
    sink_wait_started_ = std::chrono::steady_clock::now();
    // No early exit on cancel: the waker may still be using memory of ours.
    while (!woken_) {
        wake_timer_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_timer_.async_wait(nothrow);
    }
    woken_ = false;
    waiting_for_sink_ = false;
    sink_waited_ += std::chrono::steady_clock::now() - sink_wait_started_;
    check_stopped(url_);
}

awaitable<void> request_op::acquire_slot(const std::string& origin) {
    if (env_->limits.try_acquire(origin, shared_from_this())) co_return;
    while (!slot_granted_.load(std::memory_order_acquire)) {
        if (cancelled_ || total_expired_) {
            if (env_->limits.withdraw(this)) env_->limits.release(origin);
            check_stopped(url_);
        }
        wake_timer_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_timer_.async_wait(nothrow);
    }
    slot_granted_.store(false, std::memory_order_relaxed);
    if (cancelled_ || total_expired_) {
        env_->limits.release(origin);
        check_stopped(url_);
    }
}

}  // namespace vow::http::detail
