// What download() does to the disk when the folder holds something it did not
// put there: symlinks and hard links at NAME.part, NAME.part.meta or NAME,
// and leftover .part files from another download. Runs against the loopback
// server over plain HTTP (the file handling does not depend on TLS).
#include "vow/http/client.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "vow/http/errors.hpp"
#include "http_test_support.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/http/retry.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using vow::http::loopback_server;
using namespace vow_http_test;


loopback_server& server() {
    static loopback_server s(loopback_server::options{.tls = false});
    return s;
}

void write_file(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

class download_files_test : public ::testing::Test {
protected:
    void SetUp() override {
        static std::atomic<int> counter{0};
        root_ = fs::temp_directory_path() /
                ("vow_download_files_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(root_);
        fs::create_directories(root_ / "out");
        fs::create_directories(root_ / "elsewhere");
        write_file(outside(), outside_bytes);
    }
    void TearDown() override { fs::remove_all(root_); }

    fs::path out(const std::string& name) const { return root_ / "out" / name; }
    fs::path outside() const { return root_ / "elsewhere" / "precious.txt"; }
    std::string url(const std::string& target) const { return server().http_url(target); }

    vow::future<vow::http::download_result> download(const std::string& target, const std::string& name,
                                                     bool resume = true) {
        vow::http::request_options o;
        o.resume = resume;
        return client_.download(url(target), out(name), o);
    }

    static inline const std::string outside_bytes = "not yours to write\n";
    fs::path root_;
    vow::http::client client_;
};

TEST_F(download_files_test, a_symlink_at_the_part_name_is_a_file_error_and_its_target_is_untouched) {
    fs::create_symlink(outside(), out("f.bin.part"));
    failure_of<vow::http::file_error>(download("/bytes/5000", "f.bin"));
    EXPECT_EQ(read_file(outside()), outside_bytes);
    EXPECT_FALSE(fs::exists(out("f.bin")));
}

TEST_F(download_files_test, a_symlink_at_the_part_name_is_not_followed_without_resume_either) {
    fs::create_symlink(outside(), out("f.bin.part"));
    failure_of<vow::http::file_error>(download("/bytes/5000", "f.bin", false));
    EXPECT_EQ(read_file(outside()), outside_bytes);
    EXPECT_TRUE(fs::is_symlink(out("f.bin.part")));
}

TEST_F(download_files_test, a_symlink_at_the_meta_name_is_a_file_error_and_its_target_is_untouched) {
    fs::create_symlink(outside(), out("f.bin.part.meta"));
    // Over 1 MiB: the meta file is written as the body starts.
    failure_of<vow::http::file_error>(download("/bytes/2000000", "f.bin"));
    EXPECT_EQ(read_file(outside()), outside_bytes);
}

TEST_F(download_files_test, a_symlink_at_the_meta_name_of_a_resumed_part_is_a_file_error) {
    write_file(out("f.bin.part"), loopback_server::body(100));
    fs::create_symlink(outside(), out("f.bin.part.meta"));
    failure_of<vow::http::file_error>(download("/bytes/5000", "f.bin"));
    EXPECT_EQ(read_file(outside()), outside_bytes);
}

TEST_F(download_files_test, a_symlink_at_the_final_name_is_a_file_error_and_neither_it_nor_its_target_changes) {
    fs::create_symlink(outside(), out("f.bin"));
    failure_of<vow::http::file_error>(download("/bytes/5000", "f.bin"));
    EXPECT_EQ(read_file(outside()), outside_bytes);
    EXPECT_TRUE(fs::is_symlink(out("f.bin")));
}

TEST_F(download_files_test, a_hard_link_at_the_part_name_is_not_appended_to) {
    // A genuine meta from an interrupted download, and the .part swapped for a link.
    const std::string target = "/bytes/5000?short_after=19&faults=1&key=link-" + std::to_string(::getpid());
    failure_of<vow::http::transport_error>(download(target, "f.bin"));
    fs::remove(out("f.bin.part"));
    fs::create_hard_link(outside(), out("f.bin.part"));
    failure_of<vow::http::file_error>(download(target, "f.bin"));
    EXPECT_EQ(read_file(outside()), outside_bytes);
}

TEST_F(download_files_test, a_hard_link_at_the_part_name_without_meta_is_replaced_not_written_through) {
    fs::create_hard_link(outside(), out("f.bin.part"));
    get_within(download("/bytes/5000", "f.bin"));
    EXPECT_EQ(read_file(outside()), outside_bytes);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
}

TEST_F(download_files_test, a_finished_download_leaves_its_file_and_no_part) {
    auto r = get_within(download("/bytes/5000", "f.bin"));
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
    EXPECT_EQ(r.size, 5000u);
    EXPECT_FALSE(fs::exists(out("f.bin.part")));
}

TEST_F(download_files_test, the_result_holds_the_header_fields_of_the_response_that_completed_the_file) {
    auto r = get_within(download("/bytes/100?disposition=attachment%3B%20filename%3D%22a.txt%22", "f.bin"));
    EXPECT_EQ(r.headers.find("content-disposition").value_or(""), "attachment; filename=\"a.txt\"");
    EXPECT_EQ(r.headers.find("Content-Length").value_or(""), "100");
}

TEST_F(download_files_test, a_resumed_download_holds_the_headers_of_its_206) {
    const std::string target = "/bytes/5000?short_after=1000&faults=1&key=headers-" + std::to_string(::getpid());
    failure_of<vow::http::transport_error>(download(target, "f.bin"));
    auto r = get_within(download(target, "f.bin"));
    ASSERT_EQ(r.status, 206u);
    EXPECT_EQ(r.headers.find("Content-Range").value_or(""), "bytes 1000-4999/5000");
}

TEST_F(download_files_test, a_small_file_has_no_name_in_the_folder_until_it_completes_and_resumes_if_cut) {
    // While the body stalls, the folder shows neither the file nor a .part
    // (it is written unnamed); cut short, it is left as a .part that resumes.
    const std::string target = "/bytes/5000?stall_after=1000&faults=1&key=unnamed-" + std::to_string(::getpid());
    std::atomic<int> entries_while_receiving{-1};
    vow::http::request_options o;
    o.idle_timeout = std::chrono::seconds(1);
    o.on_progress = [&](const vow::http::progress&) {
        int n = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_ / "out")) ++n;
        int unset = -1;
        entries_while_receiving.compare_exchange_strong(unset, n);
    };
    failure_of<vow::timeout_error>(client_.download(url(target), out("f.bin"), o));
    EXPECT_EQ(entries_while_receiving.load(), 0);
    ASSERT_TRUE(fs::exists(out("f.bin.part")));
    EXPECT_EQ(fs::file_size(out("f.bin.part")), 1000u);
    auto r = get_within(download(target, "f.bin"));
    EXPECT_EQ(r.resumed_from, 1000u);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
    EXPECT_FALSE(fs::exists(out("f.bin.part")));
}

