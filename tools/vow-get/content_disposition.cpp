#include "content_disposition.hpp"

#include <cctype>

#include "vow/http/client.hpp"
#include "vow/http/headers.hpp"

namespace vow_get {
namespace {

void skip_blanks(std::string_view& s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view take_token(std::string_view& s) {
    std::size_t n = 0;
    while (n < s.size() && is_token_char(s[n])) ++n;
    auto token = s.substr(0, n);
    s.remove_prefix(n);
    return token;
}

// A quoted-string (s starts at its '"'); nullopt when it does not end.
std::optional<std::string> take_quoted(std::string_view& s) {
    std::string out;
    for (std::size_t i = 1; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            out += s[++i];
        } else if (s[i] == '"') {
            s.remove_prefix(i + 1);
            return out;
        } else {
            out += s[i];
        }
    }
    return std::nullopt;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// RFC 8187 ext-value: charset'[language]'percent-encoded, in UTF-8 or
// ISO-8859-1 (converted to UTF-8); nullopt for another charset or bad escapes.
std::optional<std::string> decode_ext_value(std::string_view v) {
    auto first = v.find('\'');
    if (first == std::string_view::npos) return std::nullopt;
    auto second = v.find('\'', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    std::string_view charset = v.substr(0, first);
    const bool utf8 = vow::http::iequals(charset, "UTF-8");
    if (!utf8 && !vow::http::iequals(charset, "ISO-8859-1")) return std::nullopt;
    std::string bytes;
    for (std::size_t i = second + 1; i < v.size(); ++i) {
        if (v[i] != '%') {
            bytes += v[i];
            continue;
        }
        if (i + 2 >= v.size()) return std::nullopt;
        int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        bytes += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    if (utf8) return bytes;
    std::string converted;
    for (unsigned char c : bytes) {
        if (c < 0x80) {
            converted += static_cast<char>(c);
        } else {
            converted += static_cast<char>(0xc0 | (c >> 6));
            converted += static_cast<char>(0x80 | (c & 0x3f));
        }
    }
    return converted;
}

// The length of the valid UTF-8 sequence at the start of s, and its code
// point; 0 when the first byte starts none.
std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    std::size_t n = b(0) < 0x80 ? 1 : (b(0) >> 5) == 0x6 ? 2 : (b(0) >> 4) == 0xe ? 3 : (b(0) >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || n > s.size()) return 0;
    cp = n == 1 ? b(0) : b(0) & (0x7f >> n);
    for (std::size_t i = 1; i < n; ++i) {
        if ((b(i) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b(i) & 0x3f);
    }
    return n;
}

}  // namespace

std::optional<std::string> disposition_filename(std::string_view header) {
    std::optional<std::string> plain, extended;
    std::string_view s = header;
    skip_blanks(s);
    take_token(s);  // attachment, inline, ...
    for (;;) {
        skip_blanks(s);
        if (s.empty() || s.front() != ';') break;
        s.remove_prefix(1);
        skip_blanks(s);
        std::string_view name = take_token(s);
        skip_blanks(s);
        if (name.empty() || s.empty() || s.front() != '=') break;
        s.remove_prefix(1);
        skip_blanks(s);
        std::optional<std::string> value;
        if (!s.empty() && s.front() == '"') {
            value = take_quoted(s);
            if (!value) break;
        } else {
            // A token, or an ext-value (which holds ' and %, both token characters).
            value = std::string(take_token(s));
        }
        if (vow::http::iequals(name, "filename") && !plain) plain = std::move(value);
        else if (vow::http::iequals(name, "filename*") && !extended) extended = decode_ext_value(*value);
    }
    if (extended && !extended->empty()) return extended;
    if (plain && !plain->empty()) return plain;
    return std::nullopt;
}

std::optional<std::string> safe_base_name(std::string_view name) {
    auto slash = name.find_last_of("/\\");
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    std::string out;
    bool full = false;  // at max_file_name_bytes: the rest is dropped
    while (!name.empty()) {
        char32_t cp = 0;
        std::size_t n = utf8_sequence(name, cp);
        if (n == 0) {  // not UTF-8: dropped like a control character
            name.remove_prefix(1);
            continue;
        }
        const bool control = cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
        if (!control && !full) {
            if (out.size() + n > vow::http::max_file_name_bytes) full = true;
            else out.append(name.substr(0, n));
        }
        name.remove_prefix(n);
    }
    std::size_t lead = out.find_first_not_of(". \t");
    if (lead == std::string::npos) return std::nullopt;
    out.erase(0, lead);
    while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
    if (out.empty()) return std::nullopt;
    return out;
}

}  // namespace vow_get
