// vow::http through a real HTTP proxy (tinyproxy), and the rules that pick the
// proxy: curl's environment variables and no_proxy.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/detached.hpp>

#include "../../src/http/asio.hpp"
#include "../../src/http/proxy_route.hpp"
#include "http_test_support.hpp"
#include "tinyproxy.hpp"
#include "vow/http/client.hpp"
#include "vow/http/errors.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/http/proxy.hpp"
#include "vow/http/retry.hpp"

namespace {

using vow::http::proxy_settings;
using vow_http_test::failure_of;
using vow_http_test::get_within;
using vow_test::tinyproxy;

vow::http::loopback_server& server() {
    static vow::http::loopback_server s;
    return s;
}

vow::http::client_options through(const std::string& proxy_url, std::string no_proxy = {}) {
    vow::http::client_options o;
    o.tls.ca_pem = server().ca_pem();
    o.proxy = proxy_settings::all(proxy_url, std::move(no_proxy));
    return o;
}

std::string port_of_https() { return std::to_string(server().https_port()); }
std::string port_of_http() { return std::to_string(server().http_port()); }

// A stand-in proxy that answers every request itself with `status`, keeping
// connections alive, and records what it was sent: what tinyproxy cannot
// show (it closes each connection and drops Proxy-Authorization).
class recording_proxy {
public:
    struct request_seen {
        std::string target, host, proxy_authorization;
    };

    explicit recording_proxy(unsigned status = 200) : status_(status), port_(acceptor_.local_endpoint().port()) {
        namespace asio = vow::http::detail::asio;
        asio::co_spawn(ctx_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { ctx_.run(); });
    }
    ~recording_proxy() {
        ctx_.stop();
        thread_.join();
    }
    std::string url() const { return "http://user:pw@127.0.0.1:" + std::to_string(port_); }
    std::size_t connections() const { return accepted_.load(); }
    std::vector<request_seen> seen() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }

private:
    using tcp = vow::http::detail::tcp;
    vow::http::detail::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(vow::http::detail::nothrow);
            if (ec) co_return;
            ++accepted_;
            vow::http::detail::asio::co_spawn(ctx_, serve(std::move(socket)), vow::http::detail::asio::detached);
        }
    }
    vow::http::detail::awaitable<void> serve(tcp::socket socket) {
        namespace bhttp = vow::http::detail::bhttp;
        vow::http::detail::beast::flat_buffer buffer;
        for (;;) {
            bhttp::request<bhttp::string_body> req;
            auto [rec, n] = co_await bhttp::async_read(socket, buffer, req, vow::http::detail::nothrow);
            if (rec) co_return;
            {
                std::lock_guard lock(mutex_);
                seen_.push_back({std::string(req.target()), std::string(req[bhttp::field::host]),
                                 std::string(req[bhttp::field::proxy_authorization])});
            }
            bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status_), 11};
            res.body() = "proxied";
            res.keep_alive(true);
            res.prepare_payload();
            auto [wec, m] = co_await bhttp::async_write(socket, res, vow::http::detail::nothrow);
            if (wec) co_return;
        }
    }

    vow::http::detail::asio::io_context ctx_;
    tcp::acceptor acceptor_{ctx_, {vow::http::detail::asio::ip::make_address("127.0.0.1"), 0}};
    unsigned status_;
    unsigned short port_;  // read before the I/O thread starts
    std::thread thread_;
    std::atomic<std::size_t> accepted_{0};
    mutable std::mutex mutex_;
    std::vector<request_seen> seen_;  // guarded by mutex_
};

TEST(proxy, plain_http_requests_to_two_origins_share_one_proxy_connection_and_carry_its_credentials) {
    recording_proxy proxy;
    vow::http::client c(through(proxy.url()));
    // The names are the proxy's to resolve: neither exists here.
    EXPECT_EQ(get_within(c.get("http://a.invalid:81/x?q=1")).body, "proxied");
    EXPECT_EQ(get_within(c.get("http://b.invalid/y")).body, "proxied");
    EXPECT_EQ(proxy.connections(), 1u);
    auto seen = proxy.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].target, "http://a.invalid:81/x?q=1");
    EXPECT_EQ(seen[0].host, "a.invalid:81");
    EXPECT_EQ(seen[1].target, "http://b.invalid/y");
    EXPECT_EQ(seen[1].host, "b.invalid");
    EXPECT_EQ(seen[0].proxy_authorization, "Basic dXNlcjpwdw==");  // user:pw
}

