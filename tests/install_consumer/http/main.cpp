// Links vow::http from the installed package and fetches from its loopback
// server: the whole static-library chain (Beast, Boost.URL, OpenSSL) resolves.
#include <cstdio>

#include <vow/http/client.hpp>
#include <vow/http/loopback_server.hpp>

int main() {
    vow::http::loopback_server server({.tls = false});
    vow::http::client client;
    auto body = client.get(server.http_url("/bytes/100")).get().body;
    std::printf("consumer_http got %zu bytes\n", body.size());
    return body == vow::http::loopback_server::body(100) ? 0 : 1;
}
