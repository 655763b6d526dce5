// client_options::max_bytes_per_second against the loopback server: the cap
// holds for all the downloads of a client together. Only a lower bound on
// the time is checked (it cannot fail by the machine being slow); the 10 s
// accuracy is measured by bench/limit_rate.sh.
#include "vow/http/client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>

#include "http_test_support.hpp"
#include "vow/http/loopback_server.hpp"

namespace {

namespace fs = std::filesystem;
using vow::http::loopback_server;
using namespace vow_http_test;

loopback_server& server() {
    static loopback_server s({.tls = false});
    return s;
}

vow::http::client_options capped_at(std::uint64_t bytes_per_second) {
    vow::http::client_options o;
    o.max_bytes_per_second = bytes_per_second;
    return o;
}

TEST(limit_rate, downloads_in_flight_share_the_cap_and_take_at_least_their_bytes_over_the_rate) {
    const auto dir = fs::temp_directory_path() / ("vow_limit_rate_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    vow::http::client client(capped_at(300 * 1000));
    const auto started = std::chrono::steady_clock::now();
    // 300 kB in all, one Content-Length body and one chunked: a second at the cap.
    auto a = client.download(server().http_url("/bytes/150000"), dir / "a.bin");
    auto b = client.get(server().http_url("/bytes/150000?chunked=1"));
    EXPECT_EQ(get_within(a).size, 150000u);
    EXPECT_EQ(get_within(b).body, loopback_server::body(150000));
    const auto took = std::chrono::steady_clock::now() - started;
    // The first read of each may go at once: a tenth of a second's worth each.
    EXPECT_GE(took, std::chrono::milliseconds(800));
    fs::remove_all(dir);
}

TEST(limit_rate, a_cap_of_zero_means_no_cap_as_in_curl) {
    vow::http::client client(capped_at(0));
    // At a cap of 1 byte/s (or any cap at all) this would outlast the test's bound.
    EXPECT_EQ(get_within(client.get(server().http_url("/bytes/3000000"))).body.size(), 3000000u);
}

}  // namespace
