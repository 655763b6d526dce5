#include "vow/http/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <thread>

#include "http_test_support.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/http/retry.hpp"
#include "vow/inline_executor.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/thread_pool.hpp"
#include "vow/timer.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using vow::http::loopback_server;
using namespace vow_http_test;

// Bounds every wait of a test: a bug fails it instead of hanging it.

loopback_server& server() {
    static loopback_server s;
    return s;
}

// A fresh folder per test.
class temp_dir {
public:
    temp_dir() {
        path_ = fs::temp_directory_path() /
                ("vow_http_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~temp_dir() { fs::remove_all(path_); }
    fs::path operator/(const std::string& name) const { return path_ / name; }
    const fs::path& path() const { return path_; }

private:
    static inline std::atomic<int> counter_{0};
    fs::path path_;
};

vow::http::client_options trusting_options() {
    vow::http::client_options o;
    o.tls.ca_pem = server().ca_pem();
    return o;
}

// Every case runs over plain HTTP and over HTTPS.
class client_test : public ::testing::TestWithParam<bool> {
protected:
    std::string url(const std::string& target) const {
        return GetParam() ? server().https_url(target) : server().http_url(target);
    }
    std::string key(const std::string& name) const {
        return name + (GetParam() ? "-tls" : "-plain") + std::to_string(::getpid());
    }
    vow::http::client client_{trusting_options()};
    temp_dir dir_;
};

INSTANTIATE_TEST_SUITE_P(http_and_https, client_test, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "https" : "http"; });

TEST_P(client_test, get_returns_the_body_status_and_headers) {
    auto f = client_.get(url("/bytes/100000"));
    auto r = get_within(f);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, loopback_server::body(100000));
    EXPECT_EQ(r.headers.find("etag").value_or(""), "\"n-100000\"");
}

TEST_P(client_test, download_makes_the_missing_folders_of_its_path) {
    auto path = dir_ / "not" / "yet" / "there.bin";
    auto f = client_.download(url("/bytes/5000"), path);
    EXPECT_EQ(get_within(f).size, 5000u);
    EXPECT_EQ(read_file(path), loopback_server::body(5000));
}

TEST_P(client_test, a_path_that_cannot_be_created_is_a_file_error) {
    std::ofstream(dir_ / "plain_file") << "not a folder";
    auto e = failure_of<vow::http::file_error>(client_.download(url("/bytes/5000"), dir_ / "plain_file" / "x.bin"));
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::not_a_directory));
}

TEST_P(client_test, get_reads_a_chunked_body) {
    auto f = client_.get(url("/bytes/300000?chunked=1"));
    EXPECT_EQ(get_within(f).body, loopback_server::body(300000));
}

TEST_P(client_test, download_writes_the_exact_bytes_and_leaves_no_part_file) {
    auto path = dir_ / "file.bin";
    auto f = client_.download(url("/bytes/1000000"), path);
    auto r = get_within(f);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.size, 1000000u);
    EXPECT_EQ(r.transferred, 1000000u);
    EXPECT_EQ(read_file(path), loopback_server::body(1000000));
    EXPECT_FALSE(fs::exists(dir_ / "file.bin.part"));
    EXPECT_FALSE(fs::exists(dir_ / "file.bin.part.meta"));
}

TEST_P(client_test, a_non_2xx_status_is_a_status_error_and_creates_no_file) {
    auto path = dir_ / "missing";
    auto e = failure_of<vow::http::status_error>(client_.download(url("/status/404"), path));
    EXPECT_EQ(e.status(), 404u);
    EXPECT_FALSE(fs::exists(path));
    auto e500 = failure_of<vow::http::status_error>(client_.get(url("/status/500")));
    EXPECT_EQ(e500.status(), 500u);
}

TEST_P(client_test, status_error_carries_retry_after) {
    auto e = failure_of<vow::http::status_error>(
        client_.get(url("/bytes/10?fail=1&status=503&retry_after=7&key=" + key("ra"))));
    EXPECT_EQ(e.status(), 503u);
    ASSERT_TRUE(e.retry_after().has_value());
    EXPECT_EQ(*e.retry_after(), 7s);
}

TEST_P(client_test, garbage_and_oversized_headers_are_protocol_errors) {
    failure_of<vow::http::protocol_error>(client_.get(url("/garbage")));
    failure_of<vow::http::protocol_error>(client_.get(url("/big-headers")));
}

TEST_P(client_test, a_body_shorter_than_its_content_length_fails_and_is_never_renamed) {
    auto path = dir_ / "short.bin";
    auto e = failure_of<vow::http::transport_error>(client_.download(url("/bytes/100000?short_after=5000"), path));
    EXPECT_NE(std::string(e.what()).find("5000 of 100000"), std::string::npos) << e.what();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(fs::exists(dir_ / "short.bin.part"));
}

TEST_P(client_test, idle_timeout_fires_when_the_body_stalls) {
    vow::http::request_options o;
    o.idle_timeout = 200ms;
    for (const std::string query : {"?stall_after=1000", "?chunked=1&stall_after=1000"}) {
        auto e = failure_of<vow::timeout_error>(client_.get(url("/bytes/100000" + query), o));
        EXPECT_NE(std::string(e.what()).find("idle timeout"), std::string::npos) << query << ": " << e.what();
    }
}

