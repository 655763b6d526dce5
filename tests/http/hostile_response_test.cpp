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
#include <string>

#include "vow/http/loopback_server.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using vow::http::loopback_server;

// Bounds every wait of a test: a bug fails it instead of hanging it.
constexpr auto bound = 20s;

loopback_server& server() {
    static loopback_server s;
    return s;
}

template <class T>
T get_within(vow::future<T>& f) {
    if (!f.wait_for(bound)) throw std::runtime_error("test bound exceeded");
    return std::move(f).get();
}

template <class E, class T>
E failure_of(vow::future<T> f) {
    if (!f.wait_for(bound)) throw std::runtime_error("test bound exceeded");
    try {
        std::move(f).get();
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "unexpected error type: " << e.what();
        throw;
    }
    ADD_FAILURE() << "expected a failure";
    throw std::runtime_error("no failure");
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

}  // namespace
