// Helpers the request's stages share (request_*.cpp); not for other code.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "asio.hpp"
#include "connection.hpp"
#include "io_worker.hpp"
#include "request.hpp"
#include "response_limits.hpp"

namespace vow::http::detail {

using response_parser = bhttp::response_parser<bhttp::buffer_body>;

// A fresh parser for the next response head, with the header block limit.
inline void prepare_parser(std::optional<response_parser>& parser, bool head_request) {
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

// The request as sent (request_send.cpp).
std::string wire_bytes(const bhttp::request<bhttp::string_body>& req);

// The final head as consumers see it (request_head.cpp).
response_head head_of(const response_parser& parser);

// A 3xx the client follows: with a Location (request_redirect.cpp).
bool is_redirect(const response_head& head);

inline std::string seconds_text(std::chrono::steady_clock::duration d) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    return std::to_string(ms) + " ms";
}

// The host as an authority writes it: an IPv6 literal in brackets.
inline std::string bracketed(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace vow::http::detail
