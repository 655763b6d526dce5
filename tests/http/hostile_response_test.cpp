// vow::http against servers that misbehave on purpose: interim responses,
// oversized framing, lying ranges, endless and trickling bodies. Each case
// goes through the loopback server, over HTTP and HTTPS.
#include "vow/http/client.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "http_test_support.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/manual_executor.hpp"

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

// The process's peak resident set (VmHWM), in KiB; 0 when unknown.
long peak_rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0;
}

// Lowers the peak to the current resident set (Linux: clear_refs 5), so a
// test measures its own peak, not an earlier test's.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// A .part of `bytes` left by an earlier attempt at `from_url`, with the
// .part.meta that lets a download of that URL resume it.
void leave_part(const fs::path& final_path, std::uint64_t bytes, const std::string& from_url) {
    auto part = final_path;
    part += ".part";
    std::ofstream(part, std::ios::binary) << loopback_server::body(bytes);
    auto meta = final_path;
    meta += ".part.meta";
    std::ofstream(meta) << "vow-part-meta 1\nurl " << from_url << "\n";
}

bool mentions(const std::exception& e, const std::string& text) {
    return std::string(e.what()).find(text) != std::string::npos;
}

class hostile_response_test : public ::testing::TestWithParam<bool> {
protected:
    hostile_response_test() {
        dir_ = fs::temp_directory_path() / ("vow_hostile_" + std::to_string(::getpid()) + "_" +
                                            std::to_string(counter_++));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    ~hostile_response_test() override { fs::remove_all(dir_); }

    std::string url(const std::string& target) const {
        return GetParam() ? server().https_url(target) : server().http_url(target);
    }
    static vow::http::client_options trusting() {
        vow::http::client_options o;
        o.tls.ca_pem = server().ca_pem();
        return o;
    }

    static inline std::atomic<int> counter_{0};
    fs::path dir_;
    vow::http::client client_{trusting()};
};

INSTANTIATE_TEST_SUITE_P(http_and_https, hostile_response_test, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "https" : "http"; });

// --- interim (1xx) responses --------------------------------------------------

TEST_P(hostile_response_test, early_hints_and_continue_before_the_response_are_skipped) {
    auto hints = client_.get(url("/informational/3?code=103&body=1000"));
    auto r = get_within(hints);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, loopback_server::body(1000));

    auto path = dir_ / "after_continue.bin";
    auto cont = client_.download(url("/informational/1?code=100&body=5000"), path);
    EXPECT_EQ(get_within(cont).size, 5000u);
}

// Split-point grind: the same responses written 1, 2, 3, ... bytes at a
// time, so every boundary of a head, an interim head and the chunk framing
// falls between two reads somewhere.
TEST_P(hostile_response_test, interim_heads_and_chunk_framing_parse_across_any_split) {
    for (int split = 1; split <= 13; ++split) {
        const std::string s = "&split=" + std::to_string(split);
        auto hints = client_.get(url("/informational/2?body=300" + s));
        EXPECT_EQ(get_within(hints).body, loopback_server::body(300)) << split;
        auto framing = client_.get(url("/chunked-framing?body=300&ext=40&trailer=200" + s));
        EXPECT_EQ(get_within(framing).body, loopback_server::body(300)) << split;
    }
    auto e = failure_of<vow::http::protocol_error>(client_.get(url("/chunked-framing?body=10&trailer=70000&split=4096")));
    EXPECT_TRUE(mentions(e, "trailer section")) << e.what();
}

TEST_P(hostile_response_test, a_connection_after_interim_responses_is_reused_cleanly) {
    auto first = client_.get(url("/informational/2?body=100"));
    EXPECT_EQ(get_within(first).body, loopback_server::body(100));
    auto second = client_.get(url("/bytes/200"));
    EXPECT_EQ(get_within(second).body, loopback_server::body(200));
}

TEST_P(hostile_response_test, more_interim_responses_than_the_limit_are_a_protocol_error) {
    auto ten = client_.get(url("/informational/10"));
    EXPECT_EQ(get_within(ten).status, 200u);
    auto e = failure_of<vow::http::protocol_error>(client_.get(url("/informational/11")));
    EXPECT_TRUE(mentions(e, "more than 10 interim (1xx) responses")) << e.what();
}

