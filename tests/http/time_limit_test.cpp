// Huge time limits mean "no limit to speak of": time_limit saturates any
// std::chrono::duration (seconds::max(), hours(1e9), 1e30 s) instead of
// overflowing, so every timeout option set that high still lets a download
// through the loopback server succeed.
#include "vow/http/time_limit.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>

#include <unistd.h>

#include "http_test_support.hpp"
#include "vow/http/client.hpp"
#include "vow/http/loopback_server.hpp"

namespace {

using namespace std::chrono_literals;
using vow::http::loopback_server;
using vow::http::no_time_limit;
using vow::http::time_limit;
using namespace vow_http_test;

loopback_server& server() {
    static loopback_server s;
    return s;
}

const std::chrono::hours a_billion_hours{1'000'000'000};

TEST(time_limit, values_in_range_convert_exactly) {
    EXPECT_EQ(time_limit(250ms), 250ms);
    EXPECT_EQ(time_limit(30s), 30s);
    EXPECT_EQ(time_limit(std::chrono::duration<double>(1.5)), 1500ms);
    EXPECT_EQ(time_limit(24h * 365 * 50), 24h * 365 * 50);
}

TEST(time_limit, values_too_large_for_the_clock_saturate_at_no_time_limit) {
    EXPECT_EQ(time_limit(std::chrono::seconds::max()), no_time_limit);
    EXPECT_EQ(time_limit(a_billion_hours), no_time_limit);
    EXPECT_EQ(time_limit(std::chrono::nanoseconds::max()), no_time_limit);
    EXPECT_EQ(time_limit(std::chrono::duration<double>(1e30)), no_time_limit);
    EXPECT_EQ(time_limit(std::chrono::duration<double>(std::numeric_limits<double>::infinity())), no_time_limit);
    // The deadline it gives is in the future, far away.
    EXPECT_GT(std::chrono::steady_clock::now() + time_limit(std::chrono::seconds::max()),
              std::chrono::steady_clock::now() + 24h * 365 * 99);
}

TEST(time_limit, negative_and_nan_values_are_zero) {
    EXPECT_EQ(time_limit(-5s), 0s);
    EXPECT_EQ(time_limit(std::chrono::seconds::min()), 0s);
    EXPECT_EQ(time_limit(std::chrono::duration<double>(std::nan(""))), 0s);
}

// Downloads 100,000 bytes with `change` applied to the options; they must arrive.
void expect_download_succeeds(const std::function<void(vow::http::request_options&)>& change,
                              vow::http::client_options client_options = {}) {
    vow::http::client c(client_options);
    vow::http::request_options o;
    change(o);
    auto dir = std::filesystem::temp_directory_path() / ("vow-time-limit-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto r = get_within(c.download(server().http_url("/bytes/100000"), dir / "f", o));
    EXPECT_EQ(r.size, 100000u);
    EXPECT_EQ(read_file(dir / "f"), loopback_server::body(100000));
    std::filesystem::remove_all(dir);
}

TEST(time_limit, a_connect_timeout_of_seconds_max_or_a_billion_hours_does_not_time_out) {
    expect_download_succeeds([](auto& o) { o.connect_timeout = std::chrono::seconds::max(); });
    expect_download_succeeds([](auto& o) { o.connect_timeout = a_billion_hours; });
}

TEST(time_limit, an_idle_timeout_of_seconds_max_or_a_billion_hours_does_not_time_out) {
    expect_download_succeeds([](auto& o) { o.idle_timeout = std::chrono::seconds::max(); });
    expect_download_succeeds([](auto& o) { o.idle_timeout = a_billion_hours; });
}

TEST(time_limit, a_total_timeout_of_seconds_max_or_a_billion_hours_does_not_time_out) {
    expect_download_succeeds([](auto& o) { o.total_timeout = std::chrono::seconds::max(); });
    expect_download_succeeds([](auto& o) { o.total_timeout = a_billion_hours; });
}

TEST(time_limit, a_low_speed_time_of_seconds_max_or_a_billion_hours_does_not_fail_the_body) {
    expect_download_succeeds([](auto& o) {
        o.low_speed_limit = 1;
        o.low_speed_time = std::chrono::seconds::max();
    });
    expect_download_succeeds([](auto& o) {
        o.low_speed_limit = 1;
        o.low_speed_time = a_billion_hours;
    });
}

TEST(time_limit, a_progress_interval_of_seconds_max_still_gives_the_final_report) {
    int reports = 0;
    std::uint64_t last = 0;
    expect_download_succeeds([&](auto& o) {
        o.progress_interval = std::chrono::seconds::max();
        o.on_progress = [&](const vow::http::progress& p) {
            ++reports;
            last = p.received;
        };
    });
    EXPECT_GE(reports, 1);
    EXPECT_EQ(last, 100000u);
}

TEST(time_limit, an_idle_keep_alive_of_seconds_max_keeps_the_connection_for_reuse) {
    vow::http::client_options co;
    co.idle_keep_alive = std::chrono::seconds::max();
    vow::http::client c(co);
    get_within(c.get(server().http_url("/bytes/10")));
    const auto before = server().connections_accepted();
    auto r = get_within(c.get(server().http_url("/bytes/20")));
    EXPECT_EQ(r.body, loopback_server::body(20));
    EXPECT_EQ(server().connections_accepted(), before) << "the pooled connection was reused";
}

}  // namespace
