// request_options::segments: one file fetched as byte ranges over several
// connections into the same .part, against the loopback server over plain
// HTTP. Each test has a server of its own, so its counts (connections,
// requests and body bytes per key) are the test's alone.
#include "vow/http/client.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "http_test_support.hpp"
#include "vow/http/errors.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/http/retry.hpp"
#include "vow/inline_executor.hpp"
#include "vow/promise.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using vow::http::loopback_server;
using namespace vow_http_test;

constexpr std::uint64_t mib = 1 << 20;

class split_download_test : public ::testing::Test {
protected:
    void SetUp() override {
        static std::atomic<int> counter{0};
        dir_ = fs::temp_directory_path() / ("vow_split_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path file() const { return dir_ / "big.bin"; }
    fs::path part() const { return dir_ / "big.bin.part"; }
    fs::path meta() const { return dir_ / "big.bin.part.meta"; }

    static vow::http::request_options split(int n) {
        vow::http::request_options o;
        o.segments = n;
        return o;
    }
    static vow::retry_policy quick_retries() {
        auto p = vow::http::retry_policy(4);
        p.initial_delay = 1ms;
        p.max_delay = 5ms;
        return p;
    }

    loopback_server server_{loopback_server::options{.tls = false}};
    vow::http::client client_;
    fs::path dir_;
};

// Makes `o` report its first bytes on the returned future. What the
// callback uses is its own (a report may still run after the test's scope).
vow::future<void> first_bytes(vow::http::request_options& o) {
    struct state {
        vow::promise<void> some_bytes;
        std::atomic<bool> told{false};
    };
    auto shared = std::make_shared<state>();
    auto got_some = shared->some_bytes.get_future();
    o.progress_interval = 1ms;
    o.on_progress = [shared](const vow::http::progress& p) {
        if (p.received > 0 && !shared->told.exchange(true)) shared->some_bytes.set_value();
    };
    return got_some;
}

TEST_F(split_download_test, segments_fetch_ranges_over_as_many_connections_into_a_byte_exact_file) {
    const std::uint64_t size = 4 * mib + 123;
    auto r = get_within(client_.download(server_.http_url("/bytes/" + std::to_string(size) + "?key=k"), file(), split(4)));
    EXPECT_EQ(r.status, 206u);
    EXPECT_EQ(r.size, size);
    EXPECT_EQ(r.transferred, size);
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_FALSE(fs::exists(part()));
    EXPECT_FALSE(fs::exists(meta()));
    EXPECT_EQ(server_.requests_with_key("k"), 5u);  // the HEAD, then one GET per range
    EXPECT_EQ(server_.body_bytes_with_key("k"), size);
}

TEST_F(split_download_test, with_a_per_connection_rate_limit_the_split_runs_its_ranges_on_separate_connections) {
    const std::uint64_t size = 4 * mib;
    const std::uint64_t rate = 8 * mib;  // per connection: one connection needs at least 0.4 s for 4 MiB
    auto target = "/bytes/" + std::to_string(size) + "?rate=" + std::to_string(rate);

    auto t0 = std::chrono::steady_clock::now();
    get_within(client_.download(server_.http_url(target + "&key=one"), dir_ / "one.bin", split(1)));
    auto one = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(one, 400ms);  // 5 slices of rate/10 bytes, 100 ms apart
    const auto connections_before = server_.connections_accepted();

    get_within(client_.download(server_.http_url(target + "&key=four"), file(), split(4)));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(server_.requests_with_key("four"), 5u);
    // Four ranges in flight at once need four connections (one may be the HEAD's, reused).
    EXPECT_GE(server_.connections_accepted() - connections_before + 1, 4u);
}

TEST_F(split_download_test, a_reset_in_one_range_is_retried_by_that_range_alone_and_the_file_is_byte_exact) {
    const std::uint64_t size = 4 * mib;
    // Request 1 is the HEAD; request 2, one of the ranges, is reset after 300000 bytes.
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?reset_after=300000&faults=2&key=r");
    auto o = split(4);
    o.retry = quick_retries();
    auto r = get_within(client_.download(url, file(), o));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(r.size, size);
    EXPECT_EQ(server_.requests_with_key("r"), 6u);  // HEAD, four ranges, one retry
    EXPECT_LE(server_.body_bytes_with_key("r"), size + 300000);
}

TEST_F(split_download_test, a_range_cut_short_resumes_from_its_last_byte_so_no_byte_is_fetched_twice) {
    const std::uint64_t size = 4 * mib;
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?short_after=300000&faults=2&key=s");
    auto o = split(4);
    o.retry = quick_retries();
    get_within(client_.download(url, file(), o));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(server_.requests_with_key("s"), 6u);
    EXPECT_EQ(server_.body_bytes_with_key("s"), size);
}

TEST_F(split_download_test, an_interrupted_split_resumes_from_its_meta_fetching_only_the_missing_bytes) {
    const std::uint64_t size = 4 * mib;
    // The HEAD and the four ranges of the first run are cut after 400000 bytes each; no retries.
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?short_after=400000&faults=5&key=m");
    failure_of<vow::error>(client_.download(url, file(), split(4)));
    ASSERT_TRUE(fs::exists(part()));
    auto recorded = read_file(meta());
    EXPECT_EQ(recorded.rfind("vow-part-meta 2\n", 0), 0u) << recorded;
    EXPECT_NE(recorded.find("range 0 1048576 400000\n"), std::string::npos) << recorded;
    EXPECT_NE(recorded.find("range 3145728 4194304 400000\n"), std::string::npos) << recorded;
    const auto first_run = server_.body_bytes_with_key("m");

    auto r = get_within(client_.download(url, file(), split(4)));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(r.resumed_from, 4u * 400000);
    EXPECT_EQ(r.transferred, size - 4 * 400000);
    EXPECT_EQ(server_.body_bytes_with_key("m") - first_run, size - 4 * 400000);
    EXPECT_FALSE(fs::exists(meta()));
}

TEST_F(split_download_test, an_interrupted_split_resumes_with_fewer_connections_than_it_has_ranges) {
    const std::uint64_t size = 4 * mib;
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?short_after=400000&faults=5&key=f");
    failure_of<vow::error>(client_.download(url, file(), split(4)));
    const auto first_run = server_.body_bytes_with_key("f");
    const auto connections = server_.connections_accepted();
    auto r = get_within(client_.download(url, file(), split(2)));  // the four recorded ranges, two at a time
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(r.resumed_from, 4u * 400000);
    EXPECT_EQ(server_.body_bytes_with_key("f") - first_run, size - 4 * 400000);
    EXPECT_LE(server_.connections_accepted() - connections, 2u);
}

TEST_F(split_download_test, destroying_the_client_mid_split_fails_the_download_with_cancelled_error) {
    const std::uint64_t size = 4 * mib;
    vow::future<vow::http::download_result> f;
    {
        vow::http::client doomed;
        auto o = split(4);
        auto got_some = first_bytes(o);
        f = doomed.download(server_.http_url("/bytes/" + std::to_string(size) + "?rate=1048576"), file(), o);
        ASSERT_TRUE(got_some.wait_for(bound));
    }
    failure_of<vow::cancelled_error>(std::move(f));
    EXPECT_FALSE(fs::exists(file()));
    EXPECT_TRUE(fs::exists(part()));
}

TEST_F(split_download_test, a_part_with_a_format_1_meta_resumes_over_one_connection) {
    const std::uint64_t size = 4 * mib;
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?short_after=400000&faults=1&key=old");
    failure_of<vow::error>(client_.download(url, file(), split(1)));
    ASSERT_EQ(read_file(meta()).rfind("vow-part-meta 1\n", 0), 0u);
    auto r = get_within(client_.download(url, file(), split(4)));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(r.status, 206u);
    EXPECT_EQ(r.resumed_from, 400000u);
    EXPECT_EQ(server_.requests_with_key("old"), 2u);  // no HEAD: one ranged GET continues it
}

TEST_F(split_download_test, a_split_part_is_resumed_range_by_range_over_one_connection_without_split) {
    const std::uint64_t size = 4 * mib;
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?short_after=400000&faults=5&key=p");
    failure_of<vow::error>(client_.download(url, file(), split(4)));
    ASSERT_TRUE(fs::exists(meta()));
    const auto first_run = server_.body_bytes_with_key("p");
    const auto connections = server_.connections_accepted();
    auto r = get_within(client_.download(url, file(), split(1)));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(r.resumed_from, 4u * 400000);
    EXPECT_EQ(server_.body_bytes_with_key("p") - first_run, size - 4 * 400000) << "only the missing bytes";
    EXPECT_EQ(server_.connections_accepted() - connections, 1u);
    EXPECT_FALSE(fs::exists(meta()));
}

TEST_F(split_download_test, a_split_part_of_a_file_that_changed_is_replaced_by_a_download_without_split) {
    const std::uint64_t size = 4 * mib;
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?short_after=400000&faults=5&key=q");
    failure_of<vow::error>(client_.download(url, file(), split(4)));
    // The recorded validator is no longer the server's: the .part cannot be continued.
    auto recorded = read_file(meta());
    auto at = recorded.find("validator ");
    ASSERT_NE(at, std::string::npos) << recorded;
    recorded.insert(at + 10, "W/\"old\"-");
    std::ofstream(meta(), std::ios::binary | std::ios::trunc) << recorded;
    const auto connections = server_.connections_accepted();
    auto r = get_within(client_.download(url, file(), split(1)));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(r.resumed_from, 0u);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(server_.connections_accepted() - connections, 1u);
    EXPECT_FALSE(fs::exists(part()));
    EXPECT_FALSE(fs::exists(meta()));
}

TEST_F(split_download_test, ranges_count_against_max_connections_per_host) {
    const std::uint64_t size = 4 * mib;
    vow::http::client_options co;
    co.max_connections_per_host = 2;
    vow::http::client limited(co);
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?key=h");
    get_within(limited.download(url, file(), split(4)));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(server_.requests_with_key("h"), 5u);
    EXPECT_LE(server_.connections_accepted(), 2u);
}

// Sum of the DONE fields of a format-2 meta's range lines.
std::uint64_t recorded_done(const std::string& meta) {
    std::uint64_t sum = 0;
    std::size_t at = 0;
    while ((at = meta.find("\nrange ", at)) != std::string::npos) {
        auto line_end = meta.find('\n', at + 1);
        auto line = meta.substr(at + 1, line_end - at - 1);
        sum += std::stoull(line.substr(line.rfind(' ') + 1));
        at = line_end;
    }
    return sum;
}

TEST_F(split_download_test, a_cancelled_split_keeps_its_part_and_meta_and_resumes_only_what_is_missing) {
    const std::uint64_t size = 4 * mib;
    auto url = server_.http_url("/bytes/" + std::to_string(size) + "?rate=4194304&key=c");
    {
        vow::http::client first;
        auto o = split(4);
        auto got_some = first_bytes(o);
        auto f = first.download(url, file(), o);
        ASSERT_TRUE(got_some.wait_for(bound));
        f.cancel();
        failure_of<vow::cancelled_error>(std::move(f));
    }  // the client joins its I/O threads: every range has stopped and saved its progress
    ASSERT_FALSE(fs::exists(file()));
    auto recorded = read_file(meta());
    ASSERT_EQ(recorded.rfind("vow-part-meta 2\n", 0), 0u) << recorded;
    const auto done = recorded_done(recorded);
    EXPECT_GT(done, 0u);
    EXPECT_LT(done, size);
    const auto served = server_.body_bytes_with_key("c");

    auto r = get_within(client_.download(server_.http_url("/bytes/" + std::to_string(size) + "?rate=4194304&key=c"),
                                         file(), split(4)));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(r.status, 206u);
    EXPECT_EQ(r.resumed_from, done);
    EXPECT_EQ(r.transferred, size - done);
    // The server may still count a slice (rate/10 bytes) per connection that
    // it wrote before it saw the first client close; nothing more.
    const auto second = server_.body_bytes_with_key("c") - served;
    EXPECT_GE(second, size - done);
    EXPECT_LE(second, size - done + 4 * (4194304 / 10));
}

TEST_F(split_download_test, behind_a_redirect_each_range_follows_it_itself) {
    const std::uint64_t size = 4 * mib;
    auto r = get_within(client_.download(
        server_.http_url("/redirect/1?to=%2Fbytes%2F" + std::to_string(size) + "%3Fkey%3Dq"), file(), split(4)));
    EXPECT_EQ(r.status, 206u);
    EXPECT_EQ(r.url, server_.http_url("/bytes/" + std::to_string(size) + "?key=q"));
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(server_.requests_with_key("q"), 5u);
}

TEST_F(split_download_test, the_client_rate_limit_caps_all_ranges_together) {
    const std::uint64_t size = 4 * mib;
    vow::http::client_options co;
    co.max_bytes_per_second = 4 * mib;
    vow::http::client capped(co);
    auto t0 = std::chrono::steady_clock::now();
    get_within(capped.download(server_.http_url("/bytes/" + std::to_string(size) + "?key=cap"), file(), split(4)));
    // 4 MiB at 4 MiB/s for all four ranges together: 1 s, less at most a
    // tenth of a second's worth per range that may go at once. Each range
    // capped on its own would take 0.25 s.
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 600ms);
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(server_.requests_with_key("cap"), 5u);
}

TEST_F(split_download_test, a_server_without_ranges_gets_one_connection) {
    const std::uint64_t size = 4 * mib;
    auto r = get_within(
        client_.download(server_.http_url("/bytes/" + std::to_string(size) + "?ranges=0&key=n"), file(), split(4)));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(server_.requests_with_key("n"), 2u);  // the HEAD, then one GET
}

TEST_F(split_download_test, a_file_smaller_than_two_segments_is_not_split) {
    const std::uint64_t size = 2 * mib - 1;
    auto r = get_within(
        client_.download(server_.http_url("/bytes/" + std::to_string(size) + "?key=small"), file(), split(4)));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_EQ(server_.requests_with_key("small"), 2u);
}

TEST_F(split_download_test, a_file_that_changed_after_the_probe_is_downloaded_again_over_one_connection) {
    const std::uint64_t size = 4 * mib;
    // After the HEAD, the ETag changes: If-Range no longer matches and each range gets 200.
    auto r = get_within(client_.download(
        server_.http_url("/bytes/" + std::to_string(size) + "?etag_after=1&key=v"), file(), split(4)));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.headers.find("ETag"), "\"n-4194304-changed\"");
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
    EXPECT_FALSE(fs::exists(meta()));
}

