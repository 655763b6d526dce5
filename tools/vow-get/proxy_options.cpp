#include "proxy_options.hpp"

#include <cstdlib>
#include <initializer_list>

#include "vow/http/errors.hpp"

namespace vow_get {
namespace {

// The first of `names` set and not empty: the one from_environment() took.
const char* chosen_variable(std::initializer_list<const char*> names) {
    for (const char* name : names) {
        const char* value = std::getenv(name);
        if (value && *value) return name;
    }
    return nullptr;
}

void check(const std::string& url, const std::string& source) {
    if (url.empty()) return;
    try {
        vow::http::check_proxy_url(url);
    } catch (const vow::http::invalid_url& e) {
        throw proxy_problem{source, e.what()};
    }
}

}  // namespace

vow::http::proxy_settings choose_proxies(const std::optional<std::string>& proxy,
                                         const std::optional<std::string>& noproxy) {
    auto settings = vow::http::proxy_settings::from_environment();
    if (proxy) {
        check(*proxy, "--proxy");
        settings.http = *proxy;
        settings.https = *proxy;
    } else {
        if (const char* name = chosen_variable({"http_proxy", "all_proxy", "ALL_PROXY"}))
            check(settings.http, std::string("the environment variable ") + name);
        if (const char* name = chosen_variable({"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}))
            check(settings.https, std::string("the environment variable ") + name);
    }
    if (noproxy) settings.no_proxy = *noproxy;
    return settings;
}

}  // namespace vow_get