TEST_P(hostile_response_test, switching_protocols_unasked_is_a_protocol_error) {
    auto e = failure_of<vow::http::protocol_error>(client_.get(url("/informational/1?code=101")));
    EXPECT_TRUE(mentions(e, "101")) << e.what();
}

// --- chunked framing, reason phrase, Location -----------------------------------

TEST_P(hostile_response_test, extensions_and_trailers_under_the_limits_are_read) {
    auto f = client_.get(url("/chunked-framing?body=1000&ext=1000&trailer=8000"));
    EXPECT_EQ(get_within(f).body, loopback_server::body(1000));
}

// A 200 MiB trailer section: a typed error after at most chunk_framing_limit
// bytes of it, with the body bytes already written and no memory growth.
TEST_P(hostile_response_test, a_huge_trailer_section_fails_fast_in_bounded_memory) {
    auto path = dir_ / "trailer.bin";
    reset_peak_rss();
    const long before = peak_rss_kib();
    auto e = failure_of<vow::http::protocol_error>(
        client_.download(url("/chunked-framing?body=100000&trailer=" + std::to_string(200 << 20)), path));
    const long grew_kib = peak_rss_kib() - before;
    EXPECT_TRUE(mentions(e, "trailer section")) << e.what();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_EQ(read_file(dir_ / "trailer.bin.part"), loopback_server::body(100000));
    if (before > 0) {
        EXPECT_LT(grew_kib, 32 * 1024) << "peak RSS grew by " << grew_kib << " KiB";
    }
}

TEST_P(hostile_response_test, huge_chunk_extensions_fail_fast_in_bounded_memory) {
    auto path = dir_ / "ext.bin";
    reset_peak_rss();
    const long before = peak_rss_kib();
    auto e = failure_of<vow::http::protocol_error>(
        client_.download(url("/chunked-framing?body=5000&ext=" + std::to_string(200 << 20)), path));
    const long grew_kib = peak_rss_kib() - before;
    EXPECT_TRUE(mentions(e, "chunk-size line with its extensions")) << e.what();
    EXPECT_EQ(read_file(dir_ / "ext.bin.part"), loopback_server::body(5000));
    if (before > 0) {
        EXPECT_LT(grew_kib, 32 * 1024) << "peak RSS grew by " << grew_kib << " KiB";
    }
}

TEST_P(hostile_response_test, a_reason_phrase_over_the_limit_is_a_protocol_error) {
    auto ok = client_.get(url("/long-reason?length=1024"));
    EXPECT_EQ(get_within(ok).reason.size(), 1024u);
    auto e = failure_of<vow::http::protocol_error>(client_.get(url("/long-reason?length=1025")));
    EXPECT_TRUE(mentions(e, "reason phrase")) << e.what();
}

TEST_P(hostile_response_test, a_redirect_location_over_the_limit_is_a_protocol_error) {
    auto ok = client_.get(url("/long-location?length=8000"));
    EXPECT_EQ(get_within(ok).body, loopback_server::body(16));
    auto e = failure_of<vow::http::protocol_error>(client_.get(url("/long-location?length=8200")));
    EXPECT_TRUE(mentions(e, "Location")) << e.what();
}

// --- 206 and Content-Range ---------------------------------------------------

TEST_P(hostile_response_test, a_206_to_a_request_without_range_is_a_protocol_error) {
    auto path = dir_ / "unasked.bin";
    auto e = failure_of<vow::http::protocol_error>(
        client_.download(url("/partial?first=30000&last=30999&total=100000"), path));
    EXPECT_TRUE(mentions(e, "asked for no range")) << e.what();
    EXPECT_FALSE(fs::exists(path));
    failure_of<vow::http::protocol_error>(client_.get(url("/partial?first=0&last=99&total=100")));
}

TEST_P(hostile_response_test, a_206_that_stops_short_of_the_total_is_never_committed) {
    auto path = dir_ / "short206.bin";
    leave_part(path, 30000, url("/partial?first=30000&last=30999&total=100000"));
    auto e = failure_of<vow::http::protocol_error>(
        client_.download(url("/partial?first=30000&last=30999&total=100000"), path));
    EXPECT_TRUE(mentions(e, "ends before the last byte")) << e.what();
    EXPECT_FALSE(fs::exists(path));
}

