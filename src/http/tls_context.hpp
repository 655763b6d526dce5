// The client's TLS context, with the system's trusted CAs loaded on first
// use rather than when the client is made: reading and parsing the system
// bundle (about 150 certificates) costs tens of milliseconds, which a client
// that only ever speaks plain HTTP, or a short command-line run, should not
// pay up front. The CAs the caller names (tls_options::ca_file, ca_pem) are
// loaded at once, so that a bad file is an error of the constructor.
#pragma once

#include <mutex>

#include "asio.hpp"
#include "vow/http/client.hpp"

namespace vow::http::detail {

class tls_context {
public:
    // Throws transport_error when ca_file or ca_pem cannot be loaded.
    explicit tls_context(const tls_options& tls);

    // The context, its system CAs loaded (once, by the first caller; any
    // thread). Throws transport_error when they cannot be loaded.
    ssl::context& get();

private:
    ssl::context ctx_;
    bool system_cas_;  // whether get() loads them (not when verification is off)
    std::once_flag loaded_;
};

}  // namespace vow::http::detail
