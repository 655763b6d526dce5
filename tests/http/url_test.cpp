// parse_url (src/http/url.hpp): what a URL must be before anything connects.
#include "../../src/http/url.hpp"

#include <gtest/gtest.h>

#include "vow/http/errors.hpp"

namespace {

using vow::http::detail::parse_url;

TEST(parse_url, ports_from_1_to_65535_are_accepted) {
    EXPECT_EQ(parse_url("http://h:1/").port, "1");
    EXPECT_EQ(parse_url("http://h:65535/").port, "65535");
    EXPECT_EQ(parse_url("http://h:8080/x").port, "8080");
    EXPECT_EQ(parse_url("https://h/").port, "443");
}

TEST(parse_url, a_port_outside_1_to_65535_is_invalid_url_not_wrapped) {
    for (const char* bad : {"http://h:0/", "http://h:65536/", "http://h:99999/", "http://h:4294967377/",
                            "http://h:99999999999999999999999/", "http://h:/"}) {
        EXPECT_THROW(parse_url(bad), vow::http::invalid_url) << bad;
    }
}

// Found by fuzz_url: the parser took "[::1]" as the host and "44:83/x" as the
// path, and the request line would have been "GET 44:83/x".
TEST(parse_url, text_after_an_ipv6_literal_that_is_not_a_port_is_invalid_url) {
    EXPECT_THROW(parse_url("https://[::1]44:83/x%20y"), vow::http::invalid_url);
    EXPECT_EQ(parse_url("https://[::1]:8443/x").target, "/x");
    EXPECT_EQ(parse_url("https://[::1]").target, "/");
}

TEST(parse_url, leading_zeros_in_a_port_give_the_same_origin) {
    EXPECT_EQ(parse_url("http://h:0080/").origin(), parse_url("http://h:80/").origin());
}

using vow::http::detail::redacted;

TEST(parse_url, user_and_password_become_basic_authentication_percent_decoded) {
    auto t = parse_url("http://us%40er:p%3Ass@h/x");
    // base64("us@er:p:ss")
    EXPECT_EQ(t.authorization, "Basic dXNAZXI6cDpzcw==");
    auto plain = parse_url("http://h/x");
    EXPECT_EQ(plain.authorization, "");
}

TEST(parse_url, the_text_of_a_url_hides_its_password) {
    auto t = parse_url("https://user:s3cr3t@h:8443/x?q=1");
    EXPECT_EQ(t.text, "https://user:***@h:8443/x?q=1");
    EXPECT_EQ(t.text.find("s3cr3t"), std::string::npos);
}

TEST(parse_url, an_invalid_url_does_not_repeat_its_password) {
    try {
        parse_url("http://user:s3cr3t@h:99999/");
        FAIL() << "no invalid_url";
    } catch (const vow::http::invalid_url& e) {
        EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
    }
}

TEST(redacted, replaces_only_the_password) {
    EXPECT_EQ(redacted("http://u:p@h/a:b@c"), "http://u:***@h/a:b@c");
    EXPECT_EQ(redacted("http://u@h/"), "http://u@h/");
    EXPECT_EQ(redacted("http://h:80/x@y"), "http://h:80/x@y");
    EXPECT_EQ(redacted("http://[::1]:80/"), "http://[::1]:80/");
    EXPECT_EQ(redacted("http://u:p:q@[::1]:80/"), "http://u:***@[::1]:80/");
    EXPECT_EQ(redacted("not a url"), "not a url");
}

}  // namespace
