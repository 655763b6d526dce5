#include "vow/http/headers.hpp"

#include <algorithm>

#include <openssl/evp.h>

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

std::string basic_authorization(std::string_view user, std::string_view password) {
    std::string credentials = std::string(user) + ":" + std::string(password);
    std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                            reinterpret_cast<const unsigned char*>(credentials.data()),
                            static_cast<int>(credentials.size()));
    encoded.resize(static_cast<std::size_t>(n));
    return "Basic " + encoded;
}

}  // namespace vow::http
