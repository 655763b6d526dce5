// Private helper of loopback_server: the HTTPS side's certificate and key,
// made with OpenSSL 3 at start-up (nothing with fixed dates is committed).
#pragma once

#include <string>

#include "vow/http/loopback_server.hpp"

namespace vow::http::loopback_detail {

struct server_identity {
    std::string ca_pem;           // what a client must trust (the leaf itself when self-signed)
    std::string certificate_pem;  // the leaf the server presents; names IP 127.0.0.1 and DNS localhost
    std::string private_key_pem;  // the leaf's EC P-256 key
};

// Throws std::runtime_error (with OpenSSL's reason) when OpenSSL fails.
server_identity make_identity(const loopback_server::certificate_options& opts);

}  // namespace vow::http::loopback_detail
