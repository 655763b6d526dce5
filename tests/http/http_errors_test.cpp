#include "vow/http/errors.hpp"

#include <gtest/gtest.h>

#include "vow/http/retry.hpp"

namespace {

using namespace std::chrono_literals;
using vow::http::parse_retry_after;

std::chrono::system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s) {
    using namespace std::chrono;
    return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

TEST(errors, retry_after_accepts_delta_seconds) {
    auto now = std::chrono::system_clock::now();
    EXPECT_EQ(parse_retry_after("120", now), 120s);
    EXPECT_EQ(parse_retry_after(" 0 ", now), 0s);
}

TEST(errors, retry_after_accepts_an_http_date_relative_to_now) {
    auto now = at(2026, 11, 22, 8, 0, 0);
    EXPECT_EQ(parse_retry_after("Sun, 22 Nov 2026 08:01:30 GMT", now), 90s);
    EXPECT_EQ(parse_retry_after("Sun, 22 Nov 2026 07:00:00 GMT", now), 0s) << "a past date means now";
}

TEST(errors, retry_after_saturates_instead_of_overflowing) {
    auto now = std::chrono::system_clock::now();
    EXPECT_EQ(parse_retry_after("10000000000", now), 10000000000s);
    EXPECT_EQ(parse_retry_after("99999999999999999999999999", now), std::chrono::seconds::max());
    auto far = parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now);
    ASSERT_TRUE(far);
    EXPECT_GT(*far, 200'000'000'000s) << "a date in year 9999 is far ahead, not wrapped into the past";
}

TEST(errors, a_huge_retry_after_becomes_the_largest_delay_and_the_policy_caps_it) {
    for (const char* huge : {"10000000000", "99999999999999999999999999"}) {
        vow::http::header_map headers;
        headers.add("Retry-After", huge);
        auto e = std::make_exception_ptr(vow::http::status_error(503, "Busy", headers, "http://h/"));
        auto hint = vow::http::retry_after_hint(e);
        ASSERT_TRUE(hint) << huge;
        EXPECT_EQ(*hint, vow::timer::duration::max()) << huge;
        auto policy = vow::http::retry_policy();
        EXPECT_EQ(std::min(*hint, policy.max_delay), std::chrono::duration_cast<vow::timer::duration>(30s));
    }
}

TEST(errors, printable_text_replaces_c0_and_c1_controls_raw_or_encoded_and_keeps_other_utf8) {
    using vow::http::printable_text;
    EXPECT_EQ(printable_text("plain text"), "plain text");
    EXPECT_EQ(printable_text("a\x1b[31mb\r\n\x7f"), "a?[31mb???");
    EXPECT_EQ(printable_text("a\x9b" "31m"), "a?31m") << "raw C1 (CSI to an 8-bit terminal)";
    EXPECT_EQ(printable_text("a\xc2\x9b" "31m"), "a?31m") << "U+009B, CSI to a UTF-8 terminal";
    EXPECT_EQ(printable_text("\xc2\x80\xc2\x9f\xc2\xa0"), "??\xc2\xa0") << "U+0080-U+009F only";
    EXPECT_EQ(printable_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")
        << "continuation bytes 0x80-0x9f inside valid UTF-8 are kept";
    EXPECT_EQ(printable_text("\xe2\x82"), "\xe2?") << "a cut sequence: its C1-range byte goes";
    EXPECT_EQ(printable_text("\xc0\x9b"), "\xc0?") << "an overlong form is not UTF-8";
}

TEST(errors, a_status_errors_message_never_carries_control_characters_from_the_server) {
    vow::http::status_error e(500, "Bad\x1b[2J\x9b" "1m\xc2\x9b" "2m", {}, "http://h/");
    EXPECT_EQ(std::string(e.what()), "HTTP 500 Bad?[2J?1m?2m from http://h/");
}

TEST(errors, retry_after_rejects_garbage) {
    auto now = std::chrono::system_clock::now();
    EXPECT_FALSE(parse_retry_after("", now));
    EXPECT_FALSE(parse_retry_after("soon", now));
    EXPECT_FALSE(parse_retry_after("-5", now));
    EXPECT_FALSE(parse_retry_after("1.5", now));
    EXPECT_FALSE(parse_retry_after("Sun, 32 Nov 2026 08:01:30 GMT", now));
    EXPECT_FALSE(parse_retry_after("Sun, 22 Foo 2026 08:01:30 GMT", now));
}

TEST(errors, status_error_says_status_reason_and_url) {
    vow::http::header_map h;
    h.add("retry-after", "3");
    vow::http::status_error e(503, "Service Unavailable", h, "http://x/y");
    EXPECT_STREQ(e.what(), "HTTP 503 Service Unavailable from http://x/y");
    EXPECT_EQ(e.retry_after(), 3s);
    EXPECT_EQ(e.headers().find("Retry-After").value_or(""), "3");
}

TEST(errors, every_http_error_is_a_vow_error) {
    auto catches = [](auto e) {
        try {
            throw e;
        } catch (const vow::error&) {
            return true;
        }
    };
    EXPECT_TRUE(catches(vow::http::invalid_url("u")));
    EXPECT_TRUE(catches(vow::http::protocol_error("p")));
    EXPECT_TRUE(catches(vow::http::body_limit_error("b")));
    EXPECT_TRUE(catches(vow::http::redirect_error("r")));
    EXPECT_TRUE(catches(vow::http::transport_error(std::make_error_code(std::errc::connection_reset), "t")));
    EXPECT_TRUE(catches(vow::http::checksum_error("a", "b")));
    EXPECT_TRUE(catches(vow::http::file_error(std::make_error_code(std::errc::no_space_on_device), "f")));
}

TEST(errors, the_retry_policy_retries_what_may_succeed_next_time) {
    auto status = [](unsigned s) {
        return std::make_exception_ptr(vow::http::status_error(s, "", {}, "u"));
    };
    for (unsigned s : {408u, 429u, 500u, 502u, 503u, 504u}) EXPECT_TRUE(vow::http::is_retryable(status(s))) << s;
    for (unsigned s : {400u, 401u, 403u, 404u, 501u}) EXPECT_FALSE(vow::http::is_retryable(status(s))) << s;
    EXPECT_TRUE(vow::http::is_retryable(std::make_exception_ptr(vow::timeout_error("idle timeout"))));
    EXPECT_TRUE(vow::http::is_retryable(
        std::make_exception_ptr(vow::http::transport_error(std::make_error_code(std::errc::connection_reset), "r"))));
    EXPECT_FALSE(vow::http::is_retryable(std::make_exception_ptr(vow::http::protocol_error("garbage"))));
    EXPECT_FALSE(vow::http::is_retryable(std::make_exception_ptr(vow::cancelled_error())));
    EXPECT_FALSE(vow::http::is_retryable(std::make_exception_ptr(vow::http::checksum_error("a", "b"))));
}

TEST(errors, the_retry_policy_takes_its_delay_from_retry_after) {
    vow::http::header_map h;
    h.add("Retry-After", "4");
    auto e = std::make_exception_ptr(vow::http::status_error(503, "", h, "u"));
    auto p = vow::http::retry_policy();
    ASSERT_TRUE(p.delay_hint);
    EXPECT_EQ(p.delay_hint(e), std::chrono::duration_cast<vow::timer::duration>(4s));
    EXPECT_FALSE(p.delay_hint(std::make_exception_ptr(vow::timeout_error())));
}

TEST(errors, non_idempotent_methods_get_a_policy_that_never_retries) {
    auto e = std::make_exception_ptr(vow::timeout_error());
    EXPECT_TRUE(vow::http::retry_policy(4, "GET").retry_if(e));
    EXPECT_TRUE(vow::http::retry_policy(4, "PUT").retry_if(e));
    EXPECT_FALSE(vow::http::retry_policy(4, "POST").retry_if(e));
    EXPECT_FALSE(vow::http::retry_policy(4, "PATCH").retry_if(e));
}

}  // namespace