// The idle timeout is about the server: time the request spends waiting for a
// sink that is slower than the timeout does not count.
TEST_P(client_test, a_sink_slower_than_the_idle_timeout_is_not_an_idle_server) {
    for (const std::string query : {"", "?chunked=1"}) {
        vow::manual_executor sink_side;
        auto o = trusting_options();
        o.completion_executor = &sink_side;
        vow::http::client client(o);
        vow::http::request_options ro;
        ro.idle_timeout = 300ms;
        std::size_t got = 0;
        auto f = client.stream(url("/bytes/5000000" + query), [&](std::span<const char> bytes) { got += bytes.size(); },
                               ro);
        auto deadline = std::chrono::steady_clock::now() + bound;
        bool slow_call_done = false;
        while (!f.is_ready() && std::chrono::steady_clock::now() < deadline) {
            if (!slow_call_done && sink_side.pending() > 0) {
                // A sink call that takes three idle timeouts: meanwhile the
                // reads fill both buffers (the body is more than two) and
                // wait for it.
                std::this_thread::sleep_for(900ms);
                slow_call_done = true;
            }
            if (!sink_side.run_one()) std::this_thread::yield();
        }
        ASSERT_TRUE(f.is_ready()) << query << ": " << got << " bytes";
        try {
            EXPECT_EQ(std::move(f).get().size, 5000000u) << query;
        } catch (const std::exception& e) {
            ADD_FAILURE() << query << ": " << e.what();
        }
        EXPECT_EQ(got, 5000000u) << query;
    }
}

TEST_P(client_test, idle_timeout_fires_when_no_response_comes) {
    vow::http::request_options o;
    o.idle_timeout = 200ms;
    auto e = failure_of<vow::timeout_error>(client_.get(url("/hang"), o));
    // A deadline on the whole head, not on each byte: named by its phase.
    EXPECT_NE(std::string(e.what()).find("response timeout: no complete response head"), std::string::npos)
        << e.what();
}

TEST_P(client_test, total_timeout_fires_on_a_slow_but_steady_body) {
    vow::http::request_options o;
    o.total_timeout = 300ms;
    auto e = failure_of<vow::timeout_error>(client_.get(url("/bytes/100000?rate=10000"), o));
    EXPECT_NE(std::string(e.what()).find("total timeout"), std::string::npos) << e.what();
}

TEST_P(client_test, redirect_chains_are_followed_to_the_end) {
    auto f = client_.get(url("/redirect/3?to=/bytes/500"));
    auto r = get_within(f);
    EXPECT_EQ(r.body, loopback_server::body(500));
    EXPECT_NE(r.url.find("/bytes/500"), std::string::npos) << r.url;
    auto rel = client_.get(url("/redirect-relative?to=/bytes/70"));
    EXPECT_EQ(get_within(rel).body, loopback_server::body(70));
    for (int code : {301, 303, 307, 308}) {
        auto c = client_.get(url("/redirect-code/" + std::to_string(code) + "?to=/bytes/9"));
        EXPECT_EQ(get_within(c).body, loopback_server::body(9)) << code;
    }
}

TEST_P(client_test, redirect_loops_and_long_chains_fail_with_redirect_error) {
    failure_of<vow::http::redirect_error>(client_.get(url("/redirect-loop")));
    vow::http::request_options o;
    o.max_redirects = 2;
    failure_of<vow::http::redirect_error>(client_.get(url("/redirect/3?to=/bytes/5"), o));
}

TEST_P(client_test, progress_reports_body_bytes_and_ends_at_the_total) {
    std::mutex m;
    std::vector<vow::http::progress> seen;
    vow::http::request_options o;
    o.progress_interval = 0ms;
    o.on_progress = [&](const vow::http::progress& p) {
        std::lock_guard lock(m);
        seen.push_back(p);
    };
    auto f = client_.download(url("/bytes/2000000?chunked=1"), dir_ / "p.bin", o);
    get_within(f);
    {
        std::lock_guard lock(m);
        ASSERT_FALSE(seen.empty());
        EXPECT_EQ(seen.back().received, 2000000u);
        for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LE(seen[i - 1].received, seen[i].received);
    }
    auto sized = client_.download(url("/bytes/3000"), dir_ / "q.bin", o);
    get_within(sized);
    std::lock_guard lock(m);
    EXPECT_EQ(seen.back().total.value_or(0), 3000u);
    EXPECT_EQ(seen.back().received, 3000u);
}

TEST_P(client_test, progress_catches_up_when_the_body_stalls) {
    // The stall keeps the request open for 10 s; the last bytes before it must
    // be reported long before that, not only when the request ends.
    struct shared {
        vow::promise<void> all_seen;
        std::atomic<bool> once{false};
    };
    auto state = std::make_shared<shared>();  // a report queued before the cancel may still run
    auto all_seen_f = state->all_seen.get_future();
    vow::http::request_options o;
    o.idle_timeout = 10s;
    o.progress_interval = 50ms;
    o.on_progress = [state](const vow::http::progress& p) {
        if (p.received == 1048576 && !state->once.exchange(true)) state->all_seen.set_value();
    };
    auto f = client_.get(url("/bytes/4194304?stall_after=1048576"), o);
    EXPECT_TRUE(all_seen_f.wait_for(5s));
    EXPECT_FALSE(f.is_ready());
    f.cancel();
}

