// Private helper of loopback_server: a fresh self-signed certificate for the
// HTTPS side, made with OpenSSL 3 at start-up.
#pragma once

#include <string>

namespace vow::http::loopback_detail {

struct self_signed_identity {
    std::string certificate_pem;  // its own CA; names IP 127.0.0.1 and DNS localhost
    std::string private_key_pem;  // EC P-256
};

// Throws std::runtime_error (with OpenSSL's reason) when OpenSSL fails.
self_signed_identity make_self_signed_identity();

}  // namespace vow::http::loopback_detail
