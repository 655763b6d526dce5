#include "vow/http/loopback_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using vow::http::loopback_server;
using namespace std::chrono_literals;

// Every socket operation of a test gives up after this long, so a server bug
// fails the test instead of hanging it.
constexpr auto io_timeout = 10s;

using response = bhttp::response<bhttp::string_body>;

struct exchange_result {
    response message;
    beast::error_code ec;
    std::size_t body_bytes = 0;  // received before any error
};

// One HTTP/1.1 connection to the loopback server, used one step at a time:
// each step starts one Beast operation and runs the io_context until it is done.
// (Async operations because tcp_stream's timeouts apply to those only, and a
// server bug must fail a test, not hang it.)
template <class Stream>
class connection_base {
public:
    template <class... Args>
    explicit connection_base(asio::io_context& ioc, Args&&... args)
        : ioc_(ioc), stream_(ioc, std::forward<Args>(args)...) {}

    void set_timeout(std::chrono::steady_clock::duration d) { timeout_ = d; }

    exchange_result get(std::string target, std::vector<std::pair<std::string, std::string>> fields = {},
                        bool close = false) {
        bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
        request.set(bhttp::field::host, "127.0.0.1");
        for (auto& [name, value] : fields) request.set(name, value);
        if (close) request.set(bhttp::field::connection, "close");

        exchange_result result;
        result.ec = send(request);
        if (result.ec) return result;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64ull * 1024 * 1024);
        result.ec = step([&](auto handler) { bhttp::async_read(stream_, buffer_, parser, std::move(handler)); });
        result.message = parser.release();
        result.body_bytes = result.message.body().size();
        return result;
    }

    beast::error_code send(const bhttp::request<bhttp::empty_body>& request) {
        return step([&](auto handler) { bhttp::async_write(stream_, request, std::move(handler)); });
    }

    // Sends a GET and reads the response header only; the body stays unread.
    beast::error_code get_header(std::string target) {
        if (auto ec = send(bhttp::request<bhttp::empty_body>{bhttp::verb::get, target, 11})) return ec;
        header_parser_.emplace();
        return step([&](auto handler) { bhttp::async_read_header(stream_, buffer_, *header_parser_, std::move(handler)); });
    }

    // Reads raw bytes until an error (the end of the connection); returns it.
    beast::error_code read_until_error() {
        std::array<char, 4096> bytes;
        beast::error_code ec;
        while (!ec) {
            ec = step([&](auto handler) { stream_.async_read_some(asio::buffer(bytes), std::move(handler)); });
        }
        return ec;
    }

protected:
    template <class Start>
    beast::error_code step(Start&& start) {
        beast::error_code result;
        beast::get_lowest_layer(stream_).expires_after(timeout_);
        std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
        ioc_.restart();
        ioc_.run();
        return result;
    }

    asio::io_context& ioc_;
    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::response_parser<bhttp::string_body>> header_parser_;
    std::chrono::steady_clock::duration timeout_ = io_timeout;
};

const tcp::endpoint loopback(unsigned short port) { return {asio::ip::make_address_v4("127.0.0.1"), port}; }

class plain_connection : public connection_base<beast::tcp_stream> {
public:
    plain_connection(asio::io_context& ioc, unsigned short port) : connection_base(ioc) {
        auto ec = step([&](auto handler) { stream_.async_connect(loopback(port), std::move(handler)); });
        if (ec) throw beast::system_error(ec);
    }
};

class tls_connection : public connection_base<beast::ssl_stream<beast::tcp_stream>> {
public:
    tls_connection(asio::io_context& ioc, asio::ssl::context& ctx, unsigned short port, beast::error_code& ec)
        : connection_base(ioc, ctx) {
        auto& tcp_layer = beast::get_lowest_layer(stream_);
        ec = step([&](auto handler) { tcp_layer.async_connect(loopback(port), std::move(handler)); });
        if (ec) return;
        stream_.set_verify_mode(asio::ssl::verify_peer);
        stream_.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
        ec = step([&](auto handler) { stream_.async_handshake(asio::ssl::stream_base::client, std::move(handler)); });
    }
};

