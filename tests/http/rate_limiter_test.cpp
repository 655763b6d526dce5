// The accounting of client_options::max_bytes_per_second, on a manual clock:
// no socket, no sleep.
#include "../../src/http/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>

#include "vow/timer.hpp"

namespace {

using vow::http::detail::rate_limiter;
using namespace std::chrono_literals;

TEST(rate_limiter, a_read_asks_for_at_most_a_tenth_of_a_second_of_bytes) {
    EXPECT_EQ(rate_limiter(500 * 1024).chunk(), 50 * 1024u);
    EXPECT_EQ(rate_limiter(100 * 1024 * 1024).chunk(), 64 * 1024u);  // capped
    EXPECT_EQ(rate_limiter(5).chunk(), 1u);                           // never 0
    vow::manual_timer clock;
    rate_limiter limit(1000);
    EXPECT_EQ(limit.reserve(1 << 20, clock.now()).bytes, 100u);
    EXPECT_EQ(limit.reserve(7, clock.now()).bytes, 7u);
}

TEST(rate_limiter, the_first_read_starts_at_once_and_the_next_when_the_first_is_paid_for) {
    vow::manual_timer clock;
    rate_limiter limit(1000);  // 100-byte reads, 100 ms each
    auto first = limit.reserve(100, clock.now());
    EXPECT_EQ(first.start, clock.now());
    auto second = limit.reserve(100, clock.now());
    EXPECT_EQ(second.start, clock.now() + 100ms);
    auto third = limit.reserve(50, clock.now());
    EXPECT_EQ(third.start, clock.now() + 200ms);
}

TEST(rate_limiter, one_reader_reading_as_fast_as_it_may_gets_the_rate_over_ten_seconds) {
    vow::manual_timer clock;
    const std::uint64_t rate = 500 * 1024;
    rate_limiter limit(rate);
    const auto begin = clock.now();
    std::uint64_t bytes = 0;
    for (;;) {
        auto turn = limit.reserve(1 << 20, clock.now());
        if (turn.start > begin + 10s) break;
        clock.advance_to(std::max(turn.start, clock.now()));
        bytes += turn.bytes;
    }
    // At most one read ahead of the rate, and never behind it by more than one.
    EXPECT_LE(bytes, rate * 10 + limit.chunk());
    EXPECT_GE(bytes, rate * 10 - limit.chunk());
}

TEST(rate_limiter, readers_sharing_the_cap_take_turns_and_none_starves) {
    vow::manual_timer clock;
    const std::uint64_t rate = 100 * 1000;
    rate_limiter limit(rate);
    // Four readers, each asking again as soon as its read may start: the
    // reservations interleave, so each gets a quarter.
    std::map<int, std::uint64_t> got;
    std::map<int, vow::timer::time_point> next;
    for (int r = 0; r < 4; ++r) next[r] = clock.now();
    const auto end = clock.now() + 10s;
    for (;;) {
        int who = 0;
        for (int r = 1; r < 4; ++r)
            if (next[r] < next[who]) who = r;
        if (next[who] >= end) break;
        clock.advance_to(std::max(next[who], clock.now()));
        auto turn = limit.reserve(1 << 20, clock.now());
        got[who] += turn.bytes;
        next[who] = turn.start;
    }
    std::uint64_t total = 0;
    for (auto& [who, bytes] : got) total += bytes;
    EXPECT_LE(total, rate * 10 + 4 * limit.chunk());
    for (auto& [who, bytes] : got) {
        EXPECT_GE(bytes, total / 4 - 2 * limit.chunk()) << "reader " << who;
        EXPECT_LE(bytes, total / 4 + 2 * limit.chunk()) << "reader " << who;
    }
}

TEST(rate_limiter, an_idle_stretch_saves_up_no_burst) {
    vow::manual_timer clock;
    rate_limiter limit(1000);
    limit.reserve(100, clock.now());
    clock.advance(1h);
    auto after_idle = limit.reserve(100, clock.now());
    EXPECT_EQ(after_idle.start, clock.now());
    EXPECT_EQ(limit.reserve(100, clock.now()).start, clock.now() + 100ms);  // paced again at once
}

TEST(rate_limiter, bytes_a_read_did_not_take_go_back_to_the_schedule) {
    vow::manual_timer clock;
    rate_limiter limit(1000);
    limit.reserve(100, clock.now());
    limit.give_back(60);  // the socket had only 40 bytes
    EXPECT_EQ(limit.reserve(100, clock.now()).start, clock.now() + 40ms);
}

}  // namespace
