#include "response_limits.hpp"

#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

std::string bytes_text(std::size_t n) { return std::to_string(n) + " bytes"; }

bool is_hex_digit(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

void check_reason_phrase(std::string_view reason, const std::string& url) {
    if (reason.size() > reason_limit)
        throw protocol_error("the reason phrase from " + url + " is longer than " + bytes_text(reason_limit) + " (" +
                             bytes_text(reason.size()) + ")");
}

void check_location(std::string_view location, const std::string& url) {
    if (location.size() > location_limit)
        throw protocol_error("the redirect Location from " + url + " is longer than " + bytes_text(location_limit) +
                             " (" + bytes_text(location.size()) + ")");
}

void check_informational_count(int count, const std::string& url) {
    if (count > informational_limit)
        throw protocol_error("more than " + std::to_string(informational_limit) +
                             " interim (1xx) responses from " + url + " before the final one");
}

std::string chunk_framing_overflow(std::string_view buffered, const std::string& url) {
    if (buffered.substr(0, 2) == "\r\n") buffered.remove_prefix(2);  // the end of the previous chunk's data
    const auto eol = buffered.find("\r\n");
    if (eol == std::string_view::npos)
        return "a chunk-size line with its extensions from " + url + " is longer than " +
               bytes_text(chunk_framing_limit);
    // A complete line: the parser waits for the end of the trailers after the
    // last chunk ("0", possibly "000", then extensions).
    auto line = buffered.substr(0, eol);
    std::size_t digits = 0;
    while (digits < line.size() && is_hex_digit(line[digits])) ++digits;
    if (digits > 0 && line.substr(0, digits).find_first_not_of('0') == std::string_view::npos)
        return "the trailer section from " + url + " (with the last chunk's line) is longer than " +
               bytes_text(chunk_framing_limit);
    return "chunked framing from " + url + " is longer than " + bytes_text(chunk_framing_limit);
}

}  // namespace vow::http::detail