TEST_P(client_test, resume_after_a_reset_gives_a_byte_exact_file) {
    auto path = dir_ / "resumed.bin";
    auto u = url("/bytes/2000000?reset_after=700000&faults=1&key=" + key("reset"));
    failure_of<vow::http::transport_error>(client_.download(u, path));
    auto part = dir_ / "resumed.bin.part";
    ASSERT_TRUE(fs::exists(part));
    auto kept = fs::file_size(part);
    EXPECT_GT(kept, 0u);
    EXPECT_LE(kept, 700000u);
    auto f = client_.download(u, path);
    auto r = get_within(f);
    EXPECT_EQ(r.status, 206u);
    EXPECT_EQ(r.resumed_from, kept);
    EXPECT_EQ(r.transferred, 2000000u - kept);
    EXPECT_EQ(read_file(path), loopback_server::body(2000000));
    EXPECT_FALSE(fs::exists(dir_ / "resumed.bin.part.meta"));
}

TEST_P(client_test, a_changed_validator_restarts_the_download_cleanly) {
    auto path = dir_ / "changed.bin";
    std::ofstream(dir_ / "changed.bin.part", std::ios::binary) << "stale bytes of another version";
    std::ofstream(dir_ / "changed.bin.part.meta")
        << "vow-part-meta 1\nurl " << url("/bytes/50000") << "\nvalidator \"other-etag\"\ntotal 50000\n";
    auto f = client_.download(url("/bytes/50000"), path);
    auto r = get_within(f);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.resumed_from, 0u);
    EXPECT_EQ(read_file(path), loopback_server::body(50000));
    EXPECT_FALSE(fs::exists(dir_ / "changed.bin.part.meta"));  // the old version's validator is gone
}

TEST_P(client_test, a_416_on_a_complete_part_file_is_success) {
    auto path = dir_ / "done.bin";
    std::ofstream(dir_ / "done.bin.part", std::ios::binary) << loopback_server::body(4096);
    std::ofstream(dir_ / "done.bin.part.meta")
        << "vow-part-meta 1\nurl " << url("/bytes/4096") << "\nvalidator \"n-4096\"\ntotal 4096\n";
    auto f = client_.download(url("/bytes/4096"), path);
    auto r = get_within(f);
    EXPECT_EQ(r.status, 416u);
    EXPECT_EQ(r.transferred, 0u);
    EXPECT_EQ(read_file(path), loopback_server::body(4096));
}

TEST_P(client_test, no_resume_starts_over) {
    auto path = dir_ / "fresh.bin";
    std::ofstream(dir_ / "fresh.bin.part", std::ios::binary) << loopback_server::body(100);
    vow::http::request_options o;
    o.resume = false;
    auto f = client_.download(url("/bytes/1000"), path, o);
    EXPECT_EQ(get_within(f).resumed_from, 0u);
    EXPECT_EQ(read_file(path), loopback_server::body(1000));
}

TEST_P(client_test, sha256_is_checked_before_the_rename) {
    // sha256 of loopback_server::body(1000), computed by the first download.
    vow::http::request_options o;
    o.sha256 = std::string(64, '0');
    auto path = dir_ / "sum.bin";
    auto e = failure_of<vow::http::checksum_error>(client_.download(url("/bytes/1000"), path, o));
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(dir_ / "sum.bin.part"));
    o.sha256 = e.actual();
    auto f = client_.download(url("/bytes/1000"), path, o);
    EXPECT_EQ(get_within(f).sha256.value_or(""), e.actual());
    EXPECT_EQ(read_file(path), loopback_server::body(1000));
}

TEST_P(client_test, sha256_covers_the_resumed_bytes_too) {
    vow::http::request_options o;
    auto whole = dir_ / "whole.bin";
    o.sha256 = std::string(64, '0');
    auto expected = failure_of<vow::http::checksum_error>(client_.download(url("/bytes/300000"), whole, o)).actual();
    auto path = dir_ / "part-sum.bin";
    auto u = url("/bytes/300000?reset_after=100000&faults=1&key=" + key("sum"));
    failure_of<vow::http::transport_error>(client_.download(u, path));
    o.sha256 = expected;
    auto f = client_.download(u, path, o);
    auto r = get_within(f);
    EXPECT_GT(r.resumed_from, 0u);
    EXPECT_EQ(read_file(path), loopback_server::body(300000));
}

TEST_P(client_test, cancel_mid_body_completes_at_once_and_keeps_the_part_file) {
    auto path = dir_ / "cancelled.bin";
    struct shared {
        vow::promise<void> started;
        std::atomic<bool> once{false};
    };
    auto state = std::make_shared<shared>();
    auto started_f = state->started.get_future();
    vow::http::request_options o;
    o.progress_interval = 0ms;
    o.on_progress = [state](const vow::http::progress& p) {
        if (p.received > 0 && !state->once.exchange(true)) state->started.set_value();
    };
    auto f = client_.download(url("/bytes/10000000?rate=200000"), path, o);
    ASSERT_TRUE(started_f.wait_for(bound));
    f.cancel();
    EXPECT_TRUE(f.wait_for(100ms));
    EXPECT_THROW(std::move(f).get(), vow::cancelled_error);
    EXPECT_TRUE(fs::exists(dir_ / "cancelled.bin.part"));
    EXPECT_FALSE(fs::exists(path));
}

TEST_P(client_test, a_stream_sink_sees_every_byte_in_order) {
    std::string got;
    auto f = client_.stream(url("/bytes/1500000"), [&](std::span<const char> bytes) { got.append(bytes.data(), bytes.size()); });
    auto r = get_within(f);
    EXPECT_EQ(r.size, 1500000u);
    EXPECT_EQ(got, loopback_server::body(1500000));
}

