#include "vow/http/proxy.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "proxy_route.hpp"
#include "vow/http/errors.hpp"
#include "vow/http/headers.hpp"

namespace vow::http {

namespace {

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string_view without_brackets(std::string_view host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
    return host;
}

std::optional<boost::asio::ip::address> ip_of(std::string_view text) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(std::string(text), ec);
    if (ec) return std::nullopt;
    // ::ffff:10.1.2.3 is 10.1.2.3 on the wire; compare it as such.
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    return a;
}

// Whether the first `bits` bits of two addresses of one family agree.
bool same_network(const boost::asio::ip::address& a, const boost::asio::ip::address& b, unsigned bits) {
    if (a.is_v4() != b.is_v4()) return false;
    auto bytes_of = [](const boost::asio::ip::address& x) {
        std::array<unsigned char, 16> out{};
        if (x.is_v4()) {
            auto v = x.to_v4().to_bytes();
            std::copy(v.begin(), v.end(), out.begin());
        } else {
            auto v = x.to_v6().to_bytes();
            std::copy(v.begin(), v.end(), out.begin());
        }
        return out;
    };
    const auto x = bytes_of(a), y = bytes_of(b);
    for (std::size_t i = 0; bits > 0; ++i, bits = bits >= 8 ? bits - 8 : 0) {
        const unsigned take = std::min(bits, 8u);
        const auto mask = static_cast<unsigned char>(0xff << (8 - take));
        if ((x[i] & mask) != (y[i] & mask)) return false;
    }
    return true;
}

// One no_proxy entry against a host (brackets removed) and port.
bool entry_matches(std::string_view entry, std::string_view host, std::string_view port) {
    if (entry == "*") return true;
    std::string_view name = entry;
    std::string_view entry_port;
    if (name.front() == '[') {
        // [v6] or [v6]:port
        auto close = name.find(']');
        if (close == std::string_view::npos) return false;
        if (close + 1 < name.size()) {
            if (name[close + 1] != ':') return false;
            entry_port = name.substr(close + 2);
        }
        name = name.substr(1, close - 1);
    } else if (auto colon = name.find(':');
               colon != std::string_view::npos && name.find(':', colon + 1) == std::string_view::npos) {
        // name:port or v4:port; two colons or more make a bare IPv6 literal.
        entry_port = name.substr(colon + 1);
        name = name.substr(0, colon);
    }
    if (!entry_port.empty() && entry_port != port) return false;

    // An IP literal, maybe with /bits: compared as addresses.
    std::string_view address = name;
    std::optional<unsigned> bits;
    if (auto slash = name.find('/'); slash != std::string_view::npos) {
        address = name.substr(0, slash);
        unsigned n = 0;
        auto digits = name.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (ec != std::errc() || end != digits.data() + digits.size()) return false;
        bits = n;
    }
    if (auto entry_ip = ip_of(address)) {
        auto host_ip = ip_of(host);
        if (!host_ip) return false;
        const unsigned width = entry_ip->is_v4() ? 32 : 128;
        if (bits && *bits > width) return false;
        return same_network(*entry_ip, *host_ip, bits.value_or(width));
    }
    if (bits) return false;  // "/bits" after a name means nothing
    if (ip_of(host)) return false;  // an address matches IP entries only (not "0.0.1" as a suffix)

    // A name: itself or any subdomain; "*.x", ".x" and "x" all mean x.
    if (name.starts_with("*.")) name.remove_prefix(2);
    if (name.starts_with(".")) name.remove_prefix(1);
    if (name.ends_with(".")) name.remove_suffix(1);
    if (host.ends_with(".")) host.remove_suffix(1);
    if (name.empty() || name.size() > host.size()) return false;
    const auto tail = host.substr(host.size() - name.size());
    if (!iequals(tail, name)) return false;
    return host.size() == name.size() || host[host.size() - name.size() - 1] == '.';
}

}  // namespace

