#include "content_range.hpp"

#include <charconv>

#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

std::optional<std::uint64_t> number(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<content_range> parse_content_range(std::string_view v) {
    if (v.substr(0, 6) != "bytes ") return std::nullopt;
    v.remove_prefix(6);
    auto slash = v.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    content_range r;
    auto range = v.substr(0, slash), total = v.substr(slash + 1);
    if (total != "*") {
        r.total = number(total);
        if (!r.total) return std::nullopt;
    }
    if (range == "*") {
        if (!r.total) return std::nullopt;  // "bytes */*" says nothing
        return r;
    }
    auto dash = range.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    r.first = number(range.substr(0, dash));
    r.last = number(range.substr(dash + 1));
    if (!r.first || !r.last || *r.first > *r.last) return std::nullopt;
    if (r.total && *r.last >= *r.total) return std::nullopt;
    return r;
}

std::uint64_t check_partial_response(const std::optional<std::string>& value, std::uint64_t asked_from,
                                     std::optional<std::uint64_t> content_length,
                                     std::optional<std::uint64_t> known_total, const std::string& url) {
    const std::string what = "206 from " + url + " with Content-Range '" + printable_text(value.value_or("")) + "'";
    auto r = value ? parse_content_range(*value) : std::nullopt;
    if (!r || !r->first) throw protocol_error(what + " does not say which bytes it holds");
    if (*r->first != asked_from)
        throw protocol_error(what + " does not continue at byte " + std::to_string(asked_from));
    if (!r->total) throw protocol_error(what + " gives no total size: it cannot be known to complete the file");
    if (*r->last + 1 != *r->total)
        throw protocol_error(what + " ends before the last byte of the " + std::to_string(*r->total) +
                             "-byte file");
    if (known_total && *r->total != *known_total)
        throw protocol_error(what + " gives a total other than the " + std::to_string(*known_total) +
                             " bytes known before");
    if (content_length && *content_length != *r->last - *r->first + 1)
        throw protocol_error(what + " does not match its Content-Length of " + std::to_string(*content_length));
    return *r->total;
}

}  // namespace vow::http::detail
