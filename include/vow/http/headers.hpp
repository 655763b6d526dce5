// header_map: the header fields of a response, in the order received. Names
// compare case-insensitively; a small vector beats a map for ~10 fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vow::http {

class header_map {
public:
    using field = std::pair<std::string, std::string>;

    void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
    void reserve(std::size_t n) { fields_.reserve(n); }
    // The first field named `name`, ignoring case.
    std::optional<std::string> find(std::string_view name) const;
    bool contains(std::string_view name) const { return find(name).has_value(); }

    const std::vector<field>& fields() const noexcept { return fields_; }
    std::size_t size() const noexcept { return fields_.size(); }
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }

private:
    std::vector<field> fields_;
};

bool iequals(std::string_view a, std::string_view b) noexcept;

// The value of an Authorization header for Basic authentication (RFC 7617):
// "Basic " and base64 of "user:password", the bytes as given. A URL's own
// user:password@ is sent the same way (percent-decoded first).
std::string basic_authorization(std::string_view user, std::string_view password);

}  // namespace vow::http