// The sink runs only when the test thread lets it, so reads fill the second
// buffer while the first waits and then stop until the sink catches up.
TEST_P(client_test, a_slow_sink_still_sees_every_byte_in_order) {
    for (const std::string query : {"", "?chunked=1"}) {
        vow::manual_executor sink_side;
        auto o = trusting_options();
        o.completion_executor = &sink_side;
        vow::http::client client(o);
        std::string got;
        std::size_t calls = 0;
        auto f = client.stream(url("/bytes/3000000" + query), [&](std::span<const char> bytes) {
            got.append(bytes.data(), bytes.size());
            ++calls;
        });
        auto deadline = std::chrono::steady_clock::now() + bound;
        while (!f.is_ready() && std::chrono::steady_clock::now() < deadline) {
            if (!sink_side.run_one()) std::this_thread::yield();
        }
        ASSERT_TRUE(f.is_ready()) << query << ": " << got.size() << " bytes in " << calls << " calls, " << sink_side.pending() << " queued";
        EXPECT_EQ(std::move(f).get().size, 3000000u) << query;
        EXPECT_EQ(got, loopback_server::body(3000000)) << query;
        EXPECT_GT(calls, 1u) << query;
    }
}

// A stream that pauses must not hold back what it already sent: the sink
// sees every byte before the pause, not only when more bytes follow.
TEST_P(client_test, a_pausing_stream_delivers_what_came_before_the_pause) {
    struct paused {
        std::string path;
        std::size_t before_pause;
    };
    for (const auto& [path, before_pause] : {
             paused{"/bytes/100000?stall_after=5000", 5000},
             paused{"/bytes/100000?chunked=1&stall_after=5000", 5000},
             // Large enough for batched reads (a socket low watermark): the
             // 50,000 bytes that come 100 ms after the first 100,000 are
             // fewer than the watermark, and the pause must lower it.
             paused{"/bytes/4000000?rate=1000000&stall_after=150000", 150000},
         }) {
        vow::promise<void> all_before_pause;
        std::size_t got = 0;
        auto f = client_.stream(url(path), [&](std::span<const char> bytes) {
            got += bytes.size();
            if (got == before_pause) all_before_pause.set_value();
        });
        auto seen = all_before_pause.get_future();
        EXPECT_TRUE(seen.wait_for(bound)) << path << ": " << got << " bytes";
        f.cancel();
        EXPECT_TRUE(f.wait_for(bound)) << path;
    }
}

TEST_P(client_test, a_throwing_sink_fails_the_request_with_its_exception) {
    struct sink_full : std::runtime_error {
        sink_full() : std::runtime_error("sink full") {}
    };
    auto f = client_.stream(url("/bytes/1000000"), [](std::span<const char>) { throw sink_full(); });
    ASSERT_TRUE(f.wait_for(bound));
    EXPECT_THROW(std::move(f).get(), sink_full);
}

TEST_P(client_test, bodies_over_the_limit_fail_with_body_limit_error) {
    vow::http::request_options o;
    o.max_body_size = 1000;
    failure_of<vow::http::body_limit_error>(client_.get(url("/bytes/5000"), o));
    failure_of<vow::http::body_limit_error>(client_.get(url("/bytes/5000?chunked=1"), o));
}

TEST_P(client_test, keep_alive_reuses_the_connection) {
    auto warm = client_.get(url("/bytes/10"));
    get_within(warm);
    auto before = server().connections_accepted();
    for (int i = 0; i < 5; ++i) {
        auto f = client_.get(url("/bytes/10"));
        get_within(f);
    }
    EXPECT_EQ(server().connections_accepted(), before);
}

// A large body is read in batches (a socket low watermark); the connection
// goes back to the pool without it, or the next small response would wait
// for bytes that never come.
TEST_P(client_test, a_connection_reused_after_a_large_body_reads_the_next_response) {
    auto big = client_.get(url("/bytes/3000000"));
    EXPECT_EQ(get_within(big).body.size(), 3000000u);
    auto before = server().connections_accepted();
    vow::http::request_options o;
    o.idle_timeout = 5s;
    auto small = client_.get(url("/bytes/10"), o);
    EXPECT_EQ(get_within(small).body, loopback_server::body(10));
    EXPECT_EQ(server().connections_accepted(), before) << "the same connection";
}

TEST_P(client_test, a_stale_pooled_connection_is_replaced_once_for_idempotent_requests) {
    auto first = client_.get(url("/bytes/10?drop_after_response=1"));
    get_within(first);  // pooled, but the server closes it
    auto before = server().connections_accepted();
    auto again = client_.get(url("/bytes/20"));
    EXPECT_EQ(get_within(again).body, loopback_server::body(20));
    EXPECT_EQ(server().connections_accepted(), before + 1) << "one fresh connection";
}

// The server's FIN is seen before a request is sent on a pooled connection,
// so even a request that may not be sent twice goes on a fresh one.
TEST_P(client_test, a_pooled_connection_the_server_closed_is_not_used) {
    if (GetParam()) GTEST_SKIP() << "TLS may read the server's close into its own buffer, out of sight of the check";
    auto fins = server().fins_sent();
    auto first = client_.get(url("/bytes/10?drop_after_response=1"));
    get_within(first);
    ASSERT_TRUE(server().wait_for_fins_sent(fins + 1, bound));
    auto before = server().connections_accepted();
    vow::http::request_options o;
    o.method = "POST";
    o.body = "payload";
    auto again = client_.get(url("/bytes/20"), o);
    EXPECT_EQ(get_within(again).body, loopback_server::body(20));
    EXPECT_EQ(server().connections_accepted(), before + 1) << "one fresh connection";
}

