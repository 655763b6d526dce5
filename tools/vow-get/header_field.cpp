#include "header_field.hpp"

#include <array>
#include <cctype>

#include "vow/http/headers.hpp"

namespace vow_get {
namespace {

// RFC 9110 5.6.2: tchar.
bool is_token_char(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    for (char allowed : std::string_view("!#$%&'*+-.^_`|~")) {
        if (c == allowed) return true;
    }
    return false;
}

// Fields that frame the request or drive resume: a user's value would break
// the download rather than shape it.
constexpr std::array<std::string_view, 4> set_by_vow_get{"Content-Length", "Transfer-Encoding", "Range",
                                                          "If-Range"};

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

bool fits_in_header_value(std::string_view text) {
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
    }
    return true;
}

std::variant<header_field, header_problem> parse_header_field(std::string_view text) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return header_problem{"expects 'Name: value' (no ':' found)"};
    std::string_view name = text.substr(0, colon);
    if (name.empty()) return header_problem{"expects 'Name: value' (the name is empty)"};
    for (char c : name) {
        if (!is_token_char(c)) return header_problem{"'" + std::string(name) + "' is not a valid header name"};
    }
    for (auto reserved : set_by_vow_get) {
        if (vow::http::iequals(name, reserved))
            return header_problem{"'" + std::string(reserved) + "' is set by vow-get itself"};
    }
    std::string_view value = trim_blanks(text.substr(colon + 1));
    if (!fits_in_header_value(value)) return header_problem{"the value of '" + std::string(name) + "' holds a control character"};
    return header_field{std::string(name), std::string(value)};
}

}  // namespace vow_get
