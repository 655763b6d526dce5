#include "request.hpp"

#include <charconv>

namespace vow::http::loopback_detail {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_unreserved(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

std::optional<std::uint64_t> parse_uint(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            int hi = hex_value(text[i + 1]);
            int lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

std::string percent_encode(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (char c : text) {
        if (is_unreserved(c)) {
            out.push_back(c);
        } else {
            auto byte = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(digits[byte >> 4]);
            out.push_back(digits[byte & 0xf]);
        }
    }
    return out;
}

query_params::query_params(std::string_view query) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq));
        auto value = eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
        values_.insert_or_assign(std::move(name), std::move(value));
    }
}

bool query_params::has(std::string_view name) const { return values_.find(name) != values_.end(); }

std::optional<std::string> query_params::text(std::string_view name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::uint64_t> query_params::number(std::string_view name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return parse_uint(it->second);
}

range_request parse_range(std::string_view header, std::uint64_t size) noexcept {
    header = trim(header);
    constexpr std::string_view unit = "bytes=";
    if (header.substr(0, unit.size()) != unit) return {};
    auto spec = trim(header.substr(unit.size()));
    if (spec.find(',') != std::string_view::npos) return {};  // multiple ranges: serve 200
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) return {};
    auto first_text = trim(spec.substr(0, dash));
    auto last_text = trim(spec.substr(dash + 1));

    if (first_text.empty()) {  // bytes=-s: the last s bytes
        auto suffix = parse_uint(last_text);
        if (!suffix) return {};
        if (*suffix == 0 || size == 0) return {range_kind::unsatisfiable, {}};
        auto length = *suffix < size ? *suffix : size;
        return {range_kind::satisfiable, {size - length, length}};
    }
    auto first = parse_uint(first_text);
    if (!first) return {};
    std::uint64_t last = size == 0 ? 0 : size - 1;
    if (!last_text.empty()) {
        auto parsed = parse_uint(last_text);
        if (!parsed || *parsed < *first) return {};  // invalid: ignore the header
        if (*parsed < last) last = *parsed;
    }
    if (*first >= size) return {range_kind::unsatisfiable, {}};
    return {range_kind::satisfiable, {*first, last - *first + 1}};
}

}  // namespace vow::http::loopback_detail
