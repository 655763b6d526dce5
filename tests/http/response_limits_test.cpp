// The fixed response limits and the checks that need no socket.
#include "../../src/http/response_limits.hpp"

#include <gtest/gtest.h>

#include <string>

#include "vow/http/errors.hpp"

namespace {

using namespace vow::http::detail;

const std::string url = "http://example.test/f";

TEST(response_limits, a_reason_phrase_up_to_the_limit_passes_and_one_byte_more_fails) {
    EXPECT_NO_THROW(check_reason_phrase(std::string(reason_limit, 'r'), url));
    EXPECT_THROW(check_reason_phrase(std::string(reason_limit + 1, 'r'), url), vow::http::protocol_error);
}

TEST(response_limits, a_location_up_to_the_limit_passes_and_one_byte_more_fails) {
    EXPECT_NO_THROW(check_location(std::string(location_limit, 'l'), url));
    try {
        check_location(std::string(location_limit + 1, 'l'), url);
        ADD_FAILURE() << "no error";
    } catch (const vow::http::protocol_error& e) {
        EXPECT_NE(std::string(e.what()).find("Location"), std::string::npos) << e.what();
    }
}

TEST(response_limits, interim_responses_up_to_the_limit_pass) {
    EXPECT_NO_THROW(check_informational_count(informational_limit, url));
    EXPECT_THROW(check_informational_count(informational_limit + 1, url), vow::http::protocol_error);
}

TEST(response_limits, an_unfinished_chunk_line_is_named_as_the_chunk_size_line) {
    const std::string ext = "10;name=" + std::string(100, 'e');
    EXPECT_NE(chunk_framing_overflow(ext, url).find("chunk-size line with its extensions"), std::string::npos);
    // After the CRLF that ends the previous chunk's data, too.
    EXPECT_NE(chunk_framing_overflow("\r\n" + ext, url).find("chunk-size line"), std::string::npos);
}

TEST(response_limits, a_last_chunk_followed_by_fields_is_named_as_the_trailer_section) {
    for (std::string last : {"0", "000", "0;ext=1"}) {
        for (std::string before : {"", "\r\n"}) {
            auto text = chunk_framing_overflow(before + last + "\r\nX-Pad: aaaa\r\nX-Pad: aaa", url);
            EXPECT_NE(text.find("trailer section"), std::string::npos) << last << ": " << text;
        }
    }
}

TEST(response_limits, a_complete_line_of_a_nonzero_chunk_is_not_called_a_trailer) {
    EXPECT_EQ(chunk_framing_overflow("1a\r\nabc", url).find("trailer"), std::string::npos);
}

}  // namespace