std::string field_of(const response& message, bhttp::field name) {
    auto it = message.find(name);
    return it == message.end() ? std::string{} : std::string(it->value());
}

class loopback_server_test : public ::testing::Test {
protected:
    loopback_server server_;
    asio::io_context ioc_;

    plain_connection connect() { return plain_connection(ioc_, server_.http_port()); }
};

TEST_F(loopback_server_test, bytes_body_equals_the_body_helper) {
    auto conn = connect();
    auto result = conn.get("/bytes/300000");
    ASSERT_FALSE(result.ec) << result.ec.message();
    EXPECT_EQ(result.message.result_int(), 200);
    EXPECT_EQ(result.message.body(), loopback_server::body(300000));
    EXPECT_EQ(field_of(result.message, bhttp::field::etag), "\"n-300000\"");
    EXPECT_EQ(field_of(result.message, bhttp::field::content_length), "300000");
}

TEST_F(loopback_server_test, body_pattern_has_no_short_period) {
    auto body = loopback_server::body(1 << 20);
    for (std::uint64_t i = 0; i < body.size(); i += 4099) EXPECT_EQ(body[i], loopback_server::byte_at(i));
    EXPECT_EQ(loopback_server::byte_at(5'000'000'000ull), loopback_server::byte_at(5'000'000'000ull % 65521));
    for (std::size_t shift : {1u, 256u, 4096u, 65536u}) {
        std::size_t same = 0;
        for (std::size_t i = 0; i < 100000; ++i) same += body[i] == body[i + shift];
        EXPECT_LT(same, 1000u) << "shift " << shift;  // about 1/256 match by chance
    }
}

TEST_F(loopback_server_test, range_returns_the_slice_with_206) {
    auto conn = connect();
    const auto full = loopback_server::body(100000);

    auto middle = conn.get("/bytes/100000", {{"Range", "bytes=1000-1999"}});
    ASSERT_FALSE(middle.ec) << middle.ec.message();
    EXPECT_EQ(middle.message.result_int(), 206);
    EXPECT_EQ(field_of(middle.message, bhttp::field::content_range), "bytes 1000-1999/100000");
    EXPECT_EQ(middle.message.body(), full.substr(1000, 1000));

    auto open_ended = conn.get("/bytes/100000", {{"Range", "bytes=99990-"}});
    ASSERT_FALSE(open_ended.ec);
    EXPECT_EQ(open_ended.message.result_int(), 206);
    EXPECT_EQ(open_ended.message.body(), full.substr(99990));

    auto suffix = conn.get("/bytes/100000", {{"Range", "bytes=-10"}});
    ASSERT_FALSE(suffix.ec);
    EXPECT_EQ(suffix.message.result_int(), 206);
    EXPECT_EQ(field_of(suffix.message, bhttp::field::content_range), "bytes 99990-99999/100000");
    EXPECT_EQ(suffix.message.body(), full.substr(99990));

    auto past_last = conn.get("/bytes/100000", {{"Range", "bytes=99000-500000"}});
    ASSERT_FALSE(past_last.ec);
    EXPECT_EQ(past_last.message.body(), full.substr(99000));
}

TEST_F(loopback_server_test, range_past_the_end_is_416) {
    auto conn = connect();
    auto result = conn.get("/bytes/1000", {{"Range", "bytes=1000-"}});
    ASSERT_FALSE(result.ec) << result.ec.message();
    EXPECT_EQ(result.message.result_int(), 416);
    EXPECT_EQ(field_of(result.message, bhttp::field::content_range), "bytes */1000");
}

