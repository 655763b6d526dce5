// A file already at a download's path: request_options::if_exists replaces
// it (the default), fails, or keeps it, skipping the download when a HEAD
// shows the file complete (size, and the validator recorded when a download
// completed it) and saving the new file as NAME.1 otherwise. Runs against
// the loopback server, whose /bytes/N?etag=S serves the same bytes as
// another version.
#include "vow/http/client.hpp"

#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "http_test_support.hpp"
#include "vow/http/errors.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/http/retry.hpp"

namespace {

namespace fs = std::filesystem;
using vow::http::existing_file_policy;
using vow::http::loopback_server;
using namespace vow_http_test;

loopback_server& server() {
    static loopback_server s;
    return s;
}

std::string key() {
    static std::atomic<int> n{0};
    return "existing-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

class existing_file : public ::testing::Test {
protected:
    void SetUp() override {
        std::string templ = (fs::temp_directory_path() / "vow-existing-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Whether the folder takes user extended attributes (where a validator is recorded).
    bool records_validators() const {
        fs::path probe = dir_ / ".probe";
        std::ofstream(probe) << "x";
        bool ok = ::setxattr(probe.c_str(), "user.vow.probe", "1", 1, 0) == 0;
        fs::remove(probe);
        return ok;
    }

    static vow::http::request_options with(existing_file_policy policy) {
        vow::http::request_options o;
        o.if_exists = policy;
        return o;
    }

    vow::http::client client_;
    fs::path dir_;
};

TEST_F(existing_file, replace_is_the_default_and_replaces_the_file) {
    std::ofstream(dir_ / "f") << "mine";
    auto r = get_within(client_.download(server().http_url("/bytes/1000"), dir_ / "f"));
    EXPECT_EQ(r.path, dir_ / "f");
    EXPECT_FALSE(r.already_complete);
    EXPECT_EQ(read_file(dir_ / "f"), loopback_server::body(1000));
}

TEST_F(existing_file, fail_is_a_file_error_that_sends_nothing_and_leaves_the_file) {
    std::ofstream(dir_ / "f") << "mine";
    const auto k = key();
    auto e = failure_of<vow::http::file_error>(
        client_.download(server().http_url("/bytes/1000?key=" + k), dir_ / "f", with(existing_file_policy::fail)));
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::file_exists)) << e.what();
    EXPECT_EQ(server().requests_with_key(k), 0u);
    EXPECT_EQ(read_file(dir_ / "f"), "mine");
}

TEST_F(existing_file, fail_and_keep_download_as_usual_when_nothing_is_there) {
    auto a = get_within(client_.download(server().http_url("/bytes/100"), dir_ / "a", with(existing_file_policy::fail)));
    auto b = get_within(client_.download(server().http_url("/bytes/100"), dir_ / "b", with(existing_file_policy::keep)));
    EXPECT_EQ(a.path, dir_ / "a");
    EXPECT_EQ(b.path, dir_ / "b");
    EXPECT_EQ(read_file(dir_ / "a"), loopback_server::body(100));
    EXPECT_EQ(read_file(dir_ / "b"), loopback_server::body(100));
}

// A file that appears at the path between an attempt cut short and its
// retry: the retry looks first and fails at once (file_error), without
// fetching the rest; what came so far stays as the .part, and completes
// once the file is gone.
TEST_F(existing_file, fail_and_keep_stop_a_retry_when_a_file_came_to_the_path) {
    for (auto policy : {existing_file_policy::fail, existing_file_policy::keep}) {
        const fs::path path = dir_ / (policy == existing_file_policy::fail ? "f" : "k");
        const auto k = key();
        const std::string target = "/bytes/5000?short_after=1000&faults=1&key=" + k;
        auto o = with(policy);
        o.retry = vow::http::retry_policy(2);
        o.retry->initial_delay = std::chrono::milliseconds(1);
        o.retry->on_retry = [&](int, const std::exception_ptr&, vow::timer::duration) { std::ofstream(path) << "mine"; };
        auto e = failure_of<vow::http::file_error>(client_.download(server().http_url(target), path, o));
        EXPECT_EQ(e.code(), std::make_error_code(std::errc::file_exists)) << e.what();
        EXPECT_EQ(server().requests_with_key(k), 1u) << "only the first attempt reached the server";
        EXPECT_EQ(read_file(path), "mine");
        EXPECT_EQ(fs::file_size(path.string() + ".part"), 1000u) << e.what();
        fs::remove(path);
        auto r = get_within(client_.download(server().http_url(target), path, with(policy)));
        EXPECT_EQ(r.path, path);
        EXPECT_EQ(r.resumed_from, 1000u);
        EXPECT_EQ(read_file(path), loopback_server::body(5000));
        EXPECT_FALSE(fs::exists(path.string() + ".part"));
    }
}

// The end never replaces a file that is there by then: with the caller's
// word that the path is free, the request goes, and the file there stays.
TEST_F(existing_file, with_the_path_known_free_fail_and_keep_do_not_look_first_but_never_replace) {
    for (auto policy : {existing_file_policy::fail, existing_file_policy::keep}) {
        const fs::path path = dir_ / (policy == existing_file_policy::fail ? "f" : "k");
        std::ofstream(path) << "mine";
        const auto k = key();
        auto o = with(policy);
        o.path_known_free = true;
        auto e = failure_of<vow::http::file_error>(client_.download(server().http_url("/bytes/1000?key=" + k), path, o));
        EXPECT_EQ(e.code(), std::make_error_code(std::errc::file_exists)) << e.what();
        EXPECT_EQ(server().requests_with_key(k), 1u) << "the caller's word was taken: the request went";
        EXPECT_EQ(read_file(path), "mine");
        EXPECT_EQ(fs::file_size(path.string() + ".part"), 1000u);
    }
}

TEST_F(existing_file, keep_skips_a_file_completed_before_with_the_same_size_and_validator) {
    if (!records_validators()) GTEST_SKIP() << "no user extended attributes on " << dir_;
    get_within(client_.download(server().http_url("/bytes/1000?etag=v1"), dir_ / "f"));
    const auto before = fs::last_write_time(dir_ / "f");
    auto r = get_within(
        client_.download(server().http_url("/bytes/1000?etag=v1"), dir_ / "f", with(existing_file_policy::keep)));
    EXPECT_TRUE(r.already_complete);
    EXPECT_EQ(r.path, dir_ / "f");
    EXPECT_EQ(r.size, 1000u);
    EXPECT_EQ(r.transferred, 0u);
    EXPECT_EQ(r.status, 200u);
    EXPECT_FALSE(fs::exists(dir_ / "f.1"));
    EXPECT_EQ(fs::last_write_time(dir_ / "f"), before);
}

TEST_F(existing_file, keep_saves_a_same_size_file_whose_validator_changed_as_name_1) {
    if (!records_validators()) GTEST_SKIP() << "no user extended attributes on " << dir_;
    get_within(client_.download(server().http_url("/bytes/1000?etag=v1"), dir_ / "f"));
    const auto before = fs::last_write_time(dir_ / "f");
    auto r = get_within(
        client_.download(server().http_url("/bytes/1000?etag=v2"), dir_ / "f", with(existing_file_policy::keep)));
    EXPECT_FALSE(r.already_complete);
    EXPECT_EQ(r.path, dir_ / "f.1");
    EXPECT_EQ(r.transferred, 1000u);
    EXPECT_EQ(read_file(dir_ / "f.1"), loopback_server::body(1000));
    EXPECT_EQ(fs::last_write_time(dir_ / "f"), before);
}

TEST_F(existing_file, a_completed_download_records_its_validator_for_the_check) {
    if (!records_validators()) GTEST_SKIP() << "no user extended attributes on " << dir_;
    auto r = get_within(client_.download(server().http_url("/bytes/1000?etag=v1"), dir_ / "f"));
    EXPECT_TRUE(vow::http::is_complete_copy(dir_ / "f", r.headers));
    vow::http::header_map changed;
    changed.add("Content-Length", "1000");
    changed.add("ETag", "\"v2\"");
    EXPECT_FALSE(vow::http::is_complete_copy(dir_ / "f", changed));
    vow::http::header_map none;
    none.add("Content-Length", "1000");
    EXPECT_FALSE(vow::http::is_complete_copy(dir_ / "f", none)) << "a recorded validator the server no longer sends";
}

TEST_F(existing_file, keep_saves_a_file_of_another_size_as_name_1_and_takes_the_next_free_number) {
    std::ofstream(dir_ / "f") << "mine";
    std::ofstream(dir_ / "f.1") << "also mine";
    auto r = get_within(
        client_.download(server().http_url("/bytes/1000"), dir_ / "f", with(existing_file_policy::keep)));
    EXPECT_EQ(r.path, dir_ / "f.2");
    EXPECT_EQ(read_file(dir_ / "f"), "mine");
    EXPECT_EQ(read_file(dir_ / "f.1"), "also mine");
    EXPECT_EQ(read_file(dir_ / "f.2"), loopback_server::body(1000));
}

TEST_F(existing_file, keep_resumes_the_numbered_names_part_even_when_the_paths_part_is_known_absent) {
    // part_known_absent is said of `path`; the download keep sends to f.1 looks for f.1.part.
    const std::string url = server().http_url("/bytes/5000?short_after=1000&faults=1&key=" + key());
    failure_of<vow::http::transport_error>(client_.download(url, dir_ / "f.1"));
    ASSERT_EQ(fs::file_size(dir_ / "f.1.part"), 1000u);
    std::ofstream(dir_ / "f") << "mine";
    auto o = with(existing_file_policy::keep);
    o.part_known_absent = true;
    auto r = get_within(client_.download(url, dir_ / "f", o));
    EXPECT_EQ(r.path, dir_ / "f.1");
    EXPECT_EQ(r.resumed_from, 1000u);
    EXPECT_EQ(read_file(dir_ / "f.1"), loopback_server::body(5000));
    EXPECT_EQ(read_file(dir_ / "f"), "mine");
}

TEST_F(existing_file, keep_checks_a_file_without_a_record_by_its_size_even_past_max_body_size) {
    // Made by other means (no validator recorded), and larger than get()'s
    // 64 MiB limit: the HEAD's Content-Length alone decides.
    constexpr std::uint64_t size = 70ull << 20;
    std::ofstream(dir_ / "f").close();
    fs::resize_file(dir_ / "f", size);  // sparse: no 70 MiB written
    auto r = get_within(client_.download(server().http_url("/bytes/" + std::to_string(size)), dir_ / "f",
                                         with(existing_file_policy::keep)));
    EXPECT_TRUE(r.already_complete);
    EXPECT_EQ(r.size, size);
    EXPECT_FALSE(fs::exists(dir_ / "f.1"));
}

TEST_F(existing_file, keep_never_follows_a_symlink_at_the_path) {
    fs::path outside = dir_.string() + "-outside";
    std::ofstream(outside) << loopback_server::body(1000);  // even the right bytes
    fs::create_symlink(outside, dir_ / "f");
    auto r = get_within(
        client_.download(server().http_url("/bytes/1000"), dir_ / "f", with(existing_file_policy::keep)));
    EXPECT_FALSE(r.already_complete);
    EXPECT_EQ(r.path, dir_ / "f.1");
    EXPECT_TRUE(fs::is_symlink(dir_ / "f"));
    EXPECT_EQ(read_file(dir_ / "f.1"), loopback_server::body(1000));
    fs::remove(outside);
}

TEST_F(existing_file, keep_applies_to_each_item_of_download_all) {
    if (!records_validators()) GTEST_SKIP() << "no user extended attributes on " << dir_;
    get_within(client_.download(server().http_url("/bytes/100/a?etag=v1"), dir_ / "a"));
    get_within(client_.download(server().http_url("/bytes/200/b?etag=v1"), dir_ / "b"));
    auto results = get_within(client_.download_all(
        {{server().http_url("/bytes/100/a?etag=v1"), ""}, {server().http_url("/bytes/200/b?etag=v2"), ""}}, dir_,
        with(existing_file_policy::keep)));
    ASSERT_EQ(results.size(), 2u);
    ASSERT_TRUE(results[0].has_value());
    ASSERT_TRUE(results[1].has_value());
    EXPECT_TRUE(results[0].value().already_complete);
    EXPECT_EQ(results[1].value().path, dir_ / "b.1");
}

}  // namespace
