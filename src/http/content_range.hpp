// Content-Range (RFC 9110 14.4) as a 206 or 416 carries it, and the checks a
// 206 must pass before its bytes continue a .part: it starts where the resume
// asked, reaches the end of the file, and agrees with its Content-Length.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vow::http::detail {

// "bytes first-last/total", "bytes first-last/*" or "bytes */total".
struct content_range {
    std::optional<std::uint64_t> first;  // unset for "*"
    std::optional<std::uint64_t> last;   // unset for "*"
    std::optional<std::uint64_t> total;  // unset for "*"
};

// Unset when `value` is not one of the three forms, or first > last, or
// last >= total.
std::optional<content_range> parse_content_range(std::string_view value);

// For a 206 to `Range: bytes=asked_from-`: returns the file's total size, or
// throws protocol_error saying what does not fit. `value` is the
// Content-Range (unset when missing); `content_length` the response's, if
// any; `known_total` the size known before the request, if any.
std::uint64_t check_partial_response(const std::optional<std::string>& value, std::uint64_t asked_from,
                                     std::optional<std::uint64_t> content_length,
                                     std::optional<std::uint64_t> known_total, const std::string& url);

}  // namespace vow::http::detail
