#include "tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>

namespace vow::http::loopback_detail {

namespace {

struct pkey_free { void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); } };
struct x509_free { void operator()(X509* p) const noexcept { X509_free(p); } };
struct x509_ext_free { void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); } };
struct bio_free { void operator()(BIO* p) const noexcept { BIO_free(p); } };

[[noreturn]] void fail(const char* what) {
    std::string message = std::string("loopback_server TLS set-up: ") + what;
    if (unsigned long code = ERR_get_error(); code != 0) {
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        message += ": ";
        message += reason;
    }
    ERR_clear_error();
    throw std::runtime_error(message);
}

void add_extension(X509V3_CTX& ctx, X509* cert, int nid, const char* value) {
    std::unique_ptr<X509_EXTENSION, x509_ext_free> ext{X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value)};
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail("X509 extension");
}

std::string to_pem(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    if (size <= 0 || data == nullptr) fail("PEM output");
    return std::string(data, static_cast<std::size_t>(size));
}

using key_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using cert_ptr = std::unique_ptr<X509, x509_free>;

key_ptr make_key() {
    key_ptr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
    if (!key) fail("EC P-256 key generation");
    return key;
}

// A certificate for `key` named `common_name`, valid from now + not_before to
// now + not_after, signed by `issuer` with `issuer_key` (itself when null).
cert_ptr make_certificate(EVP_PKEY* key, const char* common_name, bool is_ca, std::chrono::seconds not_before,
                          std::chrono::seconds not_after, X509* issuer, EVP_PKEY* issuer_key) {
    cert_ptr cert{X509_new()};
    if (!cert) fail("X509_new");
    if (X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("X509 version");

    // A random positive serial so that two servers never present the same one.
    unsigned char serial_bytes[8];
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) fail("serial");
    std::uint64_t bits = 0;
    for (unsigned char b : serial_bytes) bits = (bits << 8) | b;
    auto serial = static_cast<long>(bits >> 2) + 1;  // positive, never zero
    if (ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) != 1) fail("serial");

    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(not_before.count())) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(not_after.count())))
        fail("validity");
    if (X509_set_pubkey(cert.get(), key) != 1) fail("public key");

    X509_NAME* name = X509_get_subject_name(cert.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1,
                                   -1, 0) != 1)
        fail("subject name");
    X509* signer = issuer ? issuer : cert.get();
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) fail("issuer name");

    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, signer, cert.get(), nullptr, nullptr, 0);
    add_extension(ctx, cert.get(), NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_extension(ctx, cert.get(), NID_key_usage,
                  is_ca ? "critical,digitalSignature,keyCertSign" : "critical,digitalSignature");
    add_extension(ctx, cert.get(), NID_subject_key_identifier, "hash");
    if (issuer) add_extension(ctx, cert.get(), NID_authority_key_identifier, "keyid:always");
    if (!issuer || !is_ca) add_extension(ctx, cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");

    if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0) fail("signing");
    return cert;
}

std::string certificate_pem(X509* cert) {
    std::unique_ptr<BIO, bio_free> bio{BIO_new(BIO_s_mem())};
    if (!bio) fail("BIO_new");
    if (PEM_write_bio_X509(bio.get(), cert) != 1) fail("certificate PEM");
    return to_pem(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, bio_free> bio{BIO_new(BIO_s_mem())};
    if (!bio) fail("BIO_new");
    if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) fail("key PEM");
    return to_pem(bio.get());
}

}  // namespace

server_identity make_identity(const loopback_server::certificate_options& opts) {
    auto key = make_key();
    if (!opts.signed_by_separate_ca) {
        auto cert = make_certificate(key.get(), "vow loopback test CA", true, opts.not_before, opts.not_after,
                                     nullptr, nullptr);
        auto pem = certificate_pem(cert.get());
        return {pem, pem, key_pem(key.get())};
    }
    // The CA is valid whatever the leaf's dates: an expired leaf is the leaf's fault alone.
    auto ca_key = make_key();
    auto ca = make_certificate(ca_key.get(), "vow loopback test CA", true, std::chrono::hours(-1),
                               std::chrono::hours(24), nullptr, nullptr);
    auto leaf = make_certificate(key.get(), "vow loopback server", false, opts.not_before, opts.not_after, ca.get(),
                                 ca_key.get());
    return {certificate_pem(ca.get()), certificate_pem(leaf.get()), key_pem(key.get())};
}

}  // namespace vow::http::loopback_detail
