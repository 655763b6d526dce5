#include "request.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

#include "client_impl.hpp"
#include "connection.hpp"
#include "response_limits.hpp"
#include "tls_verify.hpp"
#include "vow/errors.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

constexpr std::uint64_t drain_limit = 64 * 1024;      // redirect bodies up to this keep the connection

bool is_redirect(unsigned status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool is_idempotent(const std::string& method) {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE" ||
           method == "TRACE";
}

// Fields the client sets itself: one of them in request_options::headers
// replaces the client's (the last one given wins). Any other field is sent
// as often as it is given, in order, as curl does.
bool is_set_by_client(const std::string& name) {
    for (const char* own : {"Host", "User-Agent", "Accept-Encoding", "Authorization", "Content-Length",
                            "Transfer-Encoding", "Connection"})
        if (iequals(name, own)) return true;
    return false;
}

bool is_credential(const std::string& name) {
    return iequals(name, "Authorization") || iequals(name, "Proxy-Authorization") || iequals(name, "Cookie");
}

std::string seconds_text(std::chrono::steady_clock::duration d) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
}

// The host as an authority writes it: an IPv6 literal in brackets.
std::string bracketed(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// "http://host[:port]/path?query": the request target sent to a proxy.
std::string absolute_target(const target_url& url) {
    return "http://" + bracketed(url.host) + (url.port == "80" ? "" : ":" + url.port) + url.target;
}

bool is_ip_literal(const std::string& host) {
    beast::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

response_head head_of(const bhttp::response_parser<bhttp::buffer_body>& parser) {
    const auto& msg = parser.get();
    response_head h;
    h.status = msg.result_int();
    h.reason = std::string(msg.reason());
    for (const auto& f : msg) h.headers.add(std::string(f.name_string()), std::string(f.value()));
    if (auto n = parser.content_length()) h.content_length = *n;
    return h;
}

using response_parser = bhttp::response_parser<bhttp::buffer_body>;

void prepare_parser(std::optional<response_parser>& parser, bool head_request) {
    parser.emplace();
    parser->header_limit(header_limit);
    parser->body_limit(boost::none);
    if (head_request) parser->skip(true);
}

// Runs `write` or `read` on whichever stream the connection has.
template <class F>
auto on_stream(connection& c, F&& f) {
    return c.tls ? f(*c.tls) : f(*c.plain);
}

}  // namespace

// Holds an admission slot until the request leaves the origin.
struct request_op::slot_guard {
    client_core* core = nullptr;
    std::string origin;
    ~slot_guard() {
        if (core) core->limits().release(origin);
    }
};

request_op::request_op(std::shared_ptr<client_core> core, io_worker& worker, bool idle_promised, target_url url,
                       request_options options, std::unique_ptr<body_consumer> consumer)
    : core_(std::move(core)),
      worker_(worker),
      url_(std::move(url)),
      options_(std::move(options)),
      consumer_(std::move(consumer)),
      user_side_(core_->completion_executor()),
      total_timer_(worker.ctx),
      wake_timer_(worker.ctx),
      idle_promised_(idle_promised),
      idle_timer_(worker.ctx),
      speed_timer_(worker.ctx),
      rate_timer_(worker.ctx),
      catch_up_timer_(worker.ctx) {}

request_op::~request_op() {
    if (idle_promised_) core_->unpromise(worker_, core_->proxies().pool_key(url_));
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

void request_op::check_stopped(const target_url& url) {
    if (cancelled_) throw cancelled_error();
    if (total_expired_)
        throw timeout_error("total timeout: " + url.text + " did not finish within " +
                            seconds_text(options_.total_timeout));
}

void request_op::fail(beast::error_code ec, const char* phase, const target_url& url) {
    check_stopped(url);
    std::string where = std::string(phase) + " " + url.text;
    if (speed_expired_)
        throw timeout_error("low speed: the body of " + url.text + " came at " + std::to_string(speed_seen_) +
                            " bytes/s over " + seconds_text(options_.low_speed_time) + ", under the " +
                            std::to_string(options_.low_speed_limit) + " bytes/s of low_speed_limit");
    if (connect_expired_ && std::string_view(phase) == "TLS handshake failed with")
        throw timeout_error("connect timeout: the TLS handshake with " + url.origin() + " did not complete within " +
                            seconds_text(options_.connect_timeout) + " (is it a plain-HTTP port?)");
    if (connect_expired_ || (ec == beast::error::timeout && std::string_view(phase) == "connecting to"))
        throw timeout_error("connect timeout: no connection to " + url.origin() + " within " +
                            seconds_text(options_.connect_timeout));
    // The stream's own deadline (beast::error::timeout) covers a whole write
    // or head read, however many bytes trickle meanwhile: it is named by its
    // phase. Only the body's watch (idle_expired_) means "no byte for that long".
    const std::string_view phase_name(phase);
    if (!idle_expired_ && ec == beast::error::timeout && phase_name == "sending to")
        throw timeout_error("send timeout: the request to " + url.text + " was not sent within " +
                            seconds_text(options_.idle_timeout) + " (idle_timeout)");
    if (!idle_expired_ && ec == beast::error::timeout && phase_name == "reading the response of")
        throw timeout_error("response timeout: no complete response head from " + url.text + " within " +
                            seconds_text(options_.idle_timeout) + " (idle_timeout)");
    if (idle_expired_ || ec == beast::error::timeout)
        throw timeout_error("idle timeout: no data from " + url.text + " for " + seconds_text(options_.idle_timeout));
    if (ec == bhttp::error::header_limit)
        throw protocol_error("the response head from " + url.text + " is larger than " +
                             std::to_string(header_limit) + " bytes");
    if (ec.category() == beast::error_code(bhttp::error::end_of_stream).category() && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::partial_message)
        throw protocol_error("malformed response from " + url.text + ": " + ec.message());
    if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream)
        throw transport_error(ec, "connection closed early " + where);
    throw transport_error(ec, where);
}

awaitable<void> request_op::acquire_slot(const std::string& origin) {
    if (core_->limits().try_acquire(origin, shared_from_this())) co_return;
    while (!slot_granted_.load(std::memory_order_acquire)) {
        if (cancelled_ || total_expired_) {
            if (core_->limits().withdraw(this)) core_->limits().release(origin);
            check_stopped(url_);
        }
        wake_timer_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_timer_.async_wait(nothrow);
    }
    slot_granted_.store(false, std::memory_order_relaxed);
    if (cancelled_ || total_expired_) {
        core_->limits().release(origin);
        check_stopped(url_);
    }
}

void request_op::fail_at_proxy(beast::error_code ec, const char* phase, const target_url& url,
                               const proxy_endpoint& proxy) {
    check_stopped(url);
    if (connect_expired_ || ec == beast::error::timeout)
        throw timeout_error("connect timeout: no connection to " + url.origin() + " through proxy " + proxy.text +
                            " within " + seconds_text(options_.connect_timeout));
    const bool http_error = ec.category() == beast::error_code(bhttp::error::end_of_stream).category();
    if (http_error && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
        throw protocol_error("malformed answer to CONNECT from proxy " + proxy.text + ": " + ec.message());
    throw transport_error(ec, std::string(phase) + " proxy " + proxy.text + " for " + url.text);
}

awaitable<void> request_op::open_tunnel(connection& c, const target_url& url, const proxy_endpoint& proxy) {
    const std::string authority = bracketed(url.host) + ":" + url.port;
    bhttp::request<bhttp::empty_body> req{bhttp::verb::connect, authority, 11};
    req.set(bhttp::field::host, authority);
    req.set(bhttp::field::user_agent, core_->options().user_agent);
    if (!proxy.authorization.empty()) req.set(bhttp::field::proxy_authorization, proxy.authorization);
    auto [wec, written] = co_await bhttp::async_write(c.lowest(), req, nothrow);
    (void)written;
    if (wec) fail_at_proxy(wec, "sending CONNECT to", url, proxy);

    // The answer's head only: a 2xx opens the tunnel (it has no body), any
    // other status ends here. The origin speaks only after the TLS client
    // hello, so no byte may follow the head.
    bhttp::response_parser<bhttp::empty_body> parser;
    parser.header_limit(header_limit);
    parser.skip(true);
    beast::flat_buffer buffer;
    auto [rec, n] = co_await bhttp::async_read_header(c.lowest(), buffer, parser, nothrow);
    (void)n;
    if (rec) fail_at_proxy(rec, "reading the answer to CONNECT from", url, proxy);
    const auto& head = parser.get();
    if (head.result_int() / 100 != 2)
        throw proxy_error(head.result_int(), std::string(head.reason()), proxy.text, url.text);
    if (buffer.size() != 0)
        throw protocol_error("proxy " + proxy.text + " sent bytes after its answer to CONNECT for " + url.text);
}

awaitable<std::unique_ptr<connection>> request_op::connect(const target_url& url) {
    const proxy_endpoint* proxy = core_->proxies().proxy_for(url);
    auto c = std::make_unique<connection>(worker_.ctx, url.tls ? &core_->tls_context() : nullptr,
                                          core_->proxies().pool_key(url));
    active_ = c.get();
    const auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;

    // The resolver has no timeout of its own: a timer cancels it. The timer's
    // handler may already be queued when the connect ends, so it reaches the
    // resolver only through resolving_, which the cleanup clears.
    asio::steady_timer watchdog(worker_.ctx);
    watchdog.expires_at(deadline);
    tcp::resolver resolver(worker_.ctx);
    connect_timer_ = &watchdog;
    resolving_ = &resolver;
    watchdog.async_wait([self = weak_from_this()](beast::error_code ec) {
        auto op = self.lock();
        if (ec || !op || !op->resolving_) return;
        op->connect_expired_ = true;
        op->resolving_->cancel();
        if (op->active_) op->active_->close();
    });
    struct cleanup {
        request_op* op;
        asio::steady_timer& watchdog;
        ~cleanup() {
            op->resolving_ = nullptr;
            op->connect_timer_ = nullptr;
            op->active_ = nullptr;  // run() takes over the connection, or it is gone
            watchdog.cancel();
        }
    } on_exit{this, watchdog};

    // Through a proxy, the TCP connection goes to the proxy.
    auto [rec, endpoints] = co_await resolver.async_resolve(proxy ? proxy->host : url.host,
                                                            proxy ? proxy->port : url.port, nothrow);
    if (rec && proxy) fail_at_proxy(rec, "resolving", url, *proxy);
    if (rec) fail(rec, "resolving", url);
    check_stopped(url);
    if (!endpoints.empty()) {
        // Asio's range connect reports a socket it cannot open (EMFILE) as
        // "Operation canceled": open one first, so that error names itself.
        beast::error_code oec;
        c->lowest().socket().open(endpoints.begin()->endpoint().protocol(), oec);
        if (oec) fail(oec, "opening a socket for", url);
    }
    c->lowest().expires_at(deadline);
    auto [cec, ep] = co_await c->lowest().async_connect(endpoints, nothrow);
    if (cec && proxy) fail_at_proxy(cec, "connecting to", url, *proxy);
    if (cec) fail(cec, "connecting to", url);
    (void)ep;
    c->lowest().socket().set_option(tcp::no_delay(true));
    if (proxy && c->tls) co_await open_tunnel(*c, url, *proxy);
    if (c->tls) {
        // Through a tunnel too: SNI and the certificate check are the origin's.
        const auto& tls = core_->options().tls;
        if (!is_ip_literal(url.host) && !SSL_set_tlsext_host_name(c->tls->native_handle(), url.host.c_str()))
            fail(beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
                 "setting SNI for", url);
        const bool verify = tls.verify_peer && !tls.insecure;
        if (verify) {
            if (!verify_peer_and_host(c->tls->native_handle(), url.host, is_ip_literal(url.host)))
                fail(beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
                     "setting the host name to verify for", url);
        } else {
            c->tls->set_verify_mode(ssl::verify_none);
        }
        auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, nothrow);
        if (hec) {
            check_stopped(url);
            if (verify && !connect_expired_) throw_if_certificate_rejected(c->tls->native_handle(), hec, url.text);
            fail(hec, "TLS handshake failed with", url);
        }
    }
    c->lowest().expires_never();
    co_return c;
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


    if (core_->closed()) throw cancelled_error("vow::http: the client was destroyed");
    target_url url = url_;
    std::string method = options_.method;
    std::string body = options_.body;
    int redirects = 0;
    int restarts = 0;
    bool total_armed = false;
    try {
        for (;;) {
            check_stopped(url);
            co_await acquire_slot(url.origin());
            slot_guard slot{core_.get(), url.origin()};
            if (!total_armed) {
                // The total timeout counts from the first slot: time queued
                // behind the connection limits is not the request's fault.
                total_armed = true;
                attempt_started_ = std::chrono::steady_clock::now();
                total_timer_.expires_after(options_.total_timeout);
                total_timer_.async_wait([self = weak_from_this()](beast::error_code ec) {
                    auto op = self.lock();
                    if (ec || !op) return;
                    op->total_expired_ = true;
                    op->abort();
                });
            }

            // A pooled connection the server closed meanwhile fails before any
            // response byte; idempotent requests then get one fresh connection.
            const bool promised = std::exchange(idle_promised_, false);  // the first hop: url_ itself
            // This hop's route: direct, or through a proxy (absolute-form for http://).
            const proxy_endpoint* proxy = core_->proxies().proxy_for(url);
            const bool absolute_form = proxy && !url.tls;
            std::unique_ptr<connection> conn = core_->take_idle(worker_, core_->proxies().pool_key(url), promised);
            bool pooled = conn != nullptr;
            std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
            bool asked_range = false;  // whether the request sent went out with a Range
            for (;;) {
                if (!conn) conn = co_await connect(url);
                active_ = conn.get();
                check_stopped(url);

                bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method),
                                                       absolute_form ? absolute_target(url) : url.target, 11};
                if (req.method() == bhttp::verb::unknown) req.method_string(method);
                req.set(bhttp::field::host, (url.port == (url.tls ? "443" : "80")) ? url.host : url.host + ":" + url.port);
                req.set(bhttp::field::user_agent, core_->options().user_agent);
                req.set(bhttp::field::accept_encoding, options_.decode_content ? "gzip, deflate" : "identity");
                for (const auto& [name, value] : options_.headers) {
                    // Credentials stay with the origin they were meant for.
                    if (url.origin() != url_.origin() && is_credential(name)) continue;
                    if (is_set_by_client(name)) {
                        req.set(name, value);
                    } else {
                        req.insert(name, value);
                    }
                }
                // user:password@ in this hop's URL, unless the caller set Authorization.
                if (!url.authorization.empty() && req.find(bhttp::field::authorization) == req.end())
                    req.set(bhttp::field::authorization, url.authorization);
                if (absolute_form && !proxy->authorization.empty() &&
                    req.find(bhttp::field::proxy_authorization) == req.end())
                    req.set(bhttp::field::proxy_authorization, proxy->authorization);
                consumer_->add_request_headers(req.base());
                asked_range = req.find(bhttp::field::range) != req.end();
                if (!body.empty() || method == "POST" || method == "PUT") {
                    req.body() = body;
                    req.prepare_payload();
                }

                conn->lowest().expires_after(options_.idle_timeout);
                auto [wec, written] = co_await on_stream(*conn, [&](auto& s) {
                    return bhttp::async_write(s, req, nothrow);
                });
                (void)written;

                prepare_parser(parser, method == "HEAD");
                beast::error_code rec;
                if (!wec) {
                    conn->lowest().expires_after(options_.idle_timeout);
                    auto [ec, n] = co_await on_stream(*conn, [&](auto& s) {
                        return bhttp::async_read_header(s, conn->buffer, *parser, nothrow);
                    });
                    (void)n;
                    rec = ec;
                }
                beast::error_code ec = wec ? wec : rec;
                if (!ec) break;
                const bool stale = pooled && !parser->got_some() && conn->buffer.size() == 0 && !cancelled_ &&
                                   !total_expired_ && is_idempotent(method);
                conn->close();
                active_ = nullptr;
                conn.reset();
                if (!stale) fail(ec, wec ? "sending to" : "reading the response of", url);
                pooled = false;  // once, on a fresh connection
            }
            ++conn->requests;
            co_await skip_informational(*conn, parser, method == "HEAD", url);

            auto head = head_of(*parser);
            check_reason_phrase(head.reason, url.text);
            // Through a proxy in absolute form, 407 is the proxy's answer, not the origin's.
            if (absolute_form && head.status == 407)
                throw proxy_error(head.status, head.reason, proxy->text, url.text);
            if (head.status == 206 && !asked_range)
                throw protocol_error("206 Partial Content from " + url.text + " to a request that asked for no range");
            if (is_redirect(head.status) && head.headers.contains("Location")) {
                check_location(*head.headers.find("Location"), url.text);
                // Keep the connection when the body is small enough to skip.
                bool reusable = parser->keep_alive() && head.content_length && *head.content_length <= drain_limit;
                if (reusable && !parser->is_done()) {
                    std::string sink(static_cast<std::size_t>(*head.content_length), '\0');
                    parser->get().body().data = sink.data();
                    parser->get().body().size = sink.size();
                    conn->lowest().expires_after(options_.idle_timeout);
                    auto [dec, dn] = co_await on_stream(*conn, [&](auto& s) {
                        return bhttp::async_read(s, conn->buffer, *parser, nothrow);
                    });
                    (void)dn;
                    reusable = (!dec || dec == bhttp::error::need_buffer) && parser->is_done();
                }
                active_ = nullptr;
                if (reusable) {
                    core_->put_idle(worker_, std::move(conn));
                } else {
                    conn->close();
                }
                if (++redirects > options_.max_redirects)
                    throw redirect_error("too many redirects (more than " + std::to_string(options_.max_redirects) +
                                         ") from " + url_.text);
                auto next = resolve_location(url, *head.headers.find("Location"));
                if (url.tls && !next.tls && !options_.allow_https_to_http)
                    throw redirect_error("refused redirect from https to http: " + url.text + " -> " + next.text);
                if (head.status == 303 && method != "HEAD") {
                    method = "GET";
                    body.clear();
                }
                url = std::move(next);
                continue;
            }

            const bool has_body = method != "HEAD" && !parser->is_done() && head.status / 100 == 2;
            decoder_.reset();
            if (has_body && options_.decode_content) {
                decoder_ = content_decoder::for_encoding(head.headers.find("Content-Encoding"), url.text);
                // The length on the wire is not the decoded body's: sizes are unknown until the end.
                if (decoder_) head.content_length.reset();
            }
            // Before on_head, so a fresh download over the cap creates no file.
            if (has_body && head.content_length) check_download_size(*head.content_length, true, url);
            if (consumer_->on_head(head, url) == body_consumer::verdict::restart) {
                if (++restarts > 1) throw protocol_error("server keeps refusing the range asked of " + url.text);
                conn->close();
                active_ = nullptr;
                continue;
            }
            body_total_ = head.content_length;
            if (body_total_) *body_total_ += consumer_->already_have();
            body_received_ = consumer_->already_have();
            if (has_body && body_total_) check_download_size(*body_total_, true, url);

            bool reusable = false;
            co_await read_body(*conn, *parser, url, reusable);
            active_ = nullptr;
            if (reusable) {
                core_->put_idle(worker_, std::move(conn));
            } else {
                conn->close();
            }
            consumer_->on_end(url);
            co_return;
        }
    } catch (...) {
        consumer_->on_abandon();
        throw;
    }
}