TEST_P(hostile_response_test, a_206_that_starts_elsewhere_is_a_protocol_error) {
    auto path = dir_ / "elsewhere.bin";
    leave_part(path, 1000, url("/partial?first=2000&last=9999&total=10000"));
    auto e = failure_of<vow::http::protocol_error>(
        client_.download(url("/partial?first=2000&last=9999&total=10000"), path));
    EXPECT_TRUE(mentions(e, "does not continue at byte 1000")) << e.what();
    EXPECT_FALSE(fs::exists(path));
}

TEST_P(hostile_response_test, a_chunked_206_shorter_than_its_range_is_never_committed) {
    auto path = dir_ / "chunked206.bin";
    leave_part(path, 1000, url("/partial?first=1000&last=9999&total=10000&send=5000&chunked=1"));
    auto e = failure_of<vow::http::protocol_error>(
        client_.download(url("/partial?first=1000&last=9999&total=10000&send=5000&chunked=1"), path));
    EXPECT_TRUE(mentions(e, "not the 10000")) << e.what();
    EXPECT_FALSE(fs::exists(path));
}

TEST_P(hostile_response_test, a_206_that_completes_the_file_is_committed) {
    auto path = dir_ / "good206.bin";
    leave_part(path, 1000, url("/partial?first=1000&last=9999&total=10000&chunked=1"));
    auto f = client_.download(url("/partial?first=1000&last=9999&total=10000&chunked=1"), path);
    auto r = get_within(f);
    EXPECT_EQ(r.status, 206u);
    EXPECT_EQ(r.resumed_from, 1000u);
    EXPECT_EQ(read_file(path), loopback_server::body(10000));
}

TEST_P(hostile_response_test, a_range_asked_through_the_headers_may_get_a_206) {
    vow::http::request_options o;
    o.headers.emplace_back("Range", "bytes=10-19");
    auto f = client_.get(url("/bytes/100"), o);
    auto r = get_within(f);
    EXPECT_EQ(r.status, 206u);
    EXPECT_EQ(r.body, loopback_server::body(20).substr(10));
}

// --- max_download_size ---------------------------------------------------------

TEST_P(hostile_response_test, a_chunked_body_past_max_download_size_fails_with_body_limit_error) {
    vow::http::request_options o;
    o.max_download_size = 100000;
    std::uint64_t seen = 0;
    auto e = failure_of<vow::http::body_limit_error>(
        client_.stream(url("/bytes/300000?chunked=1"), [&](std::span<const char> bytes) { seen += bytes.size(); }, o));
    EXPECT_TRUE(mentions(e, "max_download_size (100000 bytes)")) << e.what();
    EXPECT_LE(seen, 100000u);
    auto at_cap = client_.download(url("/bytes/100000?chunked=1"), dir_ / "at_cap.bin", o);
    EXPECT_EQ(get_within(at_cap).size, 100000u);
}

TEST_P(hostile_response_test, max_body_size_is_named_when_a_body_in_memory_goes_past_it) {
    vow::http::request_options o;
    o.max_body_size = 1000;
    auto announced = failure_of<vow::http::body_limit_error>(client_.get(url("/bytes/5000"), o));
    EXPECT_TRUE(mentions(announced, "is 5000 bytes, more than max_body_size (1000 bytes)")) << announced.what();
    auto grown = failure_of<vow::http::body_limit_error>(client_.get(url("/bytes/5000?to_close=1"), o));
    EXPECT_TRUE(mentions(grown, "/bytes/5000?to_close=1 grew past max_body_size (1000 bytes)")) << grown.what();
}

TEST_P(hostile_response_test, a_body_read_to_close_is_capped_by_max_download_size_too) {
    auto whole = client_.get(url("/bytes/300000?to_close=1"));
    EXPECT_EQ(get_within(whole).body, loopback_server::body(300000));
    vow::http::request_options o;
    o.max_download_size = 100000;
    auto path = dir_ / "to_close.bin";
    auto e = failure_of<vow::http::body_limit_error>(client_.download(url("/bytes/300000?to_close=1"), path, o));
    EXPECT_TRUE(mentions(e, "grew past")) << e.what();
    EXPECT_FALSE(fs::exists(path));
    EXPECT_LE(fs::file_size(dir_ / "to_close.bin.part"), 100000u);
}

