// Turns the typed errors of vow::http into what a person or a script reads:
// a short kind ("http", "timeout", "tls", "dns", "connect", ...) and a
// one-line message that says what went wrong.
#pragma once

#include <exception>
#include <optional>
#include <string>

namespace vow_get {

struct error_description {
    std::string kind;     // http, timeout, tls, dns, connect, transport, checksum,
                          // protocol, redirect, url, file, body_limit, cancelled, other
    std::string message;  // e.g. "HTTP 404 Not Found", "timeout (idle): ..."
    std::optional<unsigned> http_status;          // for kind == "http"
    std::optional<double> retry_after_s;          // for kind == "http" with Retry-After
};

error_description describe_error(const std::exception_ptr& error);

}  // namespace vow_get
