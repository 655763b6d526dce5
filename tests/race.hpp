// Hammers a race: runs two actions at the same moment on two threads, round
// after round, and checks an invariant after each round.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace vow_test {

namespace detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

// Both threads spin (rather than sleep in a barrier) so that they leave the
// rendezvous within nanoseconds of each other; a futex wake-up would hand the
// race to whichever thread did not have to be woken. Yields after a while so a
// descheduled partner can run on a busy machine.
class rendezvous {
public:
    void arrive_and_wait(unsigned generation) noexcept {
        arrivals_.fetch_add(1, std::memory_order_acq_rel);
        const unsigned target = 2 * generation;
        for (int spins = 0; arrivals_.load(std::memory_order_acquire) < target; ++spins) {
            if (spins < 4'000) {
                cpu_relax();
            } else {
                std::this_thread::yield();
            }
        }
    }

private:
    std::atomic<unsigned> arrivals_{0};
};

}  // namespace detail

// Each round: setup() on the calling thread; then first() on the calling thread
// and second() on a helper thread, started together; then, once both returned,
// check() on the calling thread. One of the two is delayed by a varying number
// of pauses (0..63, alternating sides) so the rounds sweep across the window in
// both orders. Stops after the first round that records a test failure. The
// rendezvous (acq_rel) orders every round's writes.
template <class Setup, class First, class Second, class Check>
void race(int rounds, Setup setup, First first, Second second, Check check) {
    detail::rendezvous sync;
    bool stop = false;  // written before a rendezvous, read after it
    auto delay = [](int round, bool is_first) {
        if ((round % 2 == 0) != is_first) return;
        for (int i = (round / 2) % 64; i > 0; --i) detail::cpu_relax();
    };
    unsigned generation = 0;  // each thread counts the rendezvous it passed
    // std::thread, not jthread: g++ 12 warns (maybe-uninitialized) inside
    // jthread's stop_source under -fsanitize=address -O1.
    std::thread helper([&] {
        unsigned mine = 0;
        for (int round = 0;; ++round) {
            sync.arrive_and_wait(++mine);  // round set up (or stop)
            if (stop) return;
            delay(round, false);
            second();
            sync.arrive_and_wait(++mine);  // round over
        }
    });
    for (int round = 0; round < rounds && !stop; ++round) {
        setup();
        sync.arrive_and_wait(++generation);
        delay(round, true);
        first();
        sync.arrive_and_wait(++generation);
        check();
        if (::testing::Test::HasFailure()) stop = true;
    }
    stop = true;
    sync.arrive_and_wait(++generation);
    helper.join();
}

}  // namespace vow_test