TEST_F(split_download_test, a_range_whose_validator_differs_from_the_first_stops_the_split) {
    const std::uint64_t size = 4 * mib;
    // The server honours Range whatever If-Range says, but its 206s carry another ETag.
    auto r = get_within(client_.download(
        server_.http_url("/bytes/" + std::to_string(size) + "?etag_after=1&ignore_if_range=1&key=w"), file(),
        split(4)));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
}

TEST_F(split_download_test, progress_counts_the_bytes_of_all_ranges_together) {
    const std::uint64_t size = 4 * mib;
    auto o = split(4);
    std::atomic<std::uint64_t> last{0};
    std::atomic<bool> over{false};
    o.progress_interval = 1ms;
    o.on_progress = [&](const vow::http::progress& p) {
        if (p.received > size || p.total != size) over = true;
        last = p.received;
    };
    get_within(client_.download(server_.http_url("/bytes/" + std::to_string(size) + "?rate=33554432"), file(), o));
    EXPECT_EQ(last.load(), size);
    EXPECT_FALSE(over.load());
}

TEST_F(split_download_test, a_decoded_download_is_never_split) {
    auto o = split(4);
    o.decode_content = true;
    get_within(client_.download(server_.http_url("/encoded/4194304?key=e"), file(), o));
    EXPECT_EQ(read_file(file()), loopback_server::body(4 * mib));
    EXPECT_EQ(server_.requests_with_key("e"), 1u);
}

