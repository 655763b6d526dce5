#include "url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <charconv>
#include <string_view>

#include "vow/http/errors.hpp"

namespace vow::http::detail {

namespace {

target_url from_url_view(boost::urls::url_view u, const std::string& original) {
    std::string scheme = u.scheme();
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "http" && scheme != "https")
        throw invalid_url("unsupported scheme '" + scheme + "' in " + original + " (http and https only)");
    if (!u.has_authority() || u.encoded_host().empty()) throw invalid_url("no host in " + original);
    target_url t;
    t.tls = scheme == "https";
    if (u.host_type() == boost::urls::host_type::ipv6) {
        t.host = u.encoded_host_address();
    } else {
        t.host = u.host();
    }
    if (u.has_port()) {
        // port_number() is 16 bits and wraps (99999 -> 34463): check the digits.
        std::string_view digits = u.port();
        unsigned long port = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535)
            throw invalid_url("bad port '" + std::string(digits) + "' in " + original + " (1-65535)");
        t.port = std::to_string(port);
    } else {
        t.port = t.tls ? "443" : "80";
    }
    t.target = u.encoded_path();
    if (t.target.empty()) t.target = "/";
    if (u.has_query()) t.target += "?" + std::string(u.encoded_query());
    boost::urls::url copy(u);
    copy.remove_fragment();
    t.text = copy.buffer();
    return t;
}

}  // namespace

target_url parse_url(const std::string& text) {
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) throw invalid_url("malformed URL '" + text + "': " + parsed.error().message());
    return from_url_view(*parsed, text);
}

target_url resolve_location(const target_url& base, const std::string& location) {
    auto ref = boost::urls::parse_uri_reference(location);
    if (!ref) throw protocol_error("malformed Location '" + location + "': " + ref.error().message());
    auto base_url = boost::urls::parse_uri(base.text);
    if (!base_url) throw invalid_url("malformed URL '" + base.text + "'");
    boost::urls::url out;
    auto r = boost::urls::resolve(*base_url, *ref, out);
    if (!r) throw protocol_error("cannot resolve Location '" + location + "': " + r.error().message());
    return from_url_view(out, out.buffer());
}

}  // namespace vow::http::detail
