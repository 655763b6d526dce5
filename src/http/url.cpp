#include "url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <charconv>
#include <string_view>

#include "vow/http/errors.hpp"
#include "vow/http/headers.hpp"

namespace vow::http::detail {

namespace {

target_url from_url_view(boost::urls::url_view u, const std::string& given) {
    // For the messages only: built when one is thrown, not for every URL.
    auto original = [&given] { return redacted(given); };
    std::string scheme = u.scheme();
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "http" && scheme != "https")
        throw invalid_url("unsupported scheme '" + scheme + "' in " + original() + " (http and https only)");
    if (!u.has_authority() || u.encoded_host().empty()) throw invalid_url("no host in " + original());
    target_url t;
    t.tls = scheme == "https";
    if (u.host_type() == boost::urls::host_type::ipv6) {
        t.host = u.encoded_host_address();
    } else {
        t.host = u.host();
    }
    if (u.has_port()) {
        auto port = checked_port(u.port());
        if (!port) throw invalid_url("bad port '" + std::string(u.port()) + "' in " + original() + " (1-65535)");
        t.port = *port;
    } else {
        t.port = t.tls ? "443" : "80";
    }
    t.target = u.encoded_path();
    // After an authority the path is empty or starts with '/' (RFC 3986 3.3);
    // Boost.URL lets "https://[::1]44:83/x" through with the path "44:83/x",
    // which would make a malformed request line (found by fuzz_url).
    if (!t.target.empty() && t.target.front() != '/')
        throw invalid_url("malformed authority in " + original() + " (the path does not start with '/')");
    if (t.target.empty()) t.target = "/";
    if (u.has_query()) t.target += "?" + std::string(u.encoded_query());
    boost::urls::url copy(u);
    copy.remove_fragment();
    t.full = copy.buffer();
    if (u.has_userinfo()) {
        // Decoded as curl does: "user%40example.com:p%3Ass" -> user@example.com / p:ss.
        t.authorization = basic_authorization(u.user(), u.password());
        if (u.has_password()) copy.set_password("***");
    }
    t.text = copy.buffer();
    return t;
}

}  // namespace

std::string redacted(const std::string& url) {
    // By hand, not by parsing: a URL that does not parse may hold one too.
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return url;
    auto authority = scheme_end + 3;
    auto authority_end = url.find_first_of("/?#", authority);
    if (authority_end == std::string::npos) authority_end = url.size();
    auto at = url.rfind('@', authority_end - 1);
    if (at == std::string::npos || at < authority) return url;
    auto colon = url.find(':', authority);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::optional<std::string> checked_port(std::string_view digits) {
    unsigned long port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535)
        return std::nullopt;
    return std::to_string(port);
}

target_url parse_url(const std::string& text) {
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) throw invalid_url("malformed URL '" + redacted(text) + "': " + parsed.error().message());
    return from_url_view(*parsed, text);
}

target_url resolve_location(const target_url& base, const std::string& location) {
    auto ref = boost::urls::parse_uri_reference(location);
    if (!ref)
        throw protocol_error("malformed Location '" + printable_text(redacted(location)) +
                             "': " + ref.error().message());
    auto base_url = boost::urls::parse_uri(base.full);
    if (!base_url) throw invalid_url("malformed URL '" + base.text + "'");
    boost::urls::url out;
    auto r = boost::urls::resolve(*base_url, *ref, out);
    if (!r)
        throw protocol_error("cannot resolve Location '" + printable_text(redacted(location)) +
                             "': " + r.error().message());
    return from_url_view(out, std::string(out.buffer()));
}

}  // namespace vow::http::detail