TEST(proxy, a_407_to_a_plain_http_request_is_the_proxys_and_fails_with_a_proxy_error) {
    recording_proxy proxy(407);
    vow::http::client c(through(proxy.url()));
    auto e = failure_of<vow::http::proxy_error>(c.get("http://a.invalid/x"));
    EXPECT_EQ(e.status(), 407u);
    EXPECT_EQ(e.proxy().find("pw"), std::string::npos) << e.proxy();
    EXPECT_EQ(std::string(e.what()).find(":pw"), std::string::npos) << e.what();
    EXPECT_FALSE(vow::http::is_retryable(std::make_exception_ptr(e)));
}

// --- through tinyproxy ----------------------------------------------------

TEST(proxy, plain_http_is_sent_to_the_proxy_in_absolute_form) {
    tinyproxy proxy;
    vow::http::client c(through(proxy.url()));
    auto r = get_within(c.get(server().http_url("/bytes/5000")));
    EXPECT_EQ(r.body, vow::http::loopback_server::body(5000));
    EXPECT_TRUE(proxy.wait_for_log("GET http://127.0.0.1:" + port_of_http() + "/bytes/5000 HTTP/1.1"))
        << proxy.log();
}

TEST(proxy, https_goes_through_connect_and_tls_is_verified_against_the_origin) {
    tinyproxy proxy;
    vow::http::client c(through(proxy.url()));
    // The origin's name (localhost) is what SNI and the certificate check
    // use; the proxy is reached by its address.
    const std::string url = "https://localhost:" + port_of_https() + "/bytes/70000";
    auto r = get_within(c.get(url));
    EXPECT_EQ(r.body, vow::http::loopback_server::body(70000));
    EXPECT_TRUE(proxy.wait_for_log("CONNECT localhost:" + port_of_https() + " HTTP/1.1")) << proxy.log();
}

TEST(proxy, an_origin_certificate_not_trusted_fails_tls_verification_through_the_tunnel) {
    tinyproxy proxy;
    auto o = through(proxy.url());
    o.tls.ca_pem.reset();  // the loopback CA is no longer trusted
    vow::http::client c(o);
    auto e = failure_of<vow::http::tls_verify_error>(c.get(server().https_url("/bytes/10")));
    EXPECT_FALSE(vow::http::is_retryable(std::make_exception_ptr(e)));
}

TEST(proxy, a_proxy_that_refuses_connect_fails_with_a_proxy_error_naming_it_and_its_status) {
    tinyproxy proxy({"ConnectPort 443"});  // the loopback HTTPS port is not 443
    vow::http::client c(through(proxy.url()));
    auto e = failure_of<vow::http::proxy_error>(c.get(server().https_url("/bytes/10")));
    EXPECT_EQ(e.status(), 403u);
    EXPECT_EQ(e.proxy(), proxy.url());
    const std::string what = e.what();
    EXPECT_NE(what.find("proxy " + proxy.url() + " answered 403"), std::string::npos) << what;
    EXPECT_NE(what.find(server().https_url("/bytes/10")), std::string::npos) << what;
    EXPECT_FALSE(vow::http::is_retryable(std::make_exception_ptr(e)));
}

TEST(proxy, credentials_in_the_proxy_url_are_sent_as_proxy_authorization_for_http_and_https) {
    tinyproxy proxy({"BasicAuth user s3cret"});
    vow::http::client c(through(proxy.url_with("user:s3cret")));
    EXPECT_EQ(get_within(c.get(server().http_url("/bytes/100"))).body, vow::http::loopback_server::body(100));
    EXPECT_EQ(get_within(c.get(server().https_url("/bytes/100"))).body, vow::http::loopback_server::body(100));
}

TEST(proxy, a_wrong_proxy_password_fails_connect_with_a_proxy_error_that_never_shows_the_password) {
    tinyproxy proxy({"BasicAuth user s3cret"});
    vow::http::client c(through(proxy.url_with("user:wrong-pass")));
    // tinyproxy 1.11 answers bad proxy credentials with 401 (later ones: 407).
    auto e = failure_of<vow::http::proxy_error>(c.get(server().https_url("/bytes/10")));
    EXPECT_TRUE(e.status() == 401u || e.status() == 407u) << e.status();
    const std::string what = e.what();
    EXPECT_EQ(what.find("wrong-pass"), std::string::npos) << what;
    EXPECT_NE(what.find("proxy authentication failed"), std::string::npos) << what;
    EXPECT_FALSE(vow::http::is_retryable(std::make_exception_ptr(e)));
}

