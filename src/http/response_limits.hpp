// The fixed limits a response must stay within, in one place, with the checks
// that need no socket (so they are unit-tested on their own). docs/http.md
// lists each with its default; request_options holds the ones a caller sets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vow::http::detail {

// Status line and fields of one response head (a larger block is a protocol_error).
inline constexpr std::uint32_t header_limit = 64 * 1024;
// Interim (1xx) responses skipped before the final one.
inline constexpr int informational_limit = 10;
// The reason phrase of the status line.
inline constexpr std::size_t reason_limit = 1024;
// A redirect's Location value.
inline constexpr std::size_t location_limit = 8 * 1024;
// Chunked framing held at once: a chunk-size line with its extensions, and the
// last chunk's line with the trailer section. The read buffer of a chunked
// body is capped at this, so hostile framing never grows memory past it.
inline constexpr std::size_t chunk_framing_limit = 64 * 1024;

// Throw protocol_error naming the limit when `value` is over it.
void check_reason_phrase(std::string_view reason, const std::string& url);
void check_location(std::string_view location, const std::string& url);
void check_informational_count(int count, const std::string& url);

// What a chunked body's read buffer held when it filled up without the parser
// making progress: a chunk-size line (possibly after the CRLF that ends the
// previous chunk's data) or the last chunk followed by trailers. Returns the
// protocol_error message naming the one that went over chunk_framing_limit.
std::string chunk_framing_overflow(std::string_view buffered, const std::string& url);

}  // namespace vow::http::detail
