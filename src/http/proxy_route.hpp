// A parsed proxy, and the route one request takes: straight to its origin,
// or through that proxy (absolute-form for http://, a CONNECT tunnel for
// https://). The pool key tells apart connections that cannot be shared.
#pragma once

#include <optional>
#include <string>

#include "url.hpp"
#include "vow/http/proxy.hpp"

namespace vow::http::detail {

struct proxy_endpoint {
    std::string host;           // without brackets for IPv6 literals
    std::string port;
    std::string authorization;  // "Basic ..." from user:password@, or empty
    std::string text;           // "http://host:port": for messages, never with credentials
};

// Throws invalid_url (see check_proxy_url). "host:port" alone means http://.
proxy_endpoint parse_proxy(const std::string& url);

// The proxies of one client, parsed once.
class proxy_routes {
public:
    proxy_routes() = default;
    explicit proxy_routes(const proxy_settings& settings);

    // The proxy `url` goes through, or null for a direct connection.
    const proxy_endpoint* proxy_for(const target_url& url) const;

    // Which pooled connections a request to `url` may use: plain-HTTP
    // requests through a proxy share the proxy's connections whatever their
    // origin; a CONNECT tunnel leads to one origin only.
    std::string pool_key(const target_url& url) const;

private:
    std::optional<proxy_endpoint> http_, https_;
    std::string no_proxy_;
};

}  // namespace vow::http::detail
