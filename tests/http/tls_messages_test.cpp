// What a TLS failure says: the certificate's reason (self-signed, host-name
// mismatch, ...) as a tls_verify_error that is not retried, and a handshake
// with a plain-HTTP port named as such. Runs against the loopback server,
// whose certificate is self-signed for 127.0.0.1 and localhost.
#include "vow/http/client.hpp"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include <atomic>
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

TEST(tls_messages, tls_to_a_plain_http_port_says_the_handshake_failed) {
    vow::http::client c(trusting());
    auto url = server().http_url("/bytes/10");
    url.replace(0, 4, "https");
    auto e = failure_of<vow::error>(c.get(url));
    EXPECT_NE(std::string(e.what()).find("TLS handshake failed"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("connect timeout"), std::string::npos) << e.what();
}

}  // namespace
