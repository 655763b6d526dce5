// Shape 2: Python's executor.submit(fn) + future.add_done_callback(cb), then a
// blocking result(), here as vow::submit + add_done_callback + get().
#include <cstdio>
#include <vector>

#include "vow/vow.hpp"

long long count_primes(long long below) {
    long long n = 0;
    for (long long i = 2; i < below; ++i) {
        bool prime = true;
        for (long long d = 2; d * d <= i; ++d) {
            if (i % d == 0) {
                prime = false;
                break;
            }
        }
        n += prime ? 1 : 0;
    }
    return n;
}

int main() {
    // [readme: callbacks]
    vow::thread_pool pool;  // one worker per hardware thread
    std::vector<vow::future<long long>> jobs;
    for (long long below : {10'000LL, 50'000LL, 100'000LL}) {
        auto f = vow::submit(pool, [below] { return count_primes(below); });
        f.add_done_callback([below](const vow::result<long long>& r) {
            std::printf("done-callback: %lld primes below %lld\n", r.value(), below);
        });
        jobs.push_back(std::move(f));
    }
    long long total = 0;
    for (auto& f : jobs) total += f.get();  // get() waits, and runs after the callbacks
    std::printf("total: %lld\n", total);
    // [/readme]
    return 0;
}