bool no_proxy_matches(const std::string& no_proxy, const std::string& host, const std::string& port) {
    const std::string_view bare = without_brackets(host);
    std::string_view rest = no_proxy;
    while (!rest.empty()) {
        auto end = rest.find_first_of(", ");
        auto entry = trimmed(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        if (!entry.empty() && entry_matches(entry, bare, port)) return true;
    }
    return false;
}

proxy_settings proxy_settings::all(std::string url, std::string no_proxy) {
    proxy_settings s;
    s.http = url;
    s.https = std::move(url);
    s.no_proxy = std::move(no_proxy);
    return s;
}

proxy_settings proxy_settings::from_environment() {
    return from_environment([](const char* name) -> const char* { return std::getenv(name); });
}

proxy_settings proxy_settings::from_environment(const std::function<const char*(const char*)>& lookup) {
    // The first of `names` that is set and not empty.
    auto first = [&](std::initializer_list<const char*> names) -> std::string {
        for (const char* name : names) {
            const char* value = lookup(name);
            if (value && *value) return value;
        }
        return {};
    };
    proxy_settings s;
    s.http = first({"http_proxy", "all_proxy", "ALL_PROXY"});
    s.https = first({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"});
    s.no_proxy = first({"no_proxy", "NO_PROXY"});
    return s;
}

std::string proxy_settings::proxy_for(const std::string& url) const {
    const auto target = detail::parse_url(url);
    const std::string& proxy = target.tls ? https : http;
    if (proxy.empty() || no_proxy_matches(no_proxy, target.host, target.port)) return {};
    return proxy;
}

void check_proxy_url(const std::string& proxy_url) { (void)detail::parse_proxy(proxy_url); }

namespace detail {

proxy_endpoint parse_proxy(const std::string& given) {
    const std::string shown = redacted(given);
    std::string text = given;
    auto scheme_end = text.find("://");
    if (scheme_end == std::string::npos) {
        text = "http://" + text;
    } else if (auto scheme = lowercase(std::string_view(text).substr(0, scheme_end)); scheme != "http") {
        throw invalid_url("proxy URL '" + shown + "': " + scheme + ":// proxies are not supported (http:// only)");
    }
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) throw invalid_url("malformed proxy URL '" + shown + "': " + parsed.error().message());
    const boost::urls::url_view u = *parsed;
    if (u.encoded_host().empty()) throw invalid_url("no host in proxy URL '" + shown + "'");
    proxy_endpoint p;
    const bool v6 = u.host_type() == boost::urls::host_type::ipv6;
    p.host = v6 ? std::string(u.encoded_host_address()) : std::string(u.host());
    p.port = "1080";
    if (u.has_port()) {
        auto port = checked_port(u.port());
        if (!port)
            throw invalid_url("bad port '" + std::string(u.port()) + "' in proxy URL '" + shown + "' (1-65535)");
        p.port = *port;
    }
    if (u.has_userinfo()) p.authorization = basic_authorization(u.user(), u.password());
    p.text = "http://" + (v6 ? "[" + p.host + "]" : p.host) + ":" + p.port;
    return p;
}

proxy_routes::proxy_routes(const proxy_settings& settings) : no_proxy_(settings.no_proxy) {
    if (!settings.http.empty()) http_ = parse_proxy(settings.http);
    if (!settings.https.empty()) https_ = parse_proxy(settings.https);
}

const proxy_endpoint* proxy_routes::proxy_for(const target_url& url) const {
    const auto& proxy = url.tls ? https_ : http_;
    if (!proxy || no_proxy_matches(no_proxy_, url.host, url.port)) return nullptr;
    return &*proxy;
}

std::string proxy_routes::pool_key(const target_url& url) const {
    const auto* proxy = proxy_for(url);
    if (!proxy) return url.origin();
    // The credentials are part of the key: a client has one per proxy, but
    // the key must never let two sets share a connection.
    if (!url.tls) return "proxy " + proxy->text + " " + proxy->authorization;
    return url.origin() + " via " + proxy->text + " " + proxy->authorization;
}

}  // namespace detail

}  // namespace vow::http