TEST(proxy, a_no_proxy_match_connects_directly) {
    // The proxy's port has nobody listening: a request that used it would fail.
    const std::string dead = "http://127.0.0.1:" + std::to_string(tinyproxy::unused_port());
    for (const char* no_proxy : {"127.0.0.1", "localhost,127.0.0.1", "*", "127.0.0.0/8", "example.com, 127.0.0.1"}) {
        vow::http::client c(through(dead, no_proxy));
        EXPECT_EQ(get_within(c.get(server().http_url("/bytes/10"))).body.size(), 10u) << no_proxy;
        EXPECT_EQ(get_within(c.get(server().https_url("/bytes/10"))).body.size(), 10u) << no_proxy;
    }
}

TEST(proxy, an_unreachable_proxy_is_a_transport_error_that_names_the_proxy) {
    const std::string dead = "http://127.0.0.1:" + std::to_string(tinyproxy::unused_port());
    vow::http::client c(through(dead, "example.com,127.0.0.2"));
    auto e = failure_of<vow::http::transport_error>(c.get(server().http_url("/bytes/10")));
    EXPECT_NE(std::string(e.what()).find("proxy " + dead), std::string::npos) << e.what();
}

TEST(proxy, the_client_constructor_refuses_a_proxy_url_it_cannot_use) {
    for (const char* bad : {"https://127.0.0.1:3128", "socks5://127.0.0.1:1080", "http://", "http://h:99999"}) {
        vow::http::client_options o;
        o.proxy = proxy_settings::all(bad);
        EXPECT_THROW(vow::http::client c(o), vow::http::invalid_url) << bad;
    }
}

// --- which proxy, from which variables ------------------------------------

