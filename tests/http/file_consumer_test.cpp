// file_consumer (src/http/consumers.hpp) driven directly, for what the
// loopback server cannot time or serve: the .part changing between the
// request and its response, and answers that disagree with the .part.meta.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "../../src/http/consumers.hpp"
#include "vow/http/errors.hpp"

namespace {

namespace fs = std::filesystem;
using vow::http::detail::body_consumer;
using vow::http::detail::file_consumer;
using vow::http::detail::part_file;
using vow::http::detail::part_meta;
using vow::http::detail::part_range;
using vow::http::detail::response_head;
using vow::http::detail::target_url;

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

constexpr const char* the_url = "http://127.0.0.1/f.bin";

class file_consumer_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("vow_file_consumer_test_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        std::ofstream(dir_ / "f.bin.part", std::ios::binary) << std::string(100, 'x');
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Records a .part.meta for the 100 bytes of f.bin.part.
    void record(part_meta meta) {
        part_file part(dir_ / "f.bin");
        part.existing_size();
        part.open(true, std::move(meta), false);  // no expected size: the meta is written at once
        part.close();
    }

    // The request headers the consumer sends for the .part there.
    boost::beast::http::fields request(file_consumer& consumer) {
        boost::beast::http::fields fields;
        consumer.add_request_headers(fields);
        return fields;
    }

    static response_head head(unsigned status, const char* content_range) {
        response_head h;
        h.status = status;
        h.headers.add("Content-Range", content_range);
        return h;
    }

    static target_url url() {
        target_url u;
        u.text = the_url;
        return u;
    }

    // Sends the request headers (a Range for the 100 bytes there), then lets
    // `meanwhile` touch the .part before the response head arrives.
    template <class F>
    void answer_after(unsigned status, const char* content_range, F meanwhile) {
        file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
        ASSERT_EQ(request(consumer)[boost::beast::http::field::range], "bytes=100-");
        meanwhile();
        EXPECT_THROW(consumer.on_head(head(status, content_range), url()), vow::http::file_error);
    }

    fs::path dir_;
};

// never_replace(): a file that appeared at the final name while the body
// came stays, and the download stays as the .part with its meta, to resume.
// A known small length makes an unnamed file (where the file system has
// O_TMPFILE); an unknown one, a named .part.
TEST_F(file_consumer_test, a_file_that_appears_at_the_final_name_is_not_replaced_when_told_so) {
    for (std::optional<std::uint64_t> length : {std::optional<std::uint64_t>(5), std::optional<std::uint64_t>()}) {
        const fs::path final_path = dir_ / "new.bin";
        fs::remove(final_path);
        fs::remove(dir_ / "new.bin.part");
        fs::remove(dir_ / "new.bin.part.meta");
        part_file part(final_path);
        part.never_replace();
        part.known_absent();
        part.open(false, part_meta{the_url, "\"v1\"", length, {}}, false, length);
        part.write("hello", 5);
        std::ofstream(final_path) << "mine";
        try {
            part.commit();
            ADD_FAILURE() << "commit replaced the file";
        } catch (const vow::http::file_error& e) {
            EXPECT_EQ(e.code(), std::make_error_code(std::errc::file_exists)) << e.what();
        }
        EXPECT_EQ(read_file(final_path), "mine");
        EXPECT_EQ(read_file(dir_ / "new.bin.part"), "hello");
        auto stored = part_file(final_path).stored_meta();
        ASSERT_TRUE(stored) << "the .part resumes";
        EXPECT_EQ(stored->url, the_url);
    }
}

TEST_F(file_consumer_test, by_default_a_file_at_the_final_name_is_replaced) {
    part_file part(dir_ / "new.bin");
    part.known_absent();
    part.open(false, part_meta{the_url, std::nullopt, 5, {}}, false, 5);
    part.write("hello", 5);
    std::ofstream(dir_ / "new.bin") << "mine";
    part.commit();
    EXPECT_EQ(read_file(dir_ / "new.bin"), "hello");
    EXPECT_FALSE(fs::exists(dir_ / "new.bin.part"));
}

TEST_F(file_consumer_test, a_206_for_a_part_file_removed_meanwhile_is_a_file_error) {
    record({the_url, "\"v\"", 200, {}});
    answer_after(206, "bytes 100-199/200", [&] { fs::remove(dir_ / "f.bin.part"); });
    EXPECT_FALSE(fs::exists(dir_ / "f.bin"));
}

TEST_F(file_consumer_test, a_416_for_a_part_file_that_grew_meanwhile_is_a_file_error) {
    record({the_url, "\"v\"", 100, {}});
    answer_after(416, "bytes */100", [&] {
        std::ofstream(dir_ / "f.bin.part", std::ios::binary | std::ios::app) << "more";
    });
    EXPECT_FALSE(fs::exists(dir_ / "f.bin"));
}

TEST_F(file_consumer_test, a_part_with_matching_meta_is_asked_for_with_its_range_and_validator) {
    record({the_url, "\"v\"", 200, {}});
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    auto fields = request(consumer);
    EXPECT_EQ(fields[boost::beast::http::field::range], "bytes=100-");
    EXPECT_EQ(fields[boost::beast::http::field::if_range], "\"v\"");
}

TEST_F(file_consumer_test, a_part_without_meta_is_a_foreign_leftover_and_is_asked_for_from_byte_0) {
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    EXPECT_EQ(request(consumer).count(boost::beast::http::field::range), 0u);
}

TEST_F(file_consumer_test, a_part_of_another_url_is_asked_for_from_byte_0) {
    record({"http://127.0.0.1/other.bin", "\"v\"", 200, {}});
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    EXPECT_EQ(request(consumer).count(boost::beast::http::field::range), 0u);
}

TEST_F(file_consumer_test, a_part_longer_than_its_recorded_total_is_asked_for_from_byte_0) {
    record({the_url, "\"v\"", 50, {}});
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    EXPECT_EQ(request(consumer).count(boost::beast::http::field::range), 0u);
}

TEST_F(file_consumer_test, a_416_is_not_taken_as_complete_when_the_recorded_total_differs) {
    record({the_url, "\"v\"", 200, {}});
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    request(consumer);
    EXPECT_EQ(consumer.on_head(head(416, "bytes */100"), url()), body_consumer::verdict::restart);
    EXPECT_FALSE(fs::exists(dir_ / "f.bin.part"));
    EXPECT_FALSE(fs::exists(dir_ / "f.bin"));
}

TEST_F(file_consumer_test, a_416_is_not_taken_as_complete_when_the_validator_differs) {
    record({the_url, "\"v\"", 100, {}});
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    request(consumer);
    auto h = head(416, "bytes */100");
    h.headers.add("ETag", "\"w\"");
    EXPECT_EQ(consumer.on_head(h, url()), body_consumer::verdict::restart);
    EXPECT_FALSE(fs::exists(dir_ / "f.bin.part"));
}

TEST_F(file_consumer_test, a_416_matching_the_recorded_total_and_validator_completes_the_part) {
    record({the_url, "\"v\"", 100, {}});
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    request(consumer);
    auto h = head(416, "bytes */100");
    h.headers.add("ETag", "\"v\"");
    EXPECT_EQ(consumer.on_head(h, url()), body_consumer::verdict::read_body);
    consumer.on_end(url());
    EXPECT_EQ(fs::file_size(dir_ / "f.bin"), 100u);
    EXPECT_FALSE(fs::exists(dir_ / "f.bin.part.meta"));
}

TEST_F(file_consumer_test, a_206_with_a_total_other_than_the_recorded_one_restarts) {
    record({the_url, "\"v\"", 200, {}});
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    request(consumer);
    EXPECT_EQ(consumer.on_head(head(206, "bytes 100-299/300"), url()), body_consumer::verdict::restart);
    EXPECT_FALSE(fs::exists(dir_ / "f.bin.part"));
}

// --- .part.meta format 2 (segmented downloads) -----------------------------

TEST_F(file_consumer_test, a_format_2_meta_records_each_range_and_reads_back_the_same) {
    part_file part(dir_ / "f.bin");
    part.existing_size();
    part.open_positioned(true, part_meta{the_url, "\"v\"", 200, {{0, 60, 10}, {60, 200, 40}}});
    part.close();
    auto text = read_file(dir_ / "f.bin.part.meta");
    EXPECT_EQ(text, "vow-part-meta 2\nurl http://127.0.0.1/f.bin\nvalidator \"v\"\ntotal 200\n"
                    "range 0 60 10\nrange 60 200 40\n");
    auto stored = part.stored_meta();
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->ranges, (std::vector<part_range>{{0, 60, 10}, {60, 200, 40}}));
    EXPECT_EQ(stored->total, 200u);
}