TEST_F(download_files_test, a_full_disk_is_a_file_error_and_the_part_resumes_from_what_reached_it) {
    // RLIMIT_FSIZE stands in for a full disk: a write past it fails (EFBIG,
    // with SIGXFSZ ignored) after writing what fits, as ENOSPC does.
    struct rlimit before {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
    auto previous = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit cap = before;
    cap.rlim_cur = 3000;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &cap), 0);
    const std::string target = "/bytes/5000?key=full-" + std::to_string(::getpid());
    auto f = download(target, "f.bin");
    f.wait();
    ::setrlimit(RLIMIT_FSIZE, &before);
    std::signal(SIGXFSZ, previous);
    failure_of<vow::http::file_error>(std::move(f));
    EXPECT_FALSE(fs::exists(out("f.bin")));
    ASSERT_TRUE(fs::exists(out("f.bin.part")));
    EXPECT_EQ(fs::file_size(out("f.bin.part")), 3000u);
    auto r = get_within(download(target, "f.bin"));
    EXPECT_EQ(r.resumed_from, 3000u);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
}

// --- leftovers: only a .part of this very download is continued -----------

TEST_F(download_files_test, an_interrupted_download_is_resumed_from_its_part) {
    const std::string target = "/bytes/5000?short_after=1000&faults=1&key=resume-" + std::to_string(::getpid());
    failure_of<vow::http::transport_error>(download(target, "f.bin"));
    ASSERT_EQ(fs::file_size(out("f.bin.part")), 1000u);
    auto r = get_within(download(target, "f.bin"));
    EXPECT_EQ(r.resumed_from, 1000u);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
}

