// The client's TLS context, made on first use rather than when the client
// is made: creating it and reading the system's trusted CAs (about 150
// certificates) cost tens of milliseconds and some thirteen thousand
// allocations, which a client that only ever speaks plain HTTP, or a short
// command-line run, should not pay up front. With CAs the caller names
// (tls_options::ca_file, ca_pem) it is made and they are loaded at once, so
// that a bad file is an error of the constructor.
#pragma once

#include <mutex>
#include <optional>

#include "asio.hpp"
#include "vow/http/client.hpp"

namespace vow::http::detail {

class tls_context {
public:
    // Throws transport_error when ca_file or ca_pem cannot be loaded.
    explicit tls_context(const tls_options& tls);

    // The context, made and its system CAs loaded (once, by the first caller;
    // any thread). Throws transport_error when they cannot be loaded.
    ssl::context& get();

private:
    void make();  // ctx_, with the protocol options

    std::optional<ssl::context> ctx_;
    bool system_cas_;  // whether get() loads them (not when verification is off)
    std::once_flag ready_;
};

}  // namespace vow::http::detail
