// Which proxy vow-get uses: the environment variables curl reads
// (vow::http::proxy_settings::from_environment), then --proxy and --noproxy,
// which win over them. A proxy URL vow cannot use is a usage error that names
// where it came from (the option or the variable).
#pragma once

#include <optional>
#include <string>

#include "vow/http/proxy.hpp"

namespace vow_get {

// Where a bad proxy URL came from ("--proxy", "https_proxy", ...) and why.
struct proxy_problem {
    std::string source;
    std::string message;
};

// `proxy`: --proxy URL ("" turns proxies off, the environment's too);
// `noproxy`: --noproxy LIST (replaces no_proxy / NO_PROXY).
// Throws proxy_problem.
vow::http::proxy_settings choose_proxies(const std::optional<std::string>& proxy,
                                         const std::optional<std::string>& noproxy);

}  // namespace vow_get