// 100 Continue, 103 Early Hints and the like carry no body: each is dropped
// and the next head read, up to informational_limit of them. A 101 switches
// protocols, which this client never asks for.
awaitable<void> request_op::skip_informational(connection& c, std::optional<response_parser>& parser,
                                               bool head_request, const target_url& url) {
    int skipped = 0;
    while (parser->get().result_int() / 100 == 1) {
        if (parser->get().result_int() == 101)
            throw protocol_error("101 Switching Protocols from " + url.text + ", which no upgrade was asked of");
        check_informational_count(++skipped, url.text);
        prepare_parser(parser, head_request);
        c.lowest().expires_after(options_.idle_timeout);
        auto [ec, n] = co_await on_stream(c, [&](auto& s) {
            return bhttp::async_read_header(s, c.buffer, *parser, nothrow);
        });
        (void)n;
        if (ec) fail(ec, "reading the response of", url);
    }
}

awaitable<void> request_op::read_body(connection& c, bhttp::response_parser<bhttp::buffer_body>& parser,
                                      const target_url& url, bool& reusable) {
    if (parser.is_done()) {
        reusable = parser.keep_alive();
        co_return;
    }

    std::optional<std::uint64_t> body_length;  // a Content-Length body's
    if (auto n = parser.content_length(); n && !parser.chunked()) body_length = *n;
    consumer_->fit_buffers(decoder_ ? std::nullopt : body_length);  // decoded: of unknown size
    start_idle_watch(c);
    start_speed_watch();
    struct stop_watch {
        request_op* op;
        connection& c;
        ~stop_watch() {
            op->stop_idle_watch();
            op->stop_speed_watch();
            op->batching_ = false;
            op->set_low_watermark(c, 1);  // the next response's head is read byte by byte
        }
    } on_exit{this, c};

    if (body_length) {
        // Fast path for a Content-Length body: the bytes already buffered,
        // then straight from the socket into the consumer's buffer (one copy
        // fewer than going through the parser).
        raw_body_ = true;
        std::uint64_t left = *body_length;
        while (left > 0 && c.buffer.size() > 0) {
            auto buf = body_buffer();
            auto take = static_cast<std::size_t>(std::min<std::uint64_t>({left, c.buffer.size(), buf.size()}));
            take = co_await pace(take, url);
            std::memcpy(buf.data(), c.buffer.data().data(), take);
            c.buffer.consume(take);
            left -= take;
            co_await take_body(buf.data(), take, url);
        }
        // Paced reads are small: batching them would only delay them.
        if (left > batch_bytes && !core_->rate()) start_batching();
        while (left > 0) {
            check_stopped(url);
            auto buf = body_buffer();
            auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
            want = co_await pace(want, url);
            // Never more than the body has left: its last bytes must wake us.
            // Over TLS the socket read comes from the TLS layer, which may
            // already hold part of a record: keep a record's worth of slack.
            const bool near_end = c.tls && left < batch_bytes + tls_record_slack;
            set_low_watermark(c, batching_ && !near_end ? std::min(want, batch_bytes) : 1);
            read_started_ = std::chrono::steady_clock::now();
            reading_body_ = true;
            auto [ec, n] = co_await on_stream(c, [&](auto& s) {
                return s.async_read_some(asio::buffer(buf.data(), want), nothrow);
            });
            reading_body_ = false;
            paced(want, n);
            if (n > 0) {
                if (!batching_ && n >= batch_bytes / 2 && left - n > batch_bytes) start_batching();
                left -= n;
                co_await take_body(buf.data(), n, url);
            }
            if (ec && left > 0) {
                if (ec == asio::error::eof || ec == ssl::error::stream_truncated)
                    throw transport_error(beast::error_code(bhttp::error::partial_message),
                                          "body of " + url.text + " ended after " +
                                              std::to_string(*body_length - left) + " of " + std::to_string(*body_length) +
                                              " bytes");
                fail(ec, "reading the body of", url);
            }
        }
        if (decoder_) decoder_->finish();
        co_await consumer_->drain(*this);
        // The idle watch may have closed the socket just as the last read completed.
        reusable = parser.keep_alive() && c.buffer.size() == 0 && !idle_expired_;
        co_return;
    }

    // Chunked or read-until-close bodies go through the parser. It needs a
    // chunk-size line, or the last chunk with its trailers, whole in the read
    // buffer: capping the buffer bounds what hostile framing can make us hold.
    struct framing_cap {
        beast::flat_buffer& buffer;
        std::size_t before = buffer.max_size();
        ~framing_cap() { buffer.max_size(before); }
    } cap{c.buffer};
    c.buffer.max_size(std::max(chunk_framing_limit, c.buffer.size()));
    while (!parser.is_done()) {
        check_stopped(url);
        auto buf = body_buffer();
        buf = buf.first(co_await pace(buf.size(), url));
        parser.get().body().data = buf.data();
        parser.get().body().size = buf.size();
        read_started_ = std::chrono::steady_clock::now();
        reading_body_ = true;
        auto [ec, n] = co_await on_stream(c, [&](auto& s) { return bhttp::async_read_some(s, c.buffer, parser, nothrow); });
        reading_body_ = false;
        (void)n;
        std::size_t got = buf.size() - parser.get().body().size;
        paced(buf.size(), got);
        if (got > 0) {
            co_await take_body(buf.data(), got, url);
        }
        if (ec == bhttp::error::need_buffer) continue;
        if (ec == ssl::error::stream_truncated && parser.is_done()) break;
        if (!idle_expired_ && !speed_expired_ && !cancelled_ && !total_expired_ &&
            (ec == bhttp::error::partial_message || ec == asio::error::eof || ec == ssl::error::stream_truncated))
            throw transport_error(beast::error_code(bhttp::error::partial_message),
                                  "body of " + url.text + " ended after " +
                                      std::to_string(body_received_ - consumer_->already_have()) + " bytes" +
                                      (parser.chunked() ? ", before its last chunk" : ""));
        if (ec == bhttp::error::buffer_overflow) {
            const auto held = c.buffer.data();
            throw protocol_error(chunk_framing_overflow(
                std::string_view(static_cast<const char*>(held.data()), held.size()), url.text));
        }
        if (ec) fail(ec, "reading the body of", url);
    }
    if (decoder_) decoder_->finish();
    co_await consumer_->drain(*this);
    reusable = parser.keep_alive() && !idle_expired_;
}