TEST_F(file_consumer_test, a_format_1_meta_still_reads_with_no_ranges) {
    std::ofstream(dir_ / "f.bin.part.meta") << "vow-part-meta 1\nurl " << the_url << "\nvalidator \"v\"\ntotal 200\n";
    auto stored = part_file(dir_ / "f.bin").stored_meta();
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->url, the_url);
    EXPECT_TRUE(stored->ranges.empty());
}

TEST_F(file_consumer_test, format_2_ranges_that_leave_a_gap_overlap_or_claim_too_much_are_not_read) {
    for (const char* ranges : {"range 0 60 10\nrange 70 200 0\n", "range 0 60 10\nrange 50 200 0\n",
                               "range 0 60 61\nrange 60 200 0\n", "range 0 60 10\n", "",
                               "range 0 60 x\nrange 60 200 0\n"}) {
        std::ofstream(dir_ / "f.bin.part.meta") << "vow-part-meta 2\nurl " << the_url << "\ntotal 200\n" << ranges;
        EXPECT_FALSE(part_file(dir_ / "f.bin").stored_meta()) << ranges;
    }
}

TEST_F(file_consumer_test, a_part_of_a_segmented_download_is_not_continued_as_one_prefix) {
    record({the_url, "\"v\"", 200, {{0, 100, 50}, {100, 200, 50}}});
    file_consumer consumer(dir_ / "f.bin", the_url, true, std::nullopt);
    EXPECT_EQ(request(consumer).count(boost::beast::http::field::range), 0u);
}

}  // namespace
