// The redirect stage: a 3xx with a Location ends this hop. Its body is
// skipped when small (drain_limit) so the connection can be reused; the
// next hop is checked against the redirect limits (max_redirects, no
// https -> http unless allowed, the Location's length and form).
#include "request_env.hpp"
#include "request.hpp"
#include "request_stages.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

constexpr std::uint64_t drain_limit = 64 * 1024;  // redirect bodies up to this keep the connection

}  // namespace

bool is_redirect(const response_head& head) {
    const unsigned s = head.status;
    return (s == 301 || s == 302 || s == 303 || s == 307 || s == 308) && head.headers.contains("Location");
}

awaitable<void> request_op::leave_redirect(exchange& ex, const response_head& head, const target_url& url) {
    check_location(*head.headers.find("Location"), url.text);
    auto& parser = *ex.parser;
    auto& conn = *ex.conn;
    // Keep the connection when the body is small enough to skip.
    bool reusable = parser.keep_alive() && head.content_length && *head.content_length <= drain_limit;
    if (reusable && !parser.is_done()) {
        std::string sink(static_cast<std::size_t>(*head.content_length), '\0');
        parser.get().body().data = sink.data();
        parser.get().body().size = sink.size();
        conn.lowest().expires_after(options_.idle_timeout);
        auto [dec, dn] = co_await on_stream(conn, [&](auto& s) {
            return bhttp::async_read(s, conn.buffer, parser, nothrow);
        });
        (void)dn;
        reusable = (!dec || dec == bhttp::error::need_buffer) && parser.is_done();
    }
    release(ex, reusable);
}

void request_op::follow_redirect(hop& h, const response_head& head, int& redirects) const {
    if (++redirects > options_.max_redirects)
        throw redirect_error("too many redirects (more than " + std::to_string(options_.max_redirects) + ") from " +
                             url_.text);
    auto next = resolve_location(h.url, *head.headers.find("Location"));
    if (h.url.tls && !next.tls && !options_.allow_https_to_http)
        throw redirect_error("refused redirect from https to http: " + h.url.text + " -> " + next.text);
    if (head.status == 303 && h.method != "HEAD") {
        h.method = "GET";
        h.body.clear();
    }
    h.url = std::move(next);
}

}  // namespace vow::http::detail