TEST_P(client_test, retry_policy_honours_retry_after_and_succeeds) {
    vow::http::request_options o;
    o.retry = vow::http::retry_policy(4);
    std::vector<vow::timer::duration> delays;
    o.retry->on_retry = [&](int, const std::exception_ptr&, vow::timer::duration d) { delays.push_back(d); };
    auto f = client_.get(url("/bytes/64?fail=1&status=503&retry_after=1&key=" + key("retry")), o);
    EXPECT_EQ(get_within(f).body, loopback_server::body(64));
    ASSERT_EQ(delays.size(), 1u);
    EXPECT_EQ(delays[0], std::chrono::duration_cast<vow::timer::duration>(1s));
}

TEST_P(client_test, a_retried_download_resumes_instead_of_restarting) {
    vow::http::request_options o;
    o.retry = vow::http::retry_policy(3);
    o.retry->initial_delay = 1ms;
    auto path = dir_ / "retried.bin";
    auto f = client_.download(url("/bytes/1000000?reset_after=400000&faults=1&key=" + key("rr")), path, o);
    auto r = get_within(f);
    EXPECT_EQ(r.status, 206u);
    EXPECT_GT(r.resumed_from, 0u);
    EXPECT_EQ(read_file(path), loopback_server::body(1000000));
}

TEST_P(client_test, download_all_completes_200_files_with_16_in_flight) {
    vow::http::client_options co = trusting_options();
    co.max_connections = 16;
    co.max_connections_per_host = 16;
    co.max_idle_per_host = 16;
    vow::http::client c(co);
    std::vector<vow::http::batch_item> items;
    for (int i = 0; i < 200; ++i) items.push_back({url("/bytes/" + std::to_string(1000 + i)), "f" + std::to_string(i)});
    auto f = c.download_all(items, dir_.path(), {});
    auto results = get_within(f);
    ASSERT_EQ(results.size(), 200u);
    for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(results[i].has_value()) << i;
        EXPECT_EQ(read_file(dir_ / ("f" + std::to_string(i))), loopback_server::body(1000 + i)) << i;
    }
}

// Idle connections are kept for the whole concurrency (not a fixed few) and
// each request runs on the I/O thread that holds one, so a batch reuses what
// it opened instead of connecting anew.
TEST_P(client_test, a_batch_opens_no_more_connections_than_it_has_in_flight) {
    vow::http::client_options co = trusting_options();
    co.io_threads = 2;
    co.max_connections = 32;
    co.max_connections_per_host = 32;
    vow::http::client c(co);
    std::vector<vow::http::batch_item> items;
    for (int i = 0; i < 500; ++i) items.push_back({url("/bytes/16"), "f" + std::to_string(i)});
    auto before = server().connections_accepted();
    auto f = c.download_all(items, dir_.path(), {});
    auto results = get_within(f);
    for (std::size_t i = 0; i < results.size(); ++i) ASSERT_TRUE(results[i].has_value()) << i;
    EXPECT_LE(server().connections_accepted() - before, 32u);
}

TEST_P(client_test, idle_connections_beyond_max_idle_per_host_are_closed) {
    vow::http::client_options co = trusting_options();
    co.max_idle_per_host = 1;
    vow::http::client c(co);
    // Two slow bodies at once (about 200 ms each) need two connections.
    auto two_at_once = [&] {
        auto a = c.get(url("/bytes/200?rate=1000"));
        auto b = c.get(url("/bytes/200?rate=1000"));
        get_within(a);
        get_within(b);
    };
    auto before = server().connections_accepted();
    two_at_once();
    EXPECT_EQ(server().connections_accepted() - before, 2u);
    two_at_once();
    EXPECT_EQ(server().connections_accepted() - before, 3u) << "one kept, one new";
}

TEST_P(client_test, download_all_keeps_every_items_outcome) {
    std::vector<vow::http::batch_item> items = {{url("/bytes/10"), ""}, {url("/status/404"), ""}, {"nope://x", "x"}};
    auto f = client_.download_all(items, dir_.path(), {});
    auto results = get_within(f);
    ASSERT_EQ(results.size(), 3u);
    EXPECT_TRUE(results[0].has_value());
    EXPECT_TRUE(fs::exists(dir_ / "10"));
    EXPECT_FALSE(results[1].has_value());
    EXPECT_FALSE(results[2].has_value());
}

TEST_P(client_test, the_per_host_limit_bounds_connections) {
    vow::http::client_options co = trusting_options();
    co.max_connections_per_host = 2;
    vow::http::client c(co);
    auto before = server().connections_accepted();
    std::vector<vow::future<vow::http::response>> fs;
    for (int i = 0; i < 12; ++i) fs.push_back(c.get(url("/bytes/20000")));
    for (auto& f : fs) get_within(f);
    EXPECT_LE(server().connections_accepted() - before, 2u);
}

// --- without the parameter -------------------------------------------------

TEST(client, malformed_urls_and_other_schemes_are_invalid_url) {
    vow::http::client c;
    failure_of<vow::http::invalid_url>(c.get("not a url"));
    failure_of<vow::http::invalid_url>(c.get("ftp://127.0.0.1/file"));
    failure_of<vow::http::invalid_url>(c.get("http://"));
}

