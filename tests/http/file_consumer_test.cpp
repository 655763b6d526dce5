// file_consumer (src/http/consumers.hpp) driven directly, for what the
// loopback server cannot time: the .part changing between the request and
// its response.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../../src/http/consumers.hpp"
#include "vow/http/errors.hpp"

namespace {

namespace fs = std::filesystem;
using vow::http::detail::file_consumer;
using vow::http::detail::response_head;
using vow::http::detail::target_url;

class file_consumer_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("vow_file_consumer_test_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        std::ofstream(dir_ / "f.bin.part", std::ios::binary) << std::string(100, 'x');
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Sends the request headers (a Range for the 100 bytes there), then lets
    // `meanwhile` touch the .part before the response head arrives.
    template <class F>
    void answer_after(unsigned status, const char* content_range, F meanwhile) {
        file_consumer consumer(dir_ / "f.bin", true, std::nullopt);
        boost::beast::http::fields fields;
        consumer.add_request_headers(fields);
        ASSERT_EQ(fields[boost::beast::http::field::range], "bytes=100-");
        meanwhile();
        response_head head;
        head.status = status;
        head.headers.add("Content-Range", content_range);
        target_url url;
        url.text = "http://127.0.0.1/f.bin";
        EXPECT_THROW(consumer.on_head(head, url), vow::http::file_error);
    }

    fs::path dir_;
};

TEST_F(file_consumer_test, a_206_for_a_part_file_removed_meanwhile_is_a_file_error) {
    answer_after(206, "bytes 100-199/200", [&] { fs::remove(dir_ / "f.bin.part"); });
    EXPECT_FALSE(fs::exists(dir_ / "f.bin"));
}

TEST_F(file_consumer_test, a_416_for_a_part_file_that_grew_meanwhile_is_a_file_error) {
    answer_after(416, "bytes */100", [&] {
        std::ofstream(dir_ / "f.bin.part", std::ios::binary | std::ios::app) << "more";
    });
    EXPECT_FALSE(fs::exists(dir_ / "f.bin"));
}

}  // namespace
