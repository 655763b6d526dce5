#include "tls_context.hpp"

#include "vow/http/errors.hpp"

namespace vow::http::detail {

tls_context::tls_context(const tls_options& tls) : system_cas_(tls.verify_peer && !tls.insecure) {
    if (!tls.ca_file && !tls.ca_pem) return;
    make();
    try {
        if (tls.ca_file) ctx_->load_verify_file(*tls.ca_file);
        if (tls.ca_pem) ctx_->add_certificate_authority(asio::buffer(*tls.ca_pem));
    } catch (const boost::system::system_error& e) {
        throw transport_error(e.code(), "cannot load the trusted CAs");
    }
}

void tls_context::make() {
    ctx_.emplace(ssl::context::tls_client);
    ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
}

ssl::context& tls_context::get() {
    // Before any connection is made from the context: no handshake reads the
    // store while it is filled. A throw leaves the flag unset: the next
    // connection tries again.
    std::call_once(ready_, [this] {
        try {
            if (!ctx_) make();
        } catch (const boost::system::system_error& e) {
            throw transport_error(e.code(), "cannot make the TLS context");
        }
        if (!system_cas_) return;
        try {
            ctx_->set_default_verify_paths();
        } catch (const boost::system::system_error& e) {
            throw transport_error(e.code(), "cannot load the system's trusted CAs");
        }
    });
    return *ctx_;
}

}  // namespace vow::http::detail
