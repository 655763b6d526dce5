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

TEST(parse_url, leading_zeros_in_a_port_give_the_same_origin) {
    EXPECT_EQ(parse_url("http://h:0080/").origin(), parse_url("http://h:80/").origin());
}

}  // namespace
