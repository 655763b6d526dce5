// Which HTTP proxy a client goes through, and for which hosts it does not.
// Plain http:// URLs are sent to the proxy in absolute form
// ("GET http://host:port/path HTTP/1.1"); https:// URLs go through a tunnel
// ("CONNECT host:port"), inside which TLS is verified against the origin's
// name, never the proxy's. Only http:// proxy URLs are supported.
//
// The environment is read only when asked: a client uses no proxy unless its
// client_options::proxy says so, e.g.
//     options.proxy = vow::http::proxy_settings::from_environment();
#pragma once

#include <functional>
#include <string>

namespace vow::http {

struct proxy_settings {
    // Proxy URLs, "http://[user:password@]host[:port]" ("host:port" alone
    // means http://; the port defaults to 1080, as curl's does). The
    // credentials, percent-decoded, go as Proxy-Authorization: Basic. Empty:
    // connect directly.
    std::string http;   // for http:// URLs
    std::string https;  // for https:// URLs, through CONNECT
    // Hosts reached directly, as curl reads no_proxy: entries separated by
    // commas (or spaces); "*" alone matches every host; a name matches itself
    // and its subdomains ("example.com" and ".example.com" both match
    // example.com and a.example.com, not notexample.com); an IP literal
    // ("10.1.2.3", "::1" or "[::1]") matches that address, with "/bits" a
    // network ("10.0.0.0/8"). An entry with a port ("host:8080",
    // "[::1]:8080") matches that port only. Names compare case-insensitively;
    // no name is resolved to match an IP entry.
    std::string no_proxy;

    // The same proxy for http:// and https:// URLs (curl's --proxy).
    static proxy_settings all(std::string url, std::string no_proxy = {});

    // The variables curl reads, the same way: http_proxy (lowercase only: a
    // CGI program gets a request's "Proxy:" header as HTTP_PROXY), then
    // https_proxy or HTTPS_PROXY, each falling back to all_proxy or
    // ALL_PROXY, and no_proxy or NO_PROXY; lowercase wins when both are set.
    // Empty variables count as unset.
    static proxy_settings from_environment();
    // The same over another source of variables (for tests): `lookup`
    // returns a variable's value, or null when it is unset.
    static proxy_settings from_environment(const std::function<const char*(const char*)>& lookup);

    // The proxy URL a request to `url` goes through, or "" for a direct
    // connection (no proxy for its scheme, or a no_proxy match). Throws
    // invalid_url when `url` does not parse.
    std::string proxy_for(const std::string& url) const;
};

// Throws invalid_url unless `proxy_url` is a proxy URL vow can use: http://
// with a host (https://, socks4://, socks5:// and others are refused by
// name). The message names the URL with its password as "***".
void check_proxy_url(const std::string& proxy_url);

// Whether `host` (a name or an IP literal, IPv6 with or without brackets) on
// `port` is in `no_proxy`, with the rules of proxy_settings::no_proxy.
bool no_proxy_matches(const std::string& no_proxy, const std::string& host, const std::string& port);

}  // namespace vow::http