TEST_F(split_download_test, max_download_size_is_checked_against_the_length_before_the_split) {
    auto o = split(4);
    o.max_download_size = 3 * mib;
    failure_of<vow::http::body_limit_error>(
        client_.download(server_.http_url("/bytes/" + std::to_string(4 * mib) + "?key=l"), file(), o));
    EXPECT_EQ(server_.requests_with_key("l"), 1u);
    EXPECT_FALSE(fs::exists(part()));
}

TEST_F(split_download_test, a_checksum_covers_the_whole_split_file) {
    const std::uint64_t size = 4 * mib;
    auto o = split(4);
    o.sha256 = std::string(64, '0');
    failure_of<vow::http::checksum_error>(
        client_.download(server_.http_url("/bytes/" + std::to_string(size)), file(), o));
    EXPECT_FALSE(fs::exists(file()));
}

std::string sha256_hex(const std::string& bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    std::string hex;
    for (unsigned i = 0; i < len; ++i) {
        static const char digits[] = "0123456789abcdef";
        hex += digits[md[i] >> 4];
        hex += digits[md[i] & 15];
    }
    return hex;
}

TEST_F(split_download_test, a_split_file_with_the_right_checksum_is_renamed) {
    const std::uint64_t size = 4 * mib;
    auto o = split(4);
    o.sha256 = sha256_hex(loopback_server::body(size));
    auto r = get_within(client_.download(server_.http_url("/bytes/" + std::to_string(size)), file(), o));
    EXPECT_EQ(r.sha256, o.sha256);
    EXPECT_EQ(read_file(file()), loopback_server::body(size));
}

