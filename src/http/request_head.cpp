// The read-head stage: after the head start_exchange read, interim 1xx heads
// are dropped (up to informational_limit of them) until the final head is
// in the parser; then what the final head itself may not be is refused.
// The header block limit is the parser's (prepare_parser).
#include <iterator>

#include "request.hpp"
#include "request_stages.hpp"
#include "vow/http/errors.hpp"

namespace vow::http::detail {

response_head head_of(const response_parser& parser) {
    const auto& msg = parser.get();
    response_head h;
    h.status = msg.result_int();
    h.reason = std::string(msg.reason());
    h.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& f : msg) h.headers.add(std::string(f.name_string()), std::string(f.value()));
    if (auto n = parser.content_length()) h.content_length = *n;
    return h;
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

void request_op::check_final_head(const response_head& head, const exchange& ex, const target_url& url) const {
    check_reason_phrase(head.reason, url.text);
    // Through a proxy in absolute form, 407 is the proxy's answer, not the origin's.
    if (ex.absolute_form && head.status == 407) throw proxy_error(head.status, head.reason, ex.proxy->text, url.text);
    if (head.status == 206 && !ex.asked_range)
        throw protocol_error("206 Partial Content from " + url.text + " to a request that asked for no range");
}

}  // namespace vow::http::detail