TEST(client, a_refused_connection_is_a_transport_error) {
    // Bind a port, then close it: nothing listens there.
    boost::asio::io_context ctx;
    boost::asio::ip::tcp::acceptor a(ctx, {boost::asio::ip::make_address("127.0.0.1"), 0});
    auto port = a.local_endpoint().port();
    a.close();
    vow::http::client c;
    auto e = failure_of<vow::http::transport_error>(c.get("http://127.0.0.1:" + std::to_string(port) + "/"));
    EXPECT_EQ(e.code(), std::errc::connection_refused) << e.what();
}

TEST(client, an_unresolvable_host_is_a_transport_error) {
    vow::http::client c;
    failure_of<vow::http::transport_error>(c.get("http://no-such-host.invalid/"));
}

TEST(client, connect_timeout_covers_a_tls_handshake_that_never_answers) {
    // A listener that accepts and never speaks: the handshake waits forever.
    boost::asio::io_context ctx;
    boost::asio::ip::tcp::acceptor a(ctx, {boost::asio::ip::make_address("127.0.0.1"), 0});
    vow::http::client_options co;
    co.defaults.connect_timeout = 200ms;
    vow::http::client c(co);
    auto e = failure_of<vow::timeout_error>(
        c.get("https://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/"));
    EXPECT_NE(std::string(e.what()).find("connect timeout"), std::string::npos) << e.what();
}

TEST(client, tls_verification_fails_without_the_servers_ca) {
    vow::http::client c;
    auto e = failure_of<vow::http::transport_error>(c.get(server().https_url("/bytes/10")));
    EXPECT_NE(std::string(e.what()).find("TLS"), std::string::npos) << e.what();
}

TEST(client, insecure_skips_verification) {
    vow::http::client_options co;
    co.tls.insecure = true;
    vow::http::client c(co);
    auto f = c.get(server().https_url("/bytes/10"));
    EXPECT_EQ(get_within(f).body, loopback_server::body(10));
}

TEST(client, a_ca_file_is_trusted) {
    temp_dir dir;
    std::ofstream(dir / "ca.pem") << server().ca_pem();
    vow::http::client_options co;
    co.tls.ca_file = (dir / "ca.pem").string();
    vow::http::client c(co);
    auto f = c.get(server().https_url("/bytes/10"));
    EXPECT_EQ(get_within(f).body, loopback_server::body(10));
}

TEST(client, https_to_http_redirects_are_refused_unless_allowed) {
    vow::http::client c(trusting_options());
    failure_of<vow::http::redirect_error>(c.get(server().https_url("/to-http?to=/bytes/5")));
    vow::http::request_options o;
    o.allow_https_to_http = true;
    auto f = c.get(server().https_url("/to-http?to=/bytes/5"), o);
    EXPECT_EQ(get_within(f).body, loopback_server::body(5));
}

TEST(client, retry_waits_exactly_the_retry_after_on_the_manual_clock) {
    vow::manual_timer clock;
    vow::http::client_options co;
    co.retry_timer = &clock;
    vow::http::client c(co);
    vow::http::request_options o;
    o.retry = vow::http::retry_policy(4);
    std::mutex m;
    std::vector<vow::timer::duration> delays;
    std::latch first_retry(1);
    o.retry->on_retry = [&](int, const std::exception_ptr&, vow::timer::duration d) {
        std::lock_guard lock(m);
        delays.push_back(d);
        if (delays.size() == 1) first_retry.count_down();
    };
    std::string key = "manual" + std::to_string(::getpid());
    auto f = c.get(server().http_url("/bytes/8?fail=1&status=429&retry_after=120&key=" + key), o);
    first_retry.wait();
    // The backoff is pending on the manual clock for exactly Retry-After.
    while (clock.next_deadline() == vow::timer::time_point::max()) std::this_thread::yield();
    EXPECT_EQ(clock.next_deadline() - clock.now(), std::chrono::duration_cast<vow::timer::duration>(30s))
        << "Retry-After 120 s is capped by the policy's max_delay of 30 s";
    EXPECT_FALSE(f.is_ready());
    clock.advance(30s);
    EXPECT_EQ(get_within(f).body, loopback_server::body(8));
    EXPECT_EQ(server().requests_with_key(key), 2u);
}

TEST(client, destroying_the_client_during_a_retry_backoff_fails_the_future) {
    vow::manual_timer clock;
    vow::future<vow::http::response> f;
    std::latch retrying(1);
    std::string key = "destroyed" + std::to_string(::getpid());
    {
        vow::http::client_options co;
        co.retry_timer = &clock;
        vow::http::client c(co);
        vow::http::request_options o;
        o.retry = vow::http::retry_policy(4);
        o.retry->on_retry = [&](int, const std::exception_ptr&, vow::timer::duration) { retrying.count_down(); };
        f = c.get(server().http_url("/bytes/8?fail=1&status=503&key=" + key), o);
        retrying.wait();
    }
    while (clock.next_deadline() == vow::timer::time_point::max()) std::this_thread::yield();
    clock.advance(1h);  // the next attempt starts on a destroyed client
    ASSERT_TRUE(f.wait_for(bound));
    EXPECT_THROW(std::move(f).get(), vow::cancelled_error);
    EXPECT_EQ(server().requests_with_key(key), 1u);
}