TEST_F(loopback_server_test, if_range_decides_between_206_and_200) {
    auto conn = connect();
    auto matching = conn.get("/bytes/5000", {{"Range", "bytes=100-"}, {"If-Range", "\"n-5000\""}});
    ASSERT_FALSE(matching.ec);
    EXPECT_EQ(matching.message.result_int(), 206);
    EXPECT_EQ(matching.message.body(), loopback_server::body(5000).substr(100));

    auto stale = conn.get("/bytes/5000", {{"Range", "bytes=100-"}, {"If-Range", "\"n-4000\""}});
    ASSERT_FALSE(stale.ec);
    EXPECT_EQ(stale.message.result_int(), 200);
    EXPECT_EQ(stale.message.body(), loopback_server::body(5000));

    auto last_modified = field_of(stale.message, bhttp::field::last_modified);
    auto by_date = conn.get("/bytes/5000", {{"Range", "bytes=4000-"}, {"If-Range", last_modified}});
    ASSERT_FALSE(by_date.ec);
    EXPECT_EQ(by_date.message.result_int(), 206);
}

TEST_F(loopback_server_test, chunked_body_arrives_whole) {
    auto conn = connect();
    auto result = conn.get("/bytes/1500000?chunked=1");
    ASSERT_FALSE(result.ec) << result.ec.message();
    EXPECT_TRUE(result.message.chunked());
    EXPECT_EQ(result.message.body(), loopback_server::body(1500000));
}

TEST_F(loopback_server_test, fail_answers_the_first_requests_with_the_status_and_retry_after) {
    auto conn = connect();
    const std::string target = "/bytes/64?fail=2&status=503&retry_after=3&key=flaky";
    for (int i = 0; i < 2; ++i) {
        auto failed = conn.get(target);
        ASSERT_FALSE(failed.ec) << failed.ec.message();
        EXPECT_EQ(failed.message.result_int(), 503);
        EXPECT_EQ(field_of(failed.message, bhttp::field::retry_after), "3");
    }
    auto ok = conn.get(target);
    ASSERT_FALSE(ok.ec);
    EXPECT_EQ(ok.message.result_int(), 200);
    EXPECT_EQ(ok.message.body(), loopback_server::body(64));
    EXPECT_EQ(server_.requests_with_key("flaky"), 3u);
    EXPECT_EQ(server_.requests_with_key("other"), 0u);
}

TEST_F(loopback_server_test, status_route_answers_with_that_status) {
    auto conn = connect();
    auto result = conn.get("/status/404");
    ASSERT_FALSE(result.ec);
    EXPECT_EQ(result.message.result_int(), 404);
    EXPECT_TRUE(result.message.body().empty());
    auto unknown = conn.get("/no/such/route");
    ASSERT_FALSE(unknown.ec);
    EXPECT_EQ(unknown.message.result_int(), 404);
}

TEST_F(loopback_server_test, redirects_send_the_documented_locations) {
    auto conn = connect();
    std::string target = "/redirect/2?to=%2Fbytes%2F5%3Fchunked%3D1";
    std::vector<std::string> locations;
    for (int hop = 0; hop < 3; ++hop) {
        auto result = conn.get(target);
        ASSERT_FALSE(result.ec);
        EXPECT_EQ(result.message.result_int(), 302);
        target = field_of(result.message, bhttp::field::location);
        locations.push_back(target);
    }
    EXPECT_EQ(locations, (std::vector<std::string>{"/redirect/1?to=%2Fbytes%2F5%3Fchunked%3D1",
                                                   "/redirect/0?to=%2Fbytes%2F5%3Fchunked%3D1",
                                                   "/bytes/5?chunked=1"}));

    auto code = conn.get("/redirect-code/307?to=%2Fbytes%2F1");
    EXPECT_EQ(code.message.result_int(), 307);
    EXPECT_EQ(field_of(code.message, bhttp::field::location), "/bytes/1");

    auto relative = conn.get("/redirect-relative?to=%2Fbytes%2F10");
    EXPECT_EQ(field_of(relative.message, bhttp::field::location), "bytes/10");

    auto loop = conn.get("/redirect-loop");
    EXPECT_EQ(field_of(loop.message, bhttp::field::location), "/redirect-loop");

    auto to_http = conn.get("/to-http?to=%2Fbytes%2F3");
    EXPECT_EQ(field_of(to_http.message, bhttp::field::location), server_.http_url("/bytes/3"));
}

