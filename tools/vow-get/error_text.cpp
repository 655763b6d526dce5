#include "error_text.hpp"

#include <string_view>
#include <system_error>

#include "vow/errors.hpp"
#include "vow/http/errors.hpp"

namespace vow_get {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// Which deadline a timeout_error was about, from its message.
std::string timeout_which(std::string_view what) {
    if (what.starts_with("low speed")) return "speed";
    if (what.starts_with("response timeout")) return "response";
    if (what.starts_with("send timeout")) return "send";
    if (contains(what, "connect")) return "connect";
    if (contains(what, "idle")) return "idle";
    if (contains(what, "total")) return "total";
    if (contains(what, "deadline")) return "deadline";
    return "";
}

// A transport error_code sorted into what a person can act on. Asio's
// categories are recognised by name, so this needs no Asio header.
std::string transport_kind(const std::error_code& code) {
    std::string_view category = code.category().name();
    if (contains(category, "ssl") || contains(category, "tls")) return "tls";
    if (contains(category, "netdb") || contains(category, "addrinfo") || contains(category, "resolve")) {
        return "dns";
    }
    if (code == std::errc::connection_refused || code == std::errc::network_unreachable ||
        code == std::errc::host_unreachable || code == std::errc::address_not_available) {
        return "connect";
    }
    return "transport";
}

}  // namespace

error_description describe_error(const std::exception_ptr& error) {
    error_description d;
    try {
        std::rethrow_exception(error);
    } catch (const vow::http::status_error& e) {
        d.kind = "http";
        d.http_status = e.status();
        d.message = "HTTP " + std::to_string(e.status());
        if (!e.reason().empty()) d.message += " " + e.reason();
        if (auto after = e.retry_after()) {
            d.retry_after_s = static_cast<double>(after->count());
            d.message += " (Retry-After " + std::to_string(after->count()) + " s)";
        }
    } catch (const vow::timeout_error& e) {
        d.kind = "timeout";
        std::string which = timeout_which(e.what());
        d.message = which.empty() ? std::string("timeout: ") + e.what()
                                  : "timeout (" + which + "): " + e.what();
    } catch (const vow::http::tls_verify_error& e) {
        d.kind = "tls";
        d.message = "TLS: the server's certificate was not accepted: " + e.reason() +
                    " (pass its CA with --ca-file FILE; --insecure skips verification, for testing only)";
    } catch (const vow::http::transport_error& e) {
        d.kind = transport_kind(e.code());
        std::string label = d.kind == "tls" ? "TLS" : d.kind == "dns" ? "DNS" : d.kind;
        d.message = label + ": " + e.code().message();
        std::string_view what = e.what();
        if (contains(what, "TLS handshake failed")) {
            // Say which step failed: a plain-HTTP port answers a handshake with garbage.
            d.message = "TLS: handshake failed: " + e.code().message() + " (" + std::string(what) + ")";
        } else if (!what.empty() && (!contains(what, e.code().message()) || contains(what, " proxy "))) {
            // A failure at a proxy always says which proxy.
            d.message += " (" + std::string(what) + ")";
        }
    } catch (const vow::http::checksum_error& e) {
        d.kind = "checksum";
        d.message = "checksum mismatch: expected sha256 " + e.expected() + ", got " + e.actual() +
                    " (.part removed)";
    } catch (const vow::http::proxy_error& e) {
        d.kind = "proxy";
        d.message = std::string("proxy: ") + e.what();
    } catch (const vow::http::protocol_error& e) {
        d.kind = "protocol";
        d.message = std::string("protocol error: ") + e.what();
    } catch (const vow::http::redirect_error& e) {
        d.kind = "redirect";
        d.message = std::string("redirect: ") + e.what();
    } catch (const vow::http::invalid_url& e) {
        d.kind = "url";
        d.message = std::string("invalid URL: ") + e.what();
    } catch (const vow::http::file_error& e) {
        d.kind = "file";
        d.message = "file: " + e.code().message() + " (" + e.what() + ")";
    } catch (const vow::http::body_limit_error& e) {
        d.kind = "body_limit";
        d.message = std::string("body too large: ") + e.what();
    } catch (const vow::cancelled_error&) {
        d.kind = "cancelled";
        d.message = "cancelled";
    } catch (const std::exception& e) {
        d.kind = "other";
        d.message = e.what();
    } catch (...) {
        d.kind = "other";
        d.message = "unknown error";
    }
    return d;
}

}  // namespace vow_get
