// vow::http at work without a network: a fault-injecting loopback server, and
// a client that downloads from it with progress, a retry policy that honours
// Retry-After, a timeout, and a typed status_error for a 404.
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "vow/errors.hpp"
#include "vow/http/client.hpp"
#include "vow/http/errors.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/http/retry.hpp"

int main() {
    using namespace std::chrono_literals;
    namespace fs = std::filesystem;
    vow::http::loopback_server server(vow::http::loopback_server::options{.tls = false, .threads = 1});
    const fs::path dir = fs::temp_directory_path() / "vow-download-example";
    fs::remove_all(dir);
    fs::create_directories(dir);

    // [readme: download]
    vow::http::client client;  // one I/O thread, a keep-alive pool, TLS peers verified

    vow::http::request_options options;
    options.retry = vow::http::retry_policy();  // 4 attempts; 5xx, 429, timeouts, resets; resumes
    options.total_timeout = 30s;                // per attempt; connect and idle timeouts too
    options.on_progress = [](const vow::http::progress& p) {
        std::printf("  %llu of %llu bytes\n", static_cast<unsigned long long>(p.received),
                    static_cast<unsigned long long>(p.total.value_or(0)));
    };
    auto file = client.download(server.http_url("/bytes/1048576?rate=524288"), dir / "slow.bin", options);
    auto page = client.get(server.http_url("/status/404"));

    std::printf("saved %s\n", file.get().path.filename().c_str());
    try {
        page.get();
    } catch (const vow::http::status_error& e) {
        std::printf("typed error: %s (status %u)\n", e.what(), e.status());
    }
    // [/readme]

    // The first two requests get 503 with Retry-After: 1; the policy waits as
    // the server asks and the third attempt succeeds.
    vow::http::request_options patient;
    patient.retry = vow::http::retry_policy();
    patient.retry->on_retry = [](int attempt, const std::exception_ptr& error, vow::retry_policy::duration delay) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            std::printf("attempt %d failed (%s); retrying in %.1f s\n", attempt, e.what(),
                        std::chrono::duration<double>(delay).count());
        }
    };
    auto flaky = client.download(server.http_url("/bytes/65536?fail=2&status=503&retry_after=1&key=flaky"),
                                 dir / "flaky.bin", patient);
    vow::http::download_result r = flaky.get();
    std::printf("saved %s: %llu bytes, status %u\n", r.path.filename().c_str(),
                static_cast<unsigned long long>(r.size), r.status);

    // A server that never answers: the idle timeout fails the request.
    vow::http::request_options impatient;
    impatient.idle_timeout = 500ms;
    try {
        client.get(server.http_url("/hang"), impatient).get();
    } catch (const vow::timeout_error& e) {
        std::printf("timeout: %s\n", e.what());
    }

    fs::remove_all(dir);
    return 0;
}
