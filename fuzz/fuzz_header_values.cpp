// libFuzzer target: header values a server controls. Content-Range parses to
// a consistent range or nothing, and the 206 check returns a total that fits
// the resume or throws protocol_error; printable_text leaves no C0 or C1
// control character (raw, or UTF-8 encoded as U+0080..U+009F) in its output.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "../src/http/content_range.hpp"
#include "vow/http/errors.hpp"

namespace {

bool has_control(const std::string& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return true;
        if (c == 0xc2 && i + 1 < s.size()) {
            auto next = static_cast<unsigned char>(s[i + 1]);
            if (next >= 0x80 && next <= 0x9f) return true;
        }
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    using namespace vow::http::detail;

    if (auto r = parse_content_range(input)) {
        if (r->first && r->last && *r->first > *r->last) __builtin_trap();
        if (r->last && r->total && *r->last >= *r->total) __builtin_trap();
    }
    // The same value as the Content-Range of a 206 to a resume from byte 1000.
    try {
        auto total = check_partial_response(input, 1000, std::nullopt, std::nullopt, "http://h/x");
        if (total <= 1000) __builtin_trap();
    } catch (const vow::http::protocol_error& e) {
        if (has_control(e.what())) __builtin_trap();  // server text in a message is made printable
    }

    if (has_control(vow::http::printable_text(input))) __builtin_trap();
    return 0;
}