// Runs every task at once on the calling thread, except the n-th, which it
// destroys unrun (as an executor shutting down would).
class dropping_executor final : public vow::executor {
public:
    explicit dropping_executor(int n) : n_(n) {}
    void execute(vow::task t) override {
        if (++count_ == n_) return;  // `t` is destroyed unrun here
        vow::inline_executor::instance().execute(std::move(t));
    }

private:
    std::atomic<int> count_{0};
    const int n_;
};

TEST_F(split_download_test, a_task_the_completion_executor_drops_unrun_never_strands_the_download) {
    // Whichever task is dropped -- the probe's answer, a progress report of
    // the split, the settling step -- the download completes or fails.
    for (int n = 1; n <= 30; ++n) {
        SCOPED_TRACE("dropping task " + std::to_string(n));
        dropping_executor drops(n);
        vow::http::client_options co;
        co.completion_executor = &drops;
        vow::http::client c(co);
        auto o = split(4);
        o.progress_interval = 1ms;
        o.on_progress = [](const vow::http::progress&) {};
        auto path = dir_ / ("f" + std::to_string(n));
        auto f = c.download(server_.http_url("/bytes/" + std::to_string(4 * mib) + "?rate=" + std::to_string(8 * mib)),
                            path, o);
        EXPECT_TRUE(f.wait_for(bound)) << "the download never completed";
    }
}

TEST_F(split_download_test, zero_segments_is_a_usage_error) {
    failure_of<vow::usage_error>(client_.download(server_.http_url("/bytes/16"), file(), split(0)));
}

}  // namespace
