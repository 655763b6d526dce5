// Parsed request targets: what a connection needs (scheme, host, port) and
// what the request line needs (path and query). Parsing uses Boost.URL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vow::http::detail {

struct target_url {
    bool tls = false;
    std::string host;   // without brackets for IPv6 literals
    std::string port;   // always set ("80"/"443" by default)
    std::string target; // origin-form: path + query, at least "/"
    std::string text;   // the whole URL, normalised, its password as "***": for messages and results
    std::string full;   // the same with the password: only to resolve a redirect against
    // "Basic ..." from the URL's user:password (percent-decoded), as curl sends it; empty without one.
    std::string authorization;

    // Pool key: connections are shared by scheme, host and port.
    std::string origin() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

// A URL's port as given (decimal digits) normalised ("0080" -> "80"), or
// nothing when it is not a number from 1 to 65535. Boost.URL's port_number()
// is 16 bits and wraps (99999 -> 34463), so the digits are checked here.
std::optional<std::string> checked_port(std::string_view digits);

// Throws invalid_url for a malformed URL or a scheme other than http/https.
target_url parse_url(const std::string& text);

// `url` with the password of its user:password@ replaced by "***" (as given
// otherwise, also when it does not parse): what may be printed or logged.
std::string redacted(const std::string& url);

// Resolves a Location header against the URL it came from (RFC 3986 5.2).
target_url resolve_location(const target_url& base, const std::string& location);

}  // namespace vow::http::detail
