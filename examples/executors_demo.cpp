// A tour of vow's executors: a pool computing in parallel, a strand keeping a
// shared log in order without a mutex, a timer firing on schedule, and a
// shut-down pool refusing work loudly instead of losing it.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <latch>
#include <string>
#include <vector>

#include "vow/vow.hpp"

int main() {
    using namespace std::chrono_literals;
    vow::thread_pool pool(4, "demo");

    // 1. Parallel work: sum 1..N in slices.
    constexpr int slices = 8;
    constexpr long long per_slice = 5'000'000;
    std::vector<long long> partial(slices);
    std::latch done(slices);
    auto start = std::chrono::steady_clock::now();
    for (int s = 0; s < slices; ++s) {
        pool.execute([&, s] {
            long long sum = 0;
            for (long long i = s * per_slice + 1; i <= (s + 1) * per_slice; ++i) sum += i;
            partial[s] = sum;
            done.count_down();
        });
    }
    done.wait();
    long long total = 0;
    for (long long p : partial) total += p;
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("pool: sum of 1..%lld = %lld in %.1f ms on %zu workers\n", slices * per_slice, total, ms,
                pool.size());

    // 2. A strand: 1000 appends from the pool, in order, no mutex.
    // [readme: executors]
    vow::strand log_strand(pool);  // FIFO, one task at a time, no thread of its own
    std::string log;
    std::latch logged(1000);
    for (int i = 0; i < 1000; ++i) {
        log_strand.execute([&, i] {
            log += (i % 10 == 0) ? '|' : '.';
            logged.count_down();
        });
    }
    logged.wait();
    // [/readme]
    std::printf("strand: %zu entries appended in order, first 30: %s\n", log.size(), log.substr(0, 30).c_str());

    // 3. A timer: three tasks fire in deadline order, not in scheduling order.
    vow::real_timer timer;
    std::latch fired(3);
    std::vector<int> order;
    std::mutex order_mutex;
    for (int delay : {30, 10, 20}) {
        timer.schedule_after(std::chrono::milliseconds(delay), [&, delay] {
            std::lock_guard lock(order_mutex);
            order.push_back(delay);
            fired.count_down();
        });
    }
    auto cancelled = timer.schedule_after(1h, [] { std::puts("never printed"); });
    cancelled.cancel();
    fired.wait();
    std::printf("timer: fired after %d, %d, %d ms; a 1-hour timer was cancelled (pending: %zu)\n", order[0],
                order[1], order[2], timer.pending());

    // 4. Shutdown: queued work drains, new work is refused with a typed error.
    pool.shutdown();
    try {
        pool.execute([] {});
    } catch (const vow::executor_shut_down& e) {
        std::printf("shutdown: new work refused: %s\n", e.what());
    }
    pool.join();
    auto stats = pool.stats();
    std::printf("pool stats: completed %llu, rejected %llu\n", static_cast<unsigned long long>(stats.completed),
                static_cast<unsigned long long>(stats.rejected));
    return 0;
}
