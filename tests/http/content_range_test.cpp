// Content-Range parsing and the checks a 206 must pass to continue a .part.
#include "../../src/http/content_range.hpp"

#include <gtest/gtest.h>

#include "vow/http/errors.hpp"

namespace {

using namespace vow::http::detail;

const std::string url = "http://example.test/f";

TEST(content_range, the_three_forms_parse) {
    auto r = parse_content_range("bytes 10-19/100");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, 10u);
    EXPECT_EQ(r->last, 19u);
    EXPECT_EQ(r->total, 100u);
    auto open_total = parse_content_range("bytes 10-19/*");
    ASSERT_TRUE(open_total);
    EXPECT_FALSE(open_total->total);
    auto unsatisfied = parse_content_range("bytes */100");
    ASSERT_TRUE(unsatisfied);
    EXPECT_FALSE(unsatisfied->first);
    EXPECT_EQ(unsatisfied->total, 100u);
    auto largest = parse_content_range("bytes 0-18446744073709551614/18446744073709551615");
    ASSERT_TRUE(largest);
}

TEST(content_range, malformed_or_inconsistent_values_do_not_parse) {
    for (const char* bad : {"", "bytes", "bytes ", "bytes 1-2", "items 1-2/3", "bytes 1-/3", "bytes -2/3",
                            "bytes 2-1/3", "bytes 1-3/3", "bytes */*", "bytes 1-2/x", "bytes +1-2/3",
                            "bytes 1-2/18446744073709551616", "bytes 1 -2/3", "bytes 1-2/3 "}) {
        EXPECT_FALSE(parse_content_range(bad)) << bad;
    }
}

TEST(content_range, a_206_that_continues_at_the_offset_to_the_end_gives_the_total) {
    EXPECT_EQ(check_partial_response("bytes 1000-9999/10000", 1000, 9000, std::nullopt, url), 10000u);
    EXPECT_EQ(check_partial_response("bytes 1000-9999/10000", 1000, std::nullopt, 10000, url), 10000u);
}

std::string failure(const std::optional<std::string>& value, std::uint64_t asked_from,
                    std::optional<std::uint64_t> length, std::optional<std::uint64_t> known) {
    try {
        check_partial_response(value, asked_from, length, known, url);
    } catch (const vow::http::protocol_error& e) {
        return e.what();
    }
    return "no error";
}

TEST(content_range, a_206_that_does_not_fit_the_resume_is_a_protocol_error) {
    EXPECT_NE(failure(std::nullopt, 10, std::nullopt, std::nullopt).find("does not say which bytes"),
              std::string::npos);
    EXPECT_NE(failure("bytes 11-99/100", 10, 89, std::nullopt).find("does not continue at byte 10"),
              std::string::npos);
    EXPECT_NE(failure("bytes 30000-30999/100000", 30000, 1000, std::nullopt).find("ends before the last byte"),
              std::string::npos);
    EXPECT_NE(failure("bytes 10-99/*", 10, 90, std::nullopt).find("no total size"), std::string::npos);
    EXPECT_NE(failure("bytes 10-99/100", 10, 90, 200).find("other than the 200 bytes known before"),
              std::string::npos);
    EXPECT_NE(failure("bytes 10-99/100", 10, 80, std::nullopt).find("Content-Length of 80"), std::string::npos);
}

}  // namespace
