#include "tls_verify.hpp"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "vow/http/errors.hpp"

namespace vow::http::detail {

bool verify_peer_and_host(SSL* ssl, const std::string& host, bool host_is_ip) {
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (host_is_ip) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    return X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
}

void throw_if_certificate_rejected(SSL* ssl, const std::error_code& handshake_error, const std::string& url) {
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) return;
    throw tls_verify_error(handshake_error, result, X509_verify_cert_error_string(result), url);
}

}  // namespace vow::http::detail