// part_known_absent: the caller has read the folder and saw no .part. The
// first attempt takes its word (it does not look, so a .part there is not
// continued); a retry looks as usual and continues what the first one left.
TEST_F(download_files_test, a_part_known_absent_is_not_looked_for_by_the_first_attempt) {
    const std::string target = "/bytes/5000?short_after=1000&faults=1&key=known-" + std::to_string(::getpid());
    failure_of<vow::http::transport_error>(download(target, "f.bin"));
    ASSERT_EQ(fs::file_size(out("f.bin.part")), 1000u);
    vow::http::request_options o;
    o.part_known_absent = true;
    auto r = get_within(client_.download(url(target), out("f.bin"), o));
    EXPECT_EQ(r.resumed_from, 0u);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
}

TEST_F(download_files_test, with_a_part_known_absent_a_retry_still_resumes_what_the_first_attempt_left) {
    const std::string target = "/bytes/5000?short_after=1000&faults=1&key=known-retry-" + std::to_string(::getpid());
    vow::http::request_options o;
    o.part_known_absent = true;
    o.retry = vow::http::retry_policy(2);
    o.retry->initial_delay = std::chrono::milliseconds(1);
    auto r = get_within(client_.download(url(target), out("f.bin"), o));
    EXPECT_EQ(r.resumed_from, 1000u);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
    EXPECT_FALSE(fs::exists(out("f.bin.part")));
}

TEST_F(download_files_test, a_part_left_by_another_url_is_restarted_not_spliced) {
    // A real interrupted download of another URL leaves its .part and meta.
    const std::string other = "/bytes/6000?short_after=1000&faults=1&key=other-" + std::to_string(::getpid());
    failure_of<vow::http::transport_error>(download(other, "f.bin"));
    ASSERT_EQ(fs::file_size(out("f.bin.part")), 1000u);
    write_file(out("f.bin.part"), std::string(1000, 'j'));
    auto r = get_within(download("/bytes/5000", "f.bin"));
    EXPECT_EQ(r.resumed_from, 0u);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
}

TEST_F(download_files_test, a_part_without_meta_is_a_foreign_leftover_and_is_restarted) {
    write_file(out("f.bin.part"), std::string(1000, 'j'));
    auto r = get_within(download("/bytes/5000", "f.bin"));
    EXPECT_EQ(r.resumed_from, 0u);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
}

TEST_F(download_files_test, a_junk_part_of_exactly_the_right_length_is_not_taken_as_complete) {
    write_file(out("f.bin.part"), std::string(5000, 'j'));
    auto r = get_within(download("/bytes/5000", "f.bin"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(read_file(out("f.bin")), loopback_server::body(5000));
}

// --- names -----------------------------------------------------------------

TEST(file_name_for, a_name_over_the_limit_is_shortened_with_a_hash_and_keeps_its_extension) {
    std::string long_name = std::string(300, 'a') + ".tar.gz";
    auto name = vow::http::file_name_for("http://h/dir/" + long_name);
    EXPECT_LE(name.size(), vow::http::max_file_name_bytes);
    EXPECT_EQ(name.substr(0, 10), "aaaaaaaaaa");
    EXPECT_EQ(name.substr(name.size() - 3), ".gz");
    EXPECT_NE(name.find('~'), std::string::npos);
}

TEST(file_name_for, two_long_names_that_differ_only_at_the_end_stay_distinct) {
    auto a = vow::http::file_name_for("http://h/" + std::string(300, 'n') + "1");
    auto b = vow::http::file_name_for("http://h/" + std::string(300, 'n') + "2");
    EXPECT_NE(a, b);
    EXPECT_LE(a.size(), vow::http::max_file_name_bytes);
    EXPECT_LE(b.size(), vow::http::max_file_name_bytes);
}

TEST(file_name_for, a_name_at_the_limit_is_kept_as_it_is) {
    std::string name(vow::http::max_file_name_bytes, 'k');
    EXPECT_EQ(vow::http::file_name_for("http://h/" + name), name);
}

TEST(file_name_for, shortening_never_cuts_a_utf8_character) {
    std::string e_acute = "\xc3\xa9";
    std::string name;
    while (name.size() < 400) name += e_acute;
    auto shortened = vow::http::file_name_for("http://h/" + name);  // not a valid URL: taken as it is
    auto tilde = shortened.find('~');
    ASSERT_NE(tilde, std::string::npos);
    EXPECT_EQ(tilde % 2, 0u) << "the kept start is whole two-byte characters";
}

TEST_F(download_files_test, a_url_with_a_name_over_255_bytes_downloads_under_its_shortened_name) {
    auto target = "/bytes/3000/" + std::string(300, 'z');
    auto name = vow::http::file_name_for(url(target));
    get_within(download(target, name));
    EXPECT_EQ(read_file(out(name)), loopback_server::body(3000));
}

}  // namespace
