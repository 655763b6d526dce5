#include "vow/http/headers.hpp"

#include <algorithm>

namespace vow::http {

namespace {
char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::string> header_map::find(std::string_view name) const {
    for (const auto& [n, v] : fields_) {
        if (iequals(n, name)) return v;
    }
    return std::nullopt;
}

}  // namespace vow::http
