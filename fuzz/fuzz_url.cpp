// libFuzzer target: the URL parser and redirect resolution. Any bytes give a
// target_url or invalid_url; nothing else (no crash, no other exception).
#include <cstddef>
#include <cstdint>
#include <string>

#include "../src/http/url.hpp"
#include "vow/errors.hpp"
#include "vow/http/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    try {
        auto url = vow::http::detail::parse_url(input);
        if (url.port.empty() || url.target.empty() || url.target.front() != '/') __builtin_trap();
    } catch (const vow::error&) {  // invalid_url, or protocol_error for a bad Location
    }
    // The same bytes as a Location header on a fixed base URL.
    static const auto base = vow::http::detail::parse_url("http://127.0.0.1:8080/a/b?c=d");
    try {
        auto next = vow::http::detail::resolve_location(base, input);
        if (next.port.empty() || next.target.empty()) __builtin_trap();
    } catch (const vow::error&) {  // invalid_url, or protocol_error for a bad Location
    }
    return 0;
}