TEST_F(loopback_server_test, garbage_fails_parsing_on_the_client) {
    auto conn = connect();
    auto result = conn.get("/garbage");
    EXPECT_TRUE(result.ec);
    EXPECT_NE(result.ec, beast::error::timeout);
}

TEST_F(loopback_server_test, big_headers_exceed_the_default_header_limit) {
    auto conn = connect();
    auto result = conn.get("/big-headers");
    EXPECT_EQ(result.ec, bhttp::error::header_limit);
}

TEST_F(loopback_server_test, echo_headers_returns_the_request_header_block) {
    auto conn = connect();
    auto result = conn.get("/echo-headers", {{"X-Probe", "hello there"}});
    ASSERT_FALSE(result.ec);
    const auto& body = result.message.body();
    EXPECT_EQ(body.rfind("GET /echo-headers HTTP/1.1\r\n", 0), 0u) << body;
    EXPECT_NE(body.find("X-Probe: hello there\r\n"), std::string::npos) << body;
    EXPECT_EQ(body.substr(body.size() - 4), "\r\n\r\n");
}

TEST_F(loopback_server_test, https_verifies_with_the_ca_pem) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.add_certificate_authority(asio::buffer(server_.ca_pem()));
    beast::error_code ec;
    tls_connection conn(ioc_, ctx, server_.https_port(), ec);
    ASSERT_FALSE(ec) << ec.message();
    auto result = conn.get("/bytes/70000");
    ASSERT_FALSE(result.ec) << result.ec.message();
    EXPECT_EQ(result.message.body(), loopback_server::body(70000));
    EXPECT_EQ(server_.https_url("/x"), "https://127.0.0.1:" + std::to_string(server_.https_port()) + "/x");
}

TEST_F(loopback_server_test, https_fails_verification_without_the_ca_pem) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);  // no trusted CA at all
    beast::error_code ec;
    tls_connection conn(ioc_, ctx, server_.https_port(), ec);
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec.category(), asio::error::get_ssl_category()) << ec.message();
}

TEST_F(loopback_server_test, reset_after_breaks_the_read_after_k_bytes) {
    auto conn = connect();
    auto result = conn.get("/bytes/1000000?reset_after=5000");
    ASSERT_TRUE(result.ec);
    EXPECT_EQ(result.ec, asio::error::connection_reset) << result.ec.message();
    EXPECT_LE(result.body_bytes, 5000u);
    EXPECT_EQ(result.message.body(), loopback_server::body(result.body_bytes));
}

TEST_F(loopback_server_test, short_after_ends_the_body_early_and_cleanly) {
    auto conn = connect();
    auto result = conn.get("/bytes/100000?short_after=1234");
    EXPECT_EQ(result.ec, bhttp::error::partial_message) << result.ec.message();
    EXPECT_EQ(result.body_bytes, 1234u);
    EXPECT_EQ(result.message.body(), loopback_server::body(1234));
}

TEST_F(loopback_server_test, stall_after_sends_k_bytes_then_nothing) {
    auto conn = connect();
    conn.set_timeout(300ms);
    auto result = conn.get("/bytes/100000?stall_after=777");
    EXPECT_EQ(result.ec, beast::error::timeout) << result.ec.message();
    EXPECT_EQ(result.body_bytes, 777u);
}

TEST_F(loopback_server_test, faults_apply_to_the_first_m_requests_with_the_key) {
    const std::string target = "/bytes/10000?short_after=10&faults=1&key=once";
    {
        auto conn = connect();
        auto first = conn.get(target);
        EXPECT_EQ(first.ec, bhttp::error::partial_message);
    }
    auto conn = connect();
    auto second = conn.get(target);
    ASSERT_FALSE(second.ec) << second.ec.message();
    EXPECT_EQ(second.message.body(), loopback_server::body(10000));
    EXPECT_EQ(server_.requests_with_key("once"), 2u);
}