proxy_settings from(std::map<std::string, std::string> env) {
    return proxy_settings::from_environment([env = std::move(env)](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

TEST(proxy_environment, http_proxy_is_read_in_lowercase_only) {
    EXPECT_EQ(from({{"HTTP_PROXY", "http://p:1"}}).http, "");
    EXPECT_EQ(from({{"http_proxy", "http://p:1"}}).http, "http://p:1");
}

TEST(proxy_environment, lowercase_wins_over_uppercase_and_all_proxy_is_the_fallback) {
    auto s = from({{"https_proxy", "http://low:1"}, {"HTTPS_PROXY", "http://up:1"}});
    EXPECT_EQ(s.https, "http://low:1");
    EXPECT_EQ(from({{"HTTPS_PROXY", "http://up:1"}}).https, "http://up:1");
    auto all = from({{"ALL_PROXY", "http://all:1"}});
    EXPECT_EQ(all.http, "http://all:1");
    EXPECT_EQ(all.https, "http://all:1");
    EXPECT_EQ(from({{"all_proxy", "http://a:1"}, {"ALL_PROXY", "http://b:1"}}).http, "http://a:1");
    EXPECT_EQ(from({{"http_proxy", "http://h:1"}, {"all_proxy", "http://a:1"}}).http, "http://h:1");
    EXPECT_EQ(from({{"no_proxy", "a"}, {"NO_PROXY", "b"}}).no_proxy, "a");
    EXPECT_EQ(from({{"NO_PROXY", "b"}}).no_proxy, "b");
    EXPECT_EQ(from({{"http_proxy", ""}, {"all_proxy", "http://a:1"}}).http, "http://a:1");  // empty is unset
}

TEST(proxy_environment, proxy_for_picks_by_scheme_and_honours_no_proxy) {
    proxy_settings s;
    s.http = "http://p:1";
    s.no_proxy = "internal.example";
    EXPECT_EQ(s.proxy_for("http://example.com/x"), "http://p:1");
    EXPECT_EQ(s.proxy_for("https://example.com/x"), "");  // no https proxy
    EXPECT_EQ(s.proxy_for("http://a.internal.example/x"), "");
}

// --- no_proxy as curl reads it --------------------------------------------

TEST(no_proxy, names_match_themselves_and_subdomains_with_or_without_a_leading_dot) {
    using vow::http::no_proxy_matches;
    EXPECT_TRUE(no_proxy_matches("example.com", "example.com", "80"));
    EXPECT_TRUE(no_proxy_matches("example.com", "a.b.EXAMPLE.com", "80"));
    EXPECT_TRUE(no_proxy_matches(".example.com", "example.com", "80"));
    EXPECT_TRUE(no_proxy_matches(".example.com", "www.example.com", "443"));
    EXPECT_FALSE(no_proxy_matches("example.com", "notexample.com", "80"));
    EXPECT_FALSE(no_proxy_matches("www.example.com", "example.com", "80"));
    EXPECT_TRUE(no_proxy_matches(" foo , example.com ", "example.com", "80"));
    EXPECT_TRUE(no_proxy_matches("foo example.com", "example.com", "80"));
    EXPECT_FALSE(no_proxy_matches("", "example.com", "80"));
}

TEST(no_proxy, a_star_matches_every_host) {
    EXPECT_TRUE(vow::http::no_proxy_matches("*", "anything.example", "80"));
    EXPECT_TRUE(vow::http::no_proxy_matches("*", "::1", "80"));
    EXPECT_FALSE(vow::http::no_proxy_matches("*.example", "other.test", "80"));
    EXPECT_TRUE(vow::http::no_proxy_matches("*.example", "a.example", "80"));
}

TEST(no_proxy, an_entry_with_a_port_matches_that_port_only) {
    EXPECT_TRUE(vow::http::no_proxy_matches("example.com:8080", "example.com", "8080"));
    EXPECT_FALSE(vow::http::no_proxy_matches("example.com:8080", "example.com", "80"));
    EXPECT_TRUE(vow::http::no_proxy_matches("10.0.0.1:443", "10.0.0.1", "443"));
    EXPECT_FALSE(vow::http::no_proxy_matches("10.0.0.1:443", "10.0.0.1", "80"));
    EXPECT_TRUE(vow::http::no_proxy_matches("[::1]:8080", "::1", "8080"));
    EXPECT_FALSE(vow::http::no_proxy_matches("[::1]:8080", "::1", "80"));
}

TEST(no_proxy, ip_literals_match_as_addresses_and_networks) {
    using vow::http::no_proxy_matches;
    EXPECT_TRUE(no_proxy_matches("127.0.0.1", "127.0.0.1", "80"));
    EXPECT_FALSE(no_proxy_matches("127.0.0.1", "127.0.0.10", "80"));
    EXPECT_FALSE(no_proxy_matches("0.0.1", "127.0.0.1", "80"));  // not a suffix match
    EXPECT_TRUE(no_proxy_matches("::1", "::1", "80"));
    EXPECT_TRUE(no_proxy_matches("[::1]", "::1", "80"));
    EXPECT_TRUE(no_proxy_matches("::1", "[::1]", "80"));
    EXPECT_TRUE(no_proxy_matches("0:0::1", "::1", "80"));  // the same address written otherwise
    EXPECT_TRUE(no_proxy_matches("192.168.0.0/16", "192.168.44.5", "80"));
    EXPECT_FALSE(no_proxy_matches("192.168.0.0/16", "192.169.0.1", "80"));
    EXPECT_TRUE(no_proxy_matches("fd00::/8", "fd12::5", "80"));
    EXPECT_FALSE(no_proxy_matches("fd00::/8", "fe80::1", "80"));
    EXPECT_FALSE(no_proxy_matches("127.0.0.1", "localhost", "80"));  // names are not resolved
}

// --- routes and pooling ---------------------------------------------------

TEST(proxy_routes, plain_http_through_a_proxy_pools_on_the_proxy_and_tunnels_pool_per_origin) {
    using vow::http::detail::parse_url;
    vow::http::detail::proxy_routes routes(proxy_settings::all("http://user:pw@proxy.example:3128", "direct.example"));
    const auto a = routes.pool_key(parse_url("http://a.example/x"));
    EXPECT_EQ(a, routes.pool_key(parse_url("http://b.example:8080/y")));  // one proxy, shared
    EXPECT_NE(routes.pool_key(parse_url("https://a.example/")), routes.pool_key(parse_url("https://b.example/")));
    EXPECT_NE(routes.pool_key(parse_url("https://a.example/")), a);
    EXPECT_EQ(routes.pool_key(parse_url("http://direct.example/")), "http://direct.example:80");
    ASSERT_NE(routes.proxy_for(parse_url("http://a.example/")), nullptr);
    EXPECT_EQ(routes.proxy_for(parse_url("http://a.example/"))->text, "http://proxy.example:3128");
    EXPECT_EQ(vow::http::detail::parse_proxy("proxy.example").port, "1080");  // curl's default
    EXPECT_EQ(vow::http::detail::parse_proxy("[::1]:3128").text, "http://[::1]:3128");
}

}  // namespace