// Second attempts start (their backoffs fired on one thread, the attempts
// run on the completion pool) while another thread destroys the client: each
// either runs (and the shutdown cancels it, or it completes first) or finds
// the client closed; none is lost or fails otherwise, and the shutdown does
// not hang waiting for a start. A bounded race; TSan checks it for data
// races, not the memory order of the start/shutdown protocol (the comment at
// client_core::spawn_unless_closed argues that).
TEST(client, attempts_started_while_the_client_is_destroyed_each_complete) {
    constexpr int rounds = 20;
    constexpr int requests = 16;
    for (int round = 0; round < rounds; ++round) {
        vow::manual_timer clock;
        std::vector<vow::future<vow::http::response>> fs;
        std::latch retrying(requests);
        std::latch go(2);
        std::thread firing;
        {
            vow::http::client_options co;
            co.retry_timer = &clock;
            co.io_threads = 2;
            vow::http::client c(co);
            vow::http::request_options o;
            o.retry = vow::http::retry_policy(2);
            o.retry->on_retry = [&](int, const std::exception_ptr&, vow::timer::duration) { retrying.count_down(); };
            for (int i = 0; i < requests; ++i) {
                const std::string key = "race-" + std::to_string(::getpid()) + "-" + std::to_string(round) + "-" +
                                        std::to_string(i);
                fs.push_back(c.get(server().http_url("/bytes/8?fail=1&status=503&key=" + key), o));
            }
            retrying.wait();
            // on_retry runs just before its backoff is armed: all armed, the advance fires each.
            for (const auto until = std::chrono::steady_clock::now() + bound;
                 clock.pending() != static_cast<std::size_t>(requests);) {
                ASSERT_LT(std::chrono::steady_clock::now(), until) << "round " << round << ": not every retry was armed";
                std::this_thread::yield();
            }
            firing = std::thread([&] {
                go.arrive_and_wait();
                clock.advance(1h);
            });
            go.arrive_and_wait();
        }
        firing.join();
        for (auto& f : fs) {
            ASSERT_TRUE(f.wait_for(bound)) << "round " << round;
            auto r = std::move(f).get_result();
            if (!r.has_exception()) continue;
            try {
                std::rethrow_exception(r.exception());
            } catch (const vow::cancelled_error&) {
            } catch (const std::exception& e) {
                ADD_FAILURE() << "round " << round << ": " << e.what();
            }
        }
    }
}

