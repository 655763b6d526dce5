// Private helpers of loopback_server: query strings, percent-coding and the
// Range header. Pure functions of their input, so any thread may call them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace vow::http::loopback_detail {

// A decimal unsigned integer filling the whole of `text`, or nullopt.
std::optional<std::uint64_t> parse_uint(std::string_view text) noexcept;

// %XX sequences decoded; '+' is kept as is (the server only receives paths).
std::string percent_decode(std::string_view text);
// Everything but RFC 3986 unreserved characters as %XX.
std::string percent_encode(std::string_view text);

// The decoded name=value pairs of a query string ("a=1&b=%2F").
class query_params {
public:
    query_params() = default;
    explicit query_params(std::string_view query);

    bool has(std::string_view name) const;
    std::optional<std::string> text(std::string_view name) const;
    // nullopt when absent or not a number.
    std::optional<std::uint64_t> number(std::string_view name) const;

private:
    std::map<std::string, std::string, std::less<>> values_;
};

// A single byte range of a body of a known size.
struct byte_range {
    std::uint64_t first = 0;
    std::uint64_t length = 0;
};

enum class range_kind {
    ignored,        // no Range, or one we do not serve (multiple ranges, malformed): send 200
    satisfiable,    // send 206 with `range`
    unsatisfiable,  // send 416
};

struct range_request {
    range_kind kind = range_kind::ignored;
    byte_range range;
};

// Interprets a Range header value ("bytes=a-", "bytes=a-b", "bytes=-s") for a
// body of `size` bytes.
range_request parse_range(std::string_view header, std::uint64_t size) noexcept;

}  // namespace vow::http::loopback_detail