TEST_P(hostile_response_test, a_head_block_over_the_limit_names_it) {
    auto e = failure_of<vow::http::protocol_error>(client_.get(url("/big-headers")));
    EXPECT_TRUE(mentions(e, "larger than 65536 bytes")) << e.what();
}

TEST_P(hostile_response_test, an_announced_length_past_max_download_size_fails_before_any_file) {
    vow::http::request_options o;
    o.max_download_size = 100000;
    auto path = dir_ / "big.bin";
    auto e = failure_of<vow::http::body_limit_error>(client_.download(url("/bytes/100001"), path, o));
    EXPECT_TRUE(mentions(e, "100001 bytes")) << e.what();
    EXPECT_FALSE(fs::exists(dir_ / "big.bin.part"));
    EXPECT_FALSE(fs::exists(path));
}

TEST_P(hostile_response_test, max_download_size_counts_the_resumed_part) {
    vow::http::request_options o;
    o.max_download_size = 100000;
    auto path = dir_ / "resumed.bin";
    leave_part(path, 60000, url("/bytes/100001"));
    auto e = failure_of<vow::http::body_limit_error>(client_.download(url("/bytes/100001"), path, o));
    EXPECT_TRUE(mentions(e, "100001 bytes")) << e.what();
    EXPECT_EQ(fs::file_size(dir_ / "resumed.bin.part"), 60000u);
}

// --- the minimum-speed guard -----------------------------------------------------
// Real time, bounded: the guard's window is 300 ms and the body trickles.

TEST_P(hostile_response_test, a_body_trickling_at_one_byte_a_second_trips_the_speed_guard) {
    vow::http::request_options o;
    o.low_speed_limit = 100;
    o.low_speed_time = 300ms;
    const auto started = std::chrono::steady_clock::now();
    auto e = failure_of<vow::timeout_error>(client_.download(url("/bytes/1000?rate=1"), dir_ / "slow.bin", o));
    EXPECT_TRUE(mentions(e, "low speed")) << e.what();
    EXPECT_TRUE(mentions(e, "under the 100 bytes/s of low_speed_limit")) << e.what();
    // Within two windows (the idle timeout, 30 s, would never fire: a byte comes every second).
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    auto chunked = client_.get(url("/bytes/1000?rate=1&chunked=1"), o);
    EXPECT_TRUE(mentions(failure_of<vow::timeout_error>(std::move(chunked)), "low speed"));
}

TEST_P(hostile_response_test, a_body_faster_than_the_speed_guard_completes) {
    vow::http::request_options o;
    o.low_speed_limit = 1000;
    o.low_speed_time = 200ms;
    // 100 KiB/s in 100 ms slices for about 0.6 s: several windows, each well over the limit.
    auto f = client_.get(url("/bytes/60000?rate=100000"), o);
    EXPECT_EQ(get_within(f).body, loopback_server::body(60000));
}

// --- messages ------------------------------------------------------------------

TEST_P(hostile_response_test, a_chunked_body_cut_short_says_how_many_bytes_came) {
    auto e = failure_of<vow::http::transport_error>(client_.get(url("/bytes/100000?chunked=1&short_after=5000")));
    EXPECT_TRUE(mentions(e, "ended after 5000 bytes, before its last chunk")) << e.what();
}

TEST_P(hostile_response_test, time_waiting_for_a_slow_sink_does_not_trip_the_speed_guard) {
    for (const std::string query : {"", "?chunked=1"}) {
        vow::manual_executor sink_side;
        auto co = trusting();
        co.completion_executor = &sink_side;
        vow::http::client client(co);
        vow::http::request_options o;
        o.low_speed_limit = 1 << 20;
        o.low_speed_time = 300ms;
        std::size_t got = 0;
        auto f = client.stream(url("/bytes/5000000" + query), [&](std::span<const char> bytes) { got += bytes.size(); },
                               o);
        auto deadline = std::chrono::steady_clock::now() + bound;
        bool slow_call_done = false;
        while (!f.is_ready() && std::chrono::steady_clock::now() < deadline) {
            if (!slow_call_done && sink_side.pending() > 0) {
                // A sink call that takes three windows while the reads fill
                // both buffers and wait for it: the user's time, not the server's.
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
    }
}

}  // namespace
