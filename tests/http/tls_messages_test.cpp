// What a TLS failure says: the certificate's reason (self-signed, host-name
// mismatch, ...) as a tls_verify_error that is not retried, and a handshake
// with a plain-HTTP port named as such. Runs against loopback servers whose
// certificates are made at start-up: self-signed for 127.0.0.1 and
// localhost, signed by a CA of their own, or expired.
#include "vow/http/client.hpp"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "vow/http/errors.hpp"
#include "http_test_support.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/http/retry.hpp"

namespace {

using namespace std::chrono_literals;
using vow::http::loopback_server;
using namespace vow_http_test;

loopback_server& server() {
    static loopback_server s;
    return s;
}

vow::http::client_options trusting() {
    vow::http::client_options o;
    o.tls.ca_pem = server().ca_pem();
    return o;
}

TEST(tls_messages, an_untrusted_self_signed_certificate_is_named_as_such) {
    vow::http::client c;
    auto e = failure_of<vow::http::tls_verify_error>(c.get(server().https_url("/bytes/10")));
    EXPECT_EQ(e.verify_result(), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) << e.what();
    EXPECT_NE(std::string(e.what()).find("self"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(e.reason()), std::string::npos) << e.what();
}

TEST(tls_messages, a_certificate_for_another_host_name_is_a_host_name_mismatch) {
    vow::http::client c(trusting());
    // 127.1 reaches 127.0.0.1, but it is not a name the certificate holds.
    auto url = server().https_url("/bytes/10");
    url.replace(url.find("127.0.0.1"), 9, "127.1");
    auto e = failure_of<vow::http::tls_verify_error>(c.get(url));
    EXPECT_EQ(e.verify_result(), X509_V_ERR_HOSTNAME_MISMATCH) << e.what();
    EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos) << e.what();
}

TEST(tls_messages, the_names_the_certificate_holds_are_accepted) {
    vow::http::client c(trusting());
    auto url = server().https_url("/bytes/10");
    auto f = c.get(url);
    ASSERT_TRUE(f.wait_for(20s));
    EXPECT_EQ(std::move(f).get().body, loopback_server::body(10));
    url.replace(url.find("127.0.0.1"), 9, "localhost");
    auto g = c.get(url);
    ASSERT_TRUE(g.wait_for(20s));
    EXPECT_EQ(std::move(g).get().body, loopback_server::body(10));
}

TEST(tls_messages, a_certificate_rejected_once_is_not_retried) {
    vow::http::client c;
    vow::http::request_options o;
    o.retry = vow::http::retry_policy(4);
    std::atomic<int> retries{0};
    o.retry->on_retry = [&](int, const std::exception_ptr&, vow::timer::duration) { ++retries; };
    failure_of<vow::http::tls_verify_error>(c.get(server().https_url("/bytes/10"), o));
    EXPECT_EQ(retries.load(), 0);
    EXPECT_FALSE(vow::http::is_retryable(std::make_exception_ptr(
        vow::http::tls_verify_error(std::error_code(), X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired", "u"))));
}

// A server whose certificate is signed by a CA made for it alone.
loopback_server& ca_signed_server() {
    static loopback_server s(loopback_server::options{.certificate = {.signed_by_separate_ca = true}});
    return s;
}

// A server whose certificate, signed by its own CA, expired yesterday.
loopback_server& expired_server() {
    static loopback_server s(loopback_server::options{
        .certificate = {.signed_by_separate_ca = true, .not_before = -48h, .not_after = -24h}});
    return s;
}

vow::http::client_options trusting(const loopback_server& s) {
    vow::http::client_options o;
    o.tls.ca_pem = s.ca_pem();
    return o;
}

TEST(tls_messages, a_certificate_from_a_ca_the_client_does_not_trust_is_an_unknown_issuer) {
    // The client trusts another server's CA, not the one that signed this certificate.
    vow::http::client c(trusting());
    vow::http::request_options o;
    o.retry = vow::http::retry_policy(3);
    std::atomic<int> retries{0};
    o.retry->on_retry = [&](int, const std::exception_ptr&, vow::timer::duration) { ++retries; };
    auto e = failure_of<vow::http::tls_verify_error>(c.get(ca_signed_server().https_url("/bytes/10"), o));
    EXPECT_EQ(e.verify_result(), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) << e.what();
    EXPECT_NE(std::string(e.what()).find("issuer"), std::string::npos) << e.what();
    EXPECT_EQ(retries.load(), 0);
}

TEST(tls_messages, a_certificate_signed_by_a_trusted_ca_is_accepted) {
    vow::http::client c(trusting(ca_signed_server()));
    auto f = c.get(ca_signed_server().https_url("/bytes/10"));
    ASSERT_TRUE(f.wait_for(20s));
    EXPECT_EQ(std::move(f).get().body, loopback_server::body(10));
}

TEST(tls_messages, an_expired_certificate_is_named_as_expired_and_not_retried) {
    vow::http::client c(trusting(expired_server()));
    vow::http::request_options o;
    o.retry = vow::http::retry_policy(3);
    std::atomic<int> retries{0};
    o.retry->on_retry = [&](int, const std::exception_ptr&, vow::timer::duration) { ++retries; };
    auto e = failure_of<vow::http::tls_verify_error>(c.get(expired_server().https_url("/bytes/10"), o));
    EXPECT_EQ(e.verify_result(), X509_V_ERR_CERT_HAS_EXPIRED) << e.what();
    EXPECT_NE(std::string(e.what()).find("expired"), std::string::npos) << e.what();
    EXPECT_EQ(retries.load(), 0);
}

TEST(tls_messages, an_expired_certificate_fails_a_download_and_leaves_no_file) {
    vow::http::client c(trusting(expired_server()));
    auto dir = std::filesystem::temp_directory_path() / ("vow-tls-expired-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto e = failure_of<vow::http::tls_verify_error>(c.download(expired_server().https_url("/bytes/10"), dir / "f"));
    EXPECT_EQ(e.verify_result(), X509_V_ERR_CERT_HAS_EXPIRED) << e.what();
    EXPECT_FALSE(std::filesystem::exists(dir / "f"));
    EXPECT_FALSE(std::filesystem::exists(dir / "f.part"));
    std::filesystem::remove_all(dir);
}

TEST(tls_messages, tls_to_a_plain_http_port_says_the_handshake_failed) {
    vow::http::client c(trusting());
    auto url = server().http_url("/bytes/10");
    url.replace(0, 4, "https");
    auto e = failure_of<vow::error>(c.get(url));
    EXPECT_NE(std::string(e.what()).find("TLS handshake failed"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("connect timeout"), std::string::npos) << e.what();
}

}  // namespace
