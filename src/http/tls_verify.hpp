// Peer verification for one TLS connection: OpenSSL checks the host name
// itself (so a mismatch has a verify result of its own), and a failed
// handshake whose verify result is not X509_V_OK becomes a tls_verify_error
// that names the reason.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <system_error>

namespace vow::http::detail {

// Turns on verification of the peer's chain and of `host` (a name or an IP
// literal) for `ssl`, before the handshake. Returns false if OpenSSL refused.
bool verify_peer_and_host(SSL* ssl, const std::string& host, bool host_is_ip);

// After a failed handshake with verification on: throws tls_verify_error
// when the certificate was the reason; returns otherwise.
void throw_if_certificate_rejected(SSL* ssl, const std::error_code& handshake_error, const std::string& url);

}  // namespace vow::http::detail