// With the inline executor a continuation runs on the client's I/O thread;
// destroying the client there cannot join that thread. It finishes closing
// on a thread of its own: the other request in flight is cancelled, and
// nothing hangs or ends the process. The continuation's request goes to a
// listener of the test's own, which answers only after the callback is
// attached: the request completes on an I/O thread, never inline here.
TEST(client, a_client_destroyed_by_a_continuation_on_its_own_io_thread_finishes_closing_after_it) {
    namespace asio = boost::asio;
    asio::io_context ctx;
    asio::ip::tcp::acceptor listener(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    vow::http::client_options co;
    co.completion_executor = &vow::inline_executor::instance();
    auto c = std::make_unique<vow::http::client>(co);
    auto slow = c->get(server().http_url("/bytes/100000?rate=1000"));
    auto quick = c->get("http://127.0.0.1:" + std::to_string(listener.local_endpoint().port()) + "/held");
    vow::promise<std::thread::id> destroyed_on;
    auto where = destroyed_on.get_future();
    quick.add_done_callback([&](const vow::result<vow::http::response>&) {
        c.reset();
        destroyed_on.set_value(std::this_thread::get_id());
    });
    // Now the request may complete: accept it, read its head, answer.
    asio::ip::tcp::socket peer(ctx);
    asio::streambuf head;
    listener.async_accept(peer, [&](boost::system::error_code ec) {
        if (!ec) asio::async_read_until(peer, head, "\r\n\r\n", [](boost::system::error_code, std::size_t) {});
    });
    ctx.run_for(bound);  // returns once the head is read (no work is left), or at the bound
    ASSERT_GT(head.size(), 0u) << "the request never came";
    asio::write(peer, asio::buffer(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
    ASSERT_TRUE(where.wait_for(bound));
    EXPECT_NE(std::move(where).get(), std::this_thread::get_id()) << "it ran on an I/O thread";
    ASSERT_TRUE(slow.wait_for(bound));
    EXPECT_THROW(std::move(slow).get(), vow::cancelled_error);
}

// A connection set aside for a request that is still queued for its slot
// is taken by the request that got a slot first, not left idle while that
// one connects anew. The origin is a listener of the test's own, so each
// response goes out when the test says: S1 and S2 fill the per-host limit of
// two; R1 queues for a slot; S1 ends, and while its callback holds the I/O
// thread, R3 starts and has S1's connection set aside for it; then R1 runs.
TEST(client, a_request_with_a_slot_takes_a_connection_set_aside_for_one_still_queued) {
    namespace asio = boost::asio;
    using error_code = boost::system::error_code;
    asio::io_context ctx;
    asio::ip::tcp::acceptor listener(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    const std::string origin = "http://127.0.0.1:" + std::to_string(listener.local_endpoint().port());
    const std::string_view ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    vow::http::client_options co;
    co.io_threads = 1;
    co.max_connections_per_host = 2;
    co.completion_executor = &vow::inline_executor::instance();
    vow::http::client c(co);

    auto accept_and_read_head = [&](asio::ip::tcp::socket& s, asio::streambuf& head) {
        listener.accept(s);
        asio::read_until(s, head, "\r\n\r\n");
        head.consume(head.size());
    };
    asio::ip::tcp::socket a(ctx), b(ctx);
    asio::streambuf head_a, head_b;
    auto s1 = c.get(origin + "/s1");
    accept_and_read_head(a, head_a);
    auto s2 = c.get(origin + "/s2");
    accept_and_read_head(b, head_b);
    auto r1 = c.get(origin + "/r1");  // no slot: both are taken

    std::latch in_callback(1), go_on(1);
    s1.add_done_callback([&](const vow::result<vow::http::response>&) {
        in_callback.count_down();
        go_on.wait();  // holds the I/O thread: R1, granted S1's slot, waits behind it
    });
    asio::write(a, asio::buffer(ok));  // S1 ends: its connection goes idle, its slot to R1
    in_callback.wait();
    auto r3 = c.get(origin + "/r3");  // S1's idle connection is set aside for R3
    go_on.count_down();

    // R1's request: on S1's connection, or on a new one.
    asio::ip::tcp::socket extra(ctx);
    bool connected_anew = false, sent_on_a = false;
    listener.async_accept(extra, [&](error_code ec) { connected_anew = !ec; });
    asio::async_read_until(a, head_a, "\r\n\r\n", [&](error_code ec, std::size_t) { sent_on_a = !ec; });
    ctx.run_one_for(bound);
    listener.cancel();
    ctx.restart();
    ctx.poll();
    EXPECT_FALSE(connected_anew) << "R1 opened a third connection to a host limited to two";
    ASSERT_TRUE(sent_on_a) << "R1's request never came";
    head_a.consume(head_a.size());
    asio::write(a, asio::buffer(ok));
    EXPECT_EQ(get_within(r1).body, "ok");

    // R3 gets R1's slot and takes the connection back.
    asio::read_until(a, head_a, "\r\n\r\n");
    asio::write(a, asio::buffer(ok));
    EXPECT_EQ(get_within(r3).body, "ok");
    asio::write(b, asio::buffer(ok));
    EXPECT_EQ(get_within(s2).body, "ok");
    EXPECT_EQ(get_within(s1).body, "ok");
}

TEST(client, credentials_are_not_sent_to_another_origin) {
    vow::http::client c(trusting_options());
    vow::http::request_options o;
    o.headers = {{"Authorization", "Bearer secret"}, {"X-Trace", "t1"}};
    auto same = c.get(server().http_url("/redirect/1?to=/echo-headers"), o);
    EXPECT_NE(get_within(same).body.find("Bearer secret"), std::string::npos);
    o.allow_https_to_http = true;
    auto other = c.get(server().https_url("/to-http?to=/echo-headers"), o);
    auto body = get_within(other).body;
    EXPECT_EQ(body.find("Bearer secret"), std::string::npos) << body;
    EXPECT_NE(body.find("t1"), std::string::npos) << body;
}

TEST(client, a_field_given_twice_is_sent_twice_but_one_the_client_sets_is_replaced) {
    vow::http::client c;
    vow::http::request_options o;
    o.headers = {{"X-Tag", "a"}, {"User-Agent", "first/1"}, {"x-tag", "b"}, {"User-Agent", "second/2"}};
    auto sent = get_within(c.get(server().http_url("/echo-headers"), o)).body;
    EXPECT_NE(sent.find("X-Tag: a\r\n"), std::string::npos) << sent;
    EXPECT_NE(sent.find("x-tag: b\r\n"), std::string::npos) << sent;
    EXPECT_NE(sent.find("User-Agent: second/2\r\n"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("first/1"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("vow-http/"), std::string::npos) << sent;
}

TEST(client, non_idempotent_methods_are_not_retried) {
    vow::http::client c;
    vow::http::request_options o;
    o.method = "POST";
    o.body = "x";
    o.retry = vow::http::retry_policy(4, "POST");
    std::string key = "post" + std::to_string(::getpid());
    auto e = failure_of<vow::http::status_error>(c.get(server().http_url("/bytes/8?fail=1&status=503&key=" + key), o));
    EXPECT_EQ(e.status(), 503u);
    EXPECT_EQ(server().requests_with_key(key), 1u);
}

TEST(client, destroying_the_client_cancels_what_is_in_flight) {
    vow::future<vow::http::response> f;
    {
        vow::http::client c;
        f = c.get(server().http_url("/hang"));
    }
    ASSERT_TRUE(f.wait_for(bound));
    EXPECT_THROW(std::move(f).get(), vow::cancelled_error);
}

TEST(client, file_name_for_takes_the_last_path_segment) {
    EXPECT_EQ(vow::http::file_name_for("http://h/a/b/file.tar.gz?x=1"), "file.tar.gz");
    EXPECT_EQ(vow::http::file_name_for("http://h/"), "index.html");
    EXPECT_EQ(vow::http::file_name_for("http://h"), "index.html");
    EXPECT_EQ(vow::http::file_name_for("https://h/dir/"), "index.html");
    EXPECT_EQ(vow::http::file_name_for("http://h/a/b.txt#part/2"), "b.txt") << "the fragment is not the path";
    EXPECT_EQ(vow::http::file_name_for("http://[::1]:8080/x.iso?mirror=a/b"), "x.iso");
    EXPECT_EQ(vow::http::file_name_for("HTTP://user:pw@h/%C3%A9t%C3%A9.txt"), "%C3%A9t%C3%A9.txt")
        << "as sent: percent-encoded";
    EXPECT_EQ(vow::http::file_name_for("http://h?q=a/b"), "index.html") << "a query with no path";
    EXPECT_EQ(vow::http::file_name_for("ftp://h/pub/f.tgz"), "f.tgz") << "named, then refused by download()";
    EXPECT_EQ(vow::http::file_name_for("no scheme/dir/f.bin"), "f.bin");
}

}  // namespace
