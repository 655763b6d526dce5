#include "tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, x509_ext_free> ext{X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value)};
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail("X509 extension");
}

std::string to_pem(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    if (size <= 0 || data == nullptr) fail("PEM output");
    return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

self_signed_identity make_self_signed_identity() {
    std::unique_ptr<EVP_PKEY, pkey_free> key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
    if (!key) fail("EC P-256 key generation");

    std::unique_ptr<X509, x509_free> cert{X509_new()};
    if (!cert) fail("X509_new");
    if (X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("X509 version");

    // A random positive serial so that two servers never present the same one.
    unsigned char serial_bytes[8];
    if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) fail("serial");
    std::uint64_t bits = 0;
    for (unsigned char b : serial_bytes) bits = (bits << 8) | b;
    auto serial = static_cast<long>(bits >> 2) + 1;  // positive, never zero
    if (ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) != 1) fail("serial");

    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60L * 60) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24L * 60 * 60))
        fail("validity");
    if (X509_set_pubkey(cert.get(), key.get()) != 1) fail("public key");

    X509_NAME* name = X509_get_subject_name(cert.get());
    const auto* common_name = reinterpret_cast<const unsigned char*>("vow loopback test CA");
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, common_name, -1, -1, 0) != 1)
        fail("subject name");
    if (X509_set_issuer_name(cert.get(), name) != 1) fail("issuer name");

    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_extension(cert.get(), NID_subject_key_identifier, "hash");
    add_extension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");

    if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) fail("signing");

    std::unique_ptr<BIO, bio_free> cert_bio{BIO_new(BIO_s_mem())};
    std::unique_ptr<BIO, bio_free> key_bio{BIO_new(BIO_s_mem())};
    if (!cert_bio || !key_bio) fail("BIO_new");
    if (PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) fail("certificate PEM");
    if (PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("key PEM");
    return {to_pem(cert_bio.get()), to_pem(key_bio.get())};
}

}  // namespace vow::http::loopback_detail
