// Continuations and cancellation: then() chains run on the future's executor,
// an error skips them and flows on to recover(), and cancel() completes a
// future at once while the running task sees its std::stop_token.
#include <chrono>
#include <cstdio>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>

#include "vow/vow.hpp"

int main() {
    using namespace std::chrono_literals;
    vow::thread_pool pool(2, "then");

    // [readme: then]
    auto words = vow::submit(pool, [] { return std::string("futures that keep their word"); })
                     .then([](std::string text) { return text.size(); })  // runs on the pool
                     .then([](std::size_t n) { return "length " + std::to_string(n); });
    std::printf("then: %s\n", words.get().c_str());

    auto parsed = vow::submit(pool, [] { return std::string("forty-two"); })
                      .then([](std::string text) { return std::stoi(text); })  // throws
                      .then([](int n) { return n + 1; })                       // skipped
                      .recover<std::invalid_argument>([](const std::invalid_argument&) { return -1; });
    std::printf("recover: %d\n", parsed.get());
    // [/readme]

    // [readme: cancel]
    std::latch running(1), stopped(1);
    auto endless = vow::submit(pool, [&](std::stop_token stop) {
        running.count_down();
        while (!stop.stop_requested()) std::this_thread::sleep_for(1ms);
        stopped.count_down();  // the task saw the request and returned
        return 0;
    });
    running.wait();
    endless.cancel();  // the future completes now with cancelled_error
    try {
        endless.get();
    } catch (const vow::cancelled_error& e) {
        std::printf("cancel: %s\n", e.what());
    }
    stopped.wait();
    std::printf("cancel: the running task saw its stop_token and stopped\n");
    // [/readme]
    return 0;
}
