#include "terminal_text.hpp"

#include <cstdint>

namespace vow_get {
namespace {

struct code_point {
    char32_t value;
    std::size_t bytes;  // 1 for a byte that starts no valid sequence
};

// Decodes the code point at the start of `text` (not empty).
code_point decode(std::string_view text) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned char b0 = byte(0);
    std::size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || n > text.size()) return {b0, 1};
    if (n == 1) return {b0, 1};
    char32_t value = b0 & (0x7f >> n);
    for (std::size_t i = 1; i < n; ++i) {
        if ((byte(i) & 0xc0) != 0x80) return {b0, 1};
        value = (value << 6) | (byte(i) & 0x3f);
    }
    return {value, n};
}

std::size_t columns_of(char32_t c) {
    if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) || c == 0xfe0f) return 0;  // combining, zero-width
    if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
        (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
        (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) || (c >= 0x1f900 && c <= 0x1f9ff) ||
        (c >= 0x20000 && c <= 0x3fffd))
        return 2;
    return 1;
}

}  // namespace

std::size_t display_width(std::string_view text) {
    std::size_t columns = 0;
    while (!text.empty()) {
        code_point cp = decode(text);
        columns += columns_of(cp.value);
        text.remove_prefix(cp.bytes);
    }
    return columns;
}

std::string cut_to_width(std::string_view text, std::size_t width) {
    if (display_width(text) <= width) return std::string(text);
    if (width == 0) return {};
    std::size_t columns = 0, kept = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        code_point cp = decode(rest);
        std::size_t w = columns_of(cp.value);
        if (columns + w > width - 1) break;
        columns += w;
        kept += cp.bytes;
        rest.remove_prefix(cp.bytes);
    }
    return std::string(text.substr(0, kept)) + "\u2026";
}

}  // namespace vow_get
