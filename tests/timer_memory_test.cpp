// The memory of within()'s timer entries: real_timer and manual_timer build a
// new entry in the memory of one they released, so a steady stream of
// timeouts that do not fire allocates nothing. This binary counts the
// allocations of each thread (it replaces the global operator new).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "vow/promise.hpp"
#include "vow/time.hpp"
#include "vow/timer.hpp"

namespace {

thread_local std::size_t allocations = 0;

void* counted_allocation(std::size_t n) {
    ++allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}

}  // namespace

#include "replace_operator_new.hpp"

namespace {

using namespace std::chrono_literals;
using vow::future;
using vow::manual_timer;
using vow::promise;

constexpr std::size_t round_size = 500;

// A manual timer and one round of timed futures at a time.
class timer_memory : public ::testing::Test {
protected:
    // Times a fresh round of promises (their states are made before counting);
    // returns how many allocations within() made on this thread.
    std::size_t time_a_round() {
        inputs = std::vector<promise<int>>(round_size);
        timed.clear();
        timed.reserve(round_size);
        const std::size_t before = allocations;
        for (auto& p : inputs) timed.push_back(p.get_future().within(1s, mt));
        return allocations - before;
    }

    void finish() {
        for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i].set_value(static_cast<int>(i));
        for (std::size_t i = 0; i < timed.size(); ++i) ASSERT_EQ(timed[i].get(), static_cast<int>(i));
    }

    manual_timer mt;
    std::vector<promise<int>> inputs;
    std::vector<future<int>> timed;
};

TEST_F(timer_memory, the_counter_sees_the_allocations_of_a_first_round) {
    EXPECT_GE(time_a_round(), round_size);  // one entry each, at least
    finish();
}

TEST_F(timer_memory, entries_released_by_a_sweep_are_reused_by_the_next_timeouts) {
    time_a_round();
    for (int round = 2; round <= 4; ++round) {
        finish();
        EXPECT_EQ(mt.pending(), 0u);  // the sweep releases the finished entries
        EXPECT_EQ(time_a_round(), 0u) << "round " << round;
    }
    finish();
}

TEST_F(timer_memory, entries_released_at_the_top_of_the_heap_are_reused_too) {
    time_a_round();
    finish();
    EXPECT_EQ(mt.advance(2s), 0u);  // nothing fires; the finished entries leave from the top
    EXPECT_EQ(time_a_round(), 0u);
    finish();
}

TEST_F(timer_memory, entries_that_fired_are_freed_and_later_timeouts_still_fire_on_time) {
    time_a_round();
    EXPECT_EQ(mt.advance(1s), round_size);
    for (auto& f : timed) EXPECT_THROW(f.get(), vow::timeout_error);
    time_a_round();
    EXPECT_EQ(mt.advance(1s - 1ns), 0u);
    EXPECT_EQ(mt.advance(1ns), round_size);
    for (auto& f : timed) EXPECT_THROW(f.get(), vow::timeout_error);
}

// Bounded stress: one thread completes timed futures while another sweeps the
// timer, so an entry is often released by the sweep while its future's thread
// still holds it (then the future's thread frees it). TSan and ASan check it.
TEST(timer_memory_stress, sweeps_racing_completions_free_every_entry_once) {
    vow::real_timer rt;
    constexpr int rounds = 20;
    constexpr std::size_t per_round = 1000;
    std::atomic<bool> done{false};
    std::thread sweeper([&] {
        while (!done.load(std::memory_order_acquire)) (void)rt.pending();
    });
    for (int round = 0; round < rounds; ++round) {
        std::vector<promise<int>> inputs(per_round);
        std::vector<future<int>> timed;
        timed.reserve(per_round);
        for (auto& p : inputs) timed.push_back(p.get_future().within(1h, rt));
        for (std::size_t i = 0; i < per_round; ++i) inputs[i].set_value(round);
        for (auto& f : timed) ASSERT_EQ(f.get(), round);
    }
    done.store(true, std::memory_order_release);
    sweeper.join();
    EXPECT_EQ(rt.pending(), 0u);
}

}  // namespace
