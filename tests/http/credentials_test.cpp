// user:password@ in a URL: sent as Basic authentication, never shown. Runs
// against the loopback server, whose /echo-headers returns the request's headers.
#include "vow/http/client.hpp"

#include <gtest/gtest.h>

#include <string>

#include "vow/http/errors.hpp"
#include "vow/http/headers.hpp"
#include "vow/http/loopback_server.hpp"

namespace {

using namespace std::chrono_literals;
using vow::http::loopback_server;

loopback_server& server() {
    static loopback_server s(loopback_server::options{.tls = false});
    return s;
}

// http://user:s3cr3t@127.0.0.1:PORT<target>
std::string with_credentials(const std::string& target) {
    auto url = server().http_url(target);
    return url.replace(url.find("://") + 3, 0, "user:s3cr3t@");
}

TEST(credentials, user_and_password_in_the_url_are_sent_as_basic_authentication) {
    vow::http::client client;
    auto f = client.get(with_credentials("/echo-headers"));
    ASSERT_TRUE(f.wait_for(20s));
    auto r = std::move(f).get();
    // base64("user:s3cr3t")
    EXPECT_NE(r.body.find("Authorization: Basic dXNlcjpzM2NyM3Q="), std::string::npos) << r.body;
    EXPECT_EQ(r.url.find("s3cr3t"), std::string::npos) << r.url;
}

TEST(credentials, an_authorization_header_of_the_caller_wins_over_the_urls) {
    vow::http::client client;
    vow::http::request_options o;
    o.headers.emplace_back("Authorization", "Bearer token");
    auto f = client.get(with_credentials("/echo-headers"), o);
    ASSERT_TRUE(f.wait_for(20s));
    auto r = std::move(f).get();
    EXPECT_NE(r.body.find("Authorization: Bearer token"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("Basic"), std::string::npos) << r.body;
}

TEST(credentials, basic_authorization_is_the_value_a_urls_credentials_send) {
    EXPECT_EQ(vow::http::basic_authorization("user", "s3cr3t"), "Basic dXNlcjpzM2NyM3Q=");
    EXPECT_EQ(vow::http::basic_authorization("bob", ""), "Basic Ym9iOg==");
    // The password is everything after the user's ':' — a ':' in it is kept.
    EXPECT_EQ(vow::http::basic_authorization("alice", "s3cret:x"), "Basic YWxpY2U6czNjcmV0Ong=");
}

TEST(credentials, basic_authorization_in_the_headers_is_sent_as_given) {
    vow::http::client client;
    vow::http::request_options o;
    o.headers.emplace_back("Authorization", vow::http::basic_authorization("user", "s3cr3t"));
    auto f = client.get(server().http_url("/echo-headers"), o);
    ASSERT_TRUE(f.wait_for(20s));
    auto r = std::move(f).get();
    EXPECT_NE(r.body.find("Authorization: Basic dXNlcjpzM2NyM3Q="), std::string::npos) << r.body;
}

TEST(credentials, error_messages_show_the_url_with_the_password_hidden) {
    vow::http::client client;
    auto f = client.get(with_credentials("/status/404"));
    ASSERT_TRUE(f.wait_for(20s));
    try {
        std::move(f).get();
        FAIL() << "no status_error";
    } catch (const vow::http::status_error& e) {
        EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("user:***@"), std::string::npos) << e.what();
        EXPECT_EQ(e.url().find("s3cr3t"), std::string::npos) << e.url();
    }
}

TEST(credentials, a_relative_redirect_keeps_the_credentials_for_the_same_origin) {
    vow::http::client client;
    auto f = client.get(with_credentials("/redirect-relative?to=/echo-headers"));
    ASSERT_TRUE(f.wait_for(20s));
    auto r = std::move(f).get();
    EXPECT_NE(r.body.find("Authorization: Basic dXNlcjpzM2NyM3Q="), std::string::npos) << r.body;
}

}  // namespace