std::span<char> request_op::body_buffer() {
    if (!decoder_) return consumer_->next_buffer();
    // Encoded bytes are read into a buffer of their own and inflated into the consumer's.
    if (!encoded_buffer_) encoded_buffer_.reset(new char[encoded_buffer_size]);
    return {encoded_buffer_.get(), encoded_buffer_size};
}

awaitable<void> request_op::take_body(const char* data, std::size_t n, const target_url& url) {
    if (!decoder_) {
        check_download_size(body_received_ + n, false, url);
        note_body_bytes(n);
        co_await consumer_->on_data(*this, data, n);
        co_return;
    }
    std::span<const char> in(data, n);
    for (;;) {
        auto out = consumer_->next_buffer();
        const auto step = decoder_->decode(in, out);
        in = in.subspan(step.consumed);
        if (step.produced > 0) {
            // Decoded bytes are what the caps bound: a small body that inflates hugely stops here.
            check_download_size(body_received_ + step.produced, false, url);
            note_body_bytes(step.produced);
            co_await consumer_->on_data(*this, out.data(), step.produced);
        }
        if (in.empty() && step.produced < out.size()) co_return;
    }
}

awaitable<std::size_t> request_op::pace(std::size_t want, const target_url& url) {
    rate_limiter* rate = core_->rate();
    if (!rate || want == 0) co_return want;
    const auto turn = rate->reserve(want, std::chrono::steady_clock::now());
    if (turn.start > std::chrono::steady_clock::now()) {
        rate_timer_.expires_at(turn.start);
        co_await rate_timer_.async_wait(nothrow);
        if (cancelled_ || total_expired_) {
            rate->give_back(turn.bytes);
            check_stopped(url);
        }
    }
    co_return turn.bytes;
}

void request_op::paced(std::size_t granted, std::size_t took) noexcept {
    if (rate_limiter* rate = core_->rate(); rate && took < granted) rate->give_back(granted - took);
}

void request_op::check_download_size(std::uint64_t total, bool announced, const target_url& url) const {
    const auto& cap = options_.max_download_size;
    if (!cap || total <= *cap) return;
    throw body_limit_error("body of " + url.text + (announced ? " is " + std::to_string(total) + " bytes" : " grew past") +
                           ", more than max_download_size (" + std::to_string(*cap) + " bytes)");
}

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