TEST_F(loopback_server_test, rate_paces_the_body) {
    auto conn = connect();
    auto start = std::chrono::steady_clock::now();
    auto result = conn.get("/bytes/3000?rate=10000");  // 1000 bytes per 100 ms tick
    auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(result.ec);
    EXPECT_EQ(result.message.body(), loopback_server::body(3000));
    EXPECT_GE(elapsed, 200ms);
}

TEST_F(loopback_server_test, hang_never_answers) {
    auto conn = connect();
    conn.set_timeout(200ms);
    auto result = conn.get("/hang");
    EXPECT_EQ(result.ec, beast::error::timeout);
}

TEST_F(loopback_server_test, keep_alive_reuses_one_connection) {
    auto conn = connect();
    auto first = conn.get("/bytes/10");
    auto second = conn.get("/status/204");
    ASSERT_FALSE(first.ec);
    ASSERT_FALSE(second.ec);
    EXPECT_EQ(second.message.result_int(), 204);
    EXPECT_EQ(server_.connections_accepted(), 1u);
}

TEST_F(loopback_server_test, connection_close_is_honoured) {
    auto conn = connect();
    auto result = conn.get("/bytes/10", {}, /*close=*/true);
    ASSERT_FALSE(result.ec);
    EXPECT_FALSE(result.message.keep_alive());
    EXPECT_EQ(conn.read_until_error(), asio::error::eof);
}

TEST(loopback_server_threads, concurrent_clients_share_the_key_counters) {
    loopback_server server(loopback_server::options{.tls = true, .threads = 3});
    constexpr int clients = 4;
    constexpr int requests_each = 15;
    std::atomic<int> failures{0};
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            asio::io_context ioc;
            asio::ssl::context ctx(asio::ssl::context::tls_client);
            ctx.add_certificate_authority(asio::buffer(server.ca_pem()));
            auto run = [&](auto& conn) {
                for (int i = 0; i < requests_each; ++i) {
                    auto result = conn.get("/bytes/20000?fail=10&status=429&key=shared");
                    if (result.ec) ++bad;
                    else if (result.message.result_int() == 429) ++failures;
                    else if (result.message.body() != loopback_server::body(20000)) ++bad;
                }
            };
            if (c % 2 == 0) {
                plain_connection conn(ioc, server.http_port());
                run(conn);
            } else {
                beast::error_code ec;
                tls_connection conn(ioc, ctx, server.https_port(), ec);
                if (ec) ++bad;
                else run(conn);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(failures.load(), 10);
    EXPECT_EQ(server.requests_with_key("shared"), std::size_t{clients * requests_each});
    EXPECT_EQ(server.connections_accepted(), std::size_t{clients});
}

TEST(loopback_server_lifetime, destructor_closes_stalled_and_hanging_connections) {
    asio::io_context ioc;
    std::optional<plain_connection> stalled, hanging;
    {
        loopback_server server(loopback_server::options{.tls = false, .threads = 2});
        EXPECT_EQ(server.https_port(), 0);
        EXPECT_TRUE(server.ca_pem().empty());

        // A response that stalls after 10 body bytes; its header proves the
        // server reached it.
        stalled.emplace(ioc, server.http_port());
        ASSERT_FALSE(stalled->get_header("/bytes/100000?stall_after=10"));

        // A kept-alive connection (one answered request) that then hangs.
        hanging.emplace(ioc, server.http_port());
        ASSERT_FALSE(hanging->get("/status/200").ec);
        ASSERT_FALSE(hanging->send(bhttp::request<bhttp::empty_body>{bhttp::verb::get, "/hang", 11}));
        EXPECT_EQ(server.connections_accepted(), 2u);
    }
    // The server is gone: both sockets see the end, not a timeout.
    for (auto* conn : {&*stalled, &*hanging}) {
        auto ec = conn->read_until_error();
        EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    }
}

}  // namespace
