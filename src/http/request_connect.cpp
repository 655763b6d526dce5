// The connect stage: resolve, TCP, the proxy's CONNECT tunnel and TLS, all
// under one connect timeout (client_options::connect_timeout).
//
//   resolve -> TCP connect -> [CONNECT tunnel] -> [TLS handshake] -> connected
//
//   resolve, TCP:    the proxy's name and port when the route has a proxy
//   CONNECT tunnel:  https through a proxy only (open_tunnel)
//   TLS handshake:   https only; SNI and the certificate are the origin's
//
// The watchdog timer closes whatever is in flight when the deadline passes;
// fail() and fail_at_proxy() then name the phase.
#include <openssl/ssl.h>

#include "request_env.hpp"
#include "request.hpp"
#include "request_stages.hpp"
#include "tls_verify.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

bool is_ip_literal(const std::string& host) {
    beast::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

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
    req.set(bhttp::field::user_agent, env_->options.user_agent);
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
    const proxy_endpoint* proxy = env_->proxies.proxy_for(url);
    auto c = std::make_unique<connection>(worker_.ctx, url.tls ? &env_->tls.get() : nullptr,
                                          env_->proxies.pool_key(url));
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
        const auto& tls = env_->options.tls;
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

}  // namespace vow::http::detail
