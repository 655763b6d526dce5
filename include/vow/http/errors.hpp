// The errors vow::http reports. All derive from vow::error; each carries what a
// caller needs to decide what to do next (the status, the error_code, ...).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "vow/errors.hpp"
#include "vow/http/headers.hpp"

namespace vow::http {

// The URL could not be parsed, or its scheme is not http/https.
class invalid_url : public vow::error {
public:
    using vow::error::error;
};

// The server answered with a status outside 2xx (after redirects were followed).
class status_error : public vow::error {
public:
    status_error(unsigned status, std::string reason, header_map headers, std::string url);

    unsigned status() const noexcept { return status_; }
    const std::string& reason() const noexcept { return reason_; }
    const header_map& headers() const noexcept { return headers_; }
    const std::string& url() const noexcept { return url_; }
    // Retry-After as a delay from when the response arrived (delta-seconds or
    // an HTTP-date); unset when absent or unparsable.
    std::optional<std::chrono::seconds> retry_after() const noexcept { return retry_after_; }

private:
    unsigned status_;
    std::string reason_;
    header_map headers_;
    std::string url_;
    std::optional<std::chrono::seconds> retry_after_;
};

// Resolve, connect, TLS or socket I/O failed; code() says how.
class transport_error : public vow::error {
public:
    transport_error(std::error_code code, const std::string& what);
    const std::error_code& code() const noexcept { return code_; }

private:
    std::error_code code_;
};

// The server's certificate failed verification: not signed by a trusted CA
// (self-signed, unknown issuer), expired, or issued for another host name.
// A transport_error, but one that trying again cannot fix: http::retry_policy
// does not retry it. The message names the reason.
class tls_verify_error : public transport_error {
public:
    tls_verify_error(std::error_code code, long verify_result, std::string reason, const std::string& url);
    // OpenSSL's X509_V_ERR_* code and its text (X509_verify_cert_error_string).
    long verify_result() const noexcept { return verify_result_; }
    const std::string& reason() const noexcept { return reason_; }

private:
    long verify_result_;
    std::string reason_;
};

// The proxy refused to carry a request: it answered CONNECT with a status
// outside 2xx (403: the port is not allowed; 407, or 401 from some proxies:
// wrong or missing proxy credentials; 502/503/504: it could not reach the
// origin), or answered a plain-HTTP request with 407. http::retry_policy retries 502, 503 and 504
// only: a refusal or bad credentials stay the same on a second try.
class proxy_error : public vow::error {
public:
    proxy_error(unsigned status, std::string reason, std::string proxy, std::string url);
    unsigned status() const noexcept { return status_; }
    const std::string& reason() const noexcept { return reason_; }
    const std::string& proxy() const noexcept { return proxy_; }  // http://host:port, no credentials
    const std::string& url() const noexcept { return url_; }      // the URL asked for, its password as "***"

private:
    unsigned status_;
    std::string reason_;
    std::string proxy_;
    std::string url_;
};

// The server sent something that is not valid HTTP/1.1 (garbage status line,
// oversized headers, a 206 that does not continue where asked, ...). A body
// cut short is a transport_error instead: it may well succeed when retried.
class protocol_error : public vow::error {
public:
    using vow::error::error;
};

// request_options::decode_content was asked and the response's
// Content-Encoding is one the client cannot undo (e.g. br, or two codings).
// A gzip or deflate body that is corrupt or cut short is a plain
// protocol_error.
class unsupported_encoding_error : public protocol_error {
public:
    using protocol_error::protocol_error;
};

// A body kept in memory grew past request_options::max_body_size, or a body
// past request_options::max_download_size.
class body_limit_error : public vow::error {
public:
    using vow::error::error;
};

// Redirects looped, exceeded the limit, or tried https -> http when not allowed.
class redirect_error : public vow::error {
public:
    using vow::error::error;
};

// The downloaded file's SHA-256 did not match the one asked for; the .part
// file was removed (it can never become right by resuming).
class checksum_error : public vow::error {
public:
    checksum_error(std::string expected, std::string actual);
    const std::string& expected() const noexcept { return expected_; }
    const std::string& actual() const noexcept { return actual_; }

private:
    std::string expected_;
    std::string actual_;
};

// Writing the downloaded bytes (or renaming the .part file) failed.
class file_error : public vow::error {
public:
    file_error(std::error_code code, const std::string& what);
    const std::error_code& code() const noexcept { return code_; }

private:
    std::error_code code_;
};

// `text` from a server (a reason phrase, a header value, a name) made safe
// for a terminal or a log line: C0 controls and DEL, and C1 controls both as
// raw bytes 0x80-0x9f (outside a valid UTF-8 sequence) and as UTF-8
// U+0080-U+009F, are replaced by '?'; other UTF-8 is kept. Error messages
// pass server text through it.
std::string printable_text(std::string_view text);

// Parses a Retry-After value: delta-seconds or an IMF-fixdate HTTP-date
// (RFC 9110 10.2.3), relative to `now`. Dates in the past give 0s.
std::optional<std::chrono::seconds> parse_retry_after(const std::string& value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace vow::http
