// Time and retries as combinators that work on any future: within(d) fails
// with timeout_error at the deadline and cancels the work it gave up on;
// vow::retry runs attempts with capped exponential backoff and jitter.
#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <thread>

#include "vow/vow.hpp"

int main() {
    using namespace std::chrono_literals;
    vow::thread_pool pool(2, "time");

    // [readme: timeout]
    auto slow = vow::submit(pool, [](std::stop_token stop) {
        for (int i = 0; i < 500 && !stop.stop_requested(); ++i) std::this_thread::sleep_for(10ms);
        return 42;
    });
    try {
        std::move(slow).within(100ms).get();  // or vow::timeout(std::move(slow), 100ms)
    } catch (const vow::timeout_error& e) {
        std::printf("timeout: %s\n", e.what());  // and the slow task was asked to stop
    }
    // [/readme]

    // [readme: retry]
    vow::retry_policy policy;
    policy.max_attempts = 5;
    policy.initial_delay = 10ms;  // then 20 ms, 40 ms, ... up to max_delay, with full jitter
    policy.on_retry = [](int attempt, const std::exception_ptr&, vow::retry_policy::duration delay) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
        std::printf("retry: attempt %d failed, next one in %lld ms\n", attempt, static_cast<long long>(ms));
    };
    auto answer = vow::retry(policy, [&pool](int attempt) {
        return vow::submit(pool, [attempt] {
            if (attempt < 3) throw std::runtime_error("flaky service");
            return 42;
        });
    });
    std::printf("retry: got %d\n", answer.get());
    // [/readme]
    return 0;
}
