// Hedged requests (vow::hedge): ask one replica; if it has not answered
// within 50 ms, ask another as well, up to three; the first answer wins and
// the slower requests are cancelled. Cuts the tail latency that one slow
// replica would otherwise add. Built on the public extension layer
// (vow/extend.hpp) -- docs/writing-combinators.md shows how.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <vow/vow.hpp>

int main() {
    using namespace std::chrono_literals;
    vow::thread_pool pool(3, "replicas");

    // Replica 1 is having a bad day (2 s); replica 2 answers in 20 ms.
    const std::chrono::milliseconds latency[] = {2000ms, 20ms, 20ms};

    // [readme: hedge]
    auto answer = vow::hedge(
        [&](int attempt) {
            return vow::submit(pool, [&, attempt](std::stop_token stop) {
                auto until = std::chrono::steady_clock::now() + latency[attempt - 1];
                while (std::chrono::steady_clock::now() < until) {
                    if (stop.stop_requested()) {
                        std::printf("replica %d: cancelled, the answer came from elsewhere\n", attempt);
                        throw vow::cancelled_error();
                    }
                    std::this_thread::sleep_for(1ms);
                }
                return "answer from replica " + std::to_string(attempt);
            });
        },
        50ms, 3);
    std::printf("%s\n", answer.get().c_str());
    // [/readme]
    return 0;
}
