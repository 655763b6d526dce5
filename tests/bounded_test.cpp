#include "vow/bounded.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <array>
#include <deque>
#include <latch>
#include <list>
#include <map>
#include <numeric>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "combinator_support.hpp"
#include "vow/errors.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/thread_pool.hpp"

namespace {

using vow::future;
using vow::manual_executor;
using vow::promise;
using vow::result;
using vow_ctest::calls;
using vow_ctest::error_kind;
using vow_ctest::every_error_kind;
using vow_ctest::failing_input;
using vow_ctest::holds;
using vow_ctest::lifetimes;
using vow_ctest::take_ready;
using vow_ctest::tracked;

// The calls f made: a promise per item, the order they started in, and how
// many were in flight (f counts up; the test counts down as it completes one).
struct call_log {
    std::map<int, promise<int>> promises;
    std::map<int, std::stop_token> tokens;
    std::vector<int> started;
    int in_flight = 0;
    int max_in_flight = 0;

    future<int> call(int item) {
        started.push_back(item);
        max_in_flight = std::max(max_in_flight, ++in_flight);
        auto& p = promises[item];
        tokens[item] = p.stop_token();
        return p.get_future();
    }
    void complete(int item, int value) {
        --in_flight;
        promises.at(item).set_value(value);
    }
};

std::vector<int> iota(int n) {
    std::vector<int> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

TEST(bounded_map, never_has_more_than_limit_calls_in_flight_and_starts_one_as_one_finishes) {
    manual_executor ex;
    call_log log;
    auto all = vow::bounded_map(iota(10), 3, [&](int i) { return log.call(i); }, ex);
    std::vector<int> running;  // started, not yet completed
    std::size_t seen = 0;
    auto pick_up_started = [&] {
        while (seen < log.started.size()) running.push_back(log.started[seen++]);
    };
    ex.run_until_idle();
    pick_up_started();
    EXPECT_EQ(log.started, (std::vector<int>{0, 1, 2}));
    // Complete the most recently started call each time.
    int completed = 0;
    while (!running.empty()) {
        int item = running.back();
        running.pop_back();
        log.complete(item, item);
        ++completed;
        ex.run_until_idle();
        pick_up_started();
        EXPECT_EQ(log.in_flight, std::min(3, 10 - completed)) << "after " << completed << " completed";
    }
    EXPECT_EQ(completed, 10);
    EXPECT_EQ(log.max_in_flight, 3);
    EXPECT_EQ(log.started, iota(10));  // items start in input order
    EXPECT_EQ(take_ready(all).value().size(), 10u);
}

TEST(bounded_map, results_come_back_in_input_order_whatever_the_order_of_completion) {
    manual_executor ex;
    call_log log;
    auto all = vow::bounded_map(iota(4), 4, [&](int i) { return log.call(i); }, ex);
    ex.run_until_idle();
    ASSERT_EQ(log.started.size(), 4u);
    for (int i : {3, 1, 0, 2}) log.complete(i, i * 10);
    auto results = take_ready(all).value();
    ASSERT_EQ(results.size(), 4u);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(results[static_cast<std::size_t>(i)].value(), i * 10);
}

TEST(bounded_map, keeps_every_items_error_and_never_fails) {
    manual_executor ex;
    std::deque<failing_input> failing;
    for (error_kind kind : every_error_kind) failing.emplace_back(kind);
    const int n_kinds = static_cast<int>(failing.size());
    // Items: one per error kind, then f throws, then f returns an invalid future, then a value.
    auto all = vow::bounded_map(
        iota(n_kinds + 3), 2,
        [&](int i) -> future<int> {
            if (i < n_kinds) return failing[static_cast<std::size_t>(i)].get_future();
            if (i == n_kinds) throw std::invalid_argument("f threw");
            if (i == n_kinds + 1) return future<int>{};
            return vow::make_ready_future(i);
        },
        ex);
    for (std::size_t k = 0; k < failing.size(); ++k) {
        ex.run_until_idle();
        failing[k].fail();
    }
    ex.run_until_idle();
    auto r = take_ready(all);
    ASSERT_TRUE(r.has_value());
    auto& results = r.value();
    ASSERT_EQ(results.size(), static_cast<std::size_t>(n_kinds + 3));
    for (int i = 0; i < n_kinds; ++i) {
        EXPECT_TRUE(vow_ctest::is_kind(every_error_kind[i], results[static_cast<std::size_t>(i)].exception()))
            << vow_ctest::name_of(every_error_kind[i]);
    }
    EXPECT_TRUE(holds<std::invalid_argument>(results[static_cast<std::size_t>(n_kinds)]));
    EXPECT_TRUE(holds<vow::broken_promise>(results[static_cast<std::size_t>(n_kinds + 1)]));
    EXPECT_EQ(results.back().value(), n_kinds + 2);
}

TEST(bounded_map, cancelling_it_cancels_the_calls_in_flight_and_starts_no_more) {
    manual_executor ex;
    call_log log;
    auto all = vow::bounded_map(iota(10), 3, [&](int i) { return log.call(i); }, ex);
    ex.run_until_idle();
    ASSERT_EQ(log.started.size(), 3u);
    int hooks = 0;
    for (auto& [item, p] : log.promises) p.on_cancel([&] { ++hooks; });
    all.cancel();
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(log.promises[i].is_cancelled()) << i;
        EXPECT_TRUE(log.tokens[i].stop_requested()) << i;
    }
    EXPECT_EQ(hooks, 3);
    ex.run_until_idle();
    EXPECT_EQ(log.started.size(), 3u);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(all)));
}

TEST(bounded_map, a_cancel_while_its_calls_are_queued_means_f_is_never_called) {
    calls f;
    {
        manual_executor ex;
        auto all = vow::bounded_map(iota(5), 2, vow_ctest::counted(f, [](int i) { return vow::make_ready_future(i); }), ex);
        EXPECT_EQ(ex.pending(), 2u);
        all.cancel();
        ex.run_until_idle();
        EXPECT_EQ(ex.pending(), 0u);
        EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(all)));
    }
    EXPECT_EQ(f.runs.load(), 0);
    EXPECT_EQ(f.destroyed.load(), 1);
}

TEST(bounded_map, a_limit_of_zero_is_a_usage_error) {
    manual_executor ex;
    calls f;
    EXPECT_THROW(vow::bounded_map(iota(3), 0, vow_ctest::counted(f, [](int i) { return vow::make_ready_future(i); }), ex),
                 vow::usage_error);
    EXPECT_EQ(f.runs.load(), 0);
    EXPECT_EQ(f.destroyed.load(), 1);
    EXPECT_EQ(ex.pending(), 0u);
}

TEST(bounded_map, of_an_empty_range_is_ready_with_no_results) {
    manual_executor ex;
    calls f;
    {
        auto all =
            vow::bounded_map(std::vector<int>{}, 4, vow_ctest::counted(f, [](int i) { return vow::make_ready_future(i); }), ex);
        EXPECT_TRUE(take_ready(all).value().empty());
    }
    EXPECT_EQ(ex.pending(), 0u);
    EXPECT_EQ(f.runs.load(), 0);
    EXPECT_EQ(f.destroyed.load(), 1);
}

TEST(bounded_map, a_limit_above_the_number_of_items_starts_them_all) {
    manual_executor ex;
    call_log log;
    auto all = vow::bounded_map(iota(3), 100, [&](int i) { return log.call(i); }, ex);
    ex.run_until_idle();
    EXPECT_EQ(log.started, iota(3));
    for (int i = 0; i < 3; ++i) log.complete(i, i);
    EXPECT_EQ(take_ready(all).value().size(), 3u);
}

TEST(bounded_map, takes_any_range_and_copies_its_items) {
    manual_executor ex;
    std::list<std::string> words{"a", "bb", "ccc"};
    auto all = vow::bounded_map(words, 2, [](std::string& w) { return vow::make_ready_future(w.size()); }, ex);
    words.clear();  // the items were copied
    ex.run_until_idle();
    auto results = take_ready(all).value();
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].value(), 1u);
    EXPECT_EQ(results[2].value(), 3u);

    const std::array<int, 2> numbers{5, 6};
    auto doubled = vow::bounded_map(numbers, 1, [](int& i) { return vow::make_ready_future(i * 2); }, ex);
    ex.run_until_idle();
    auto d = take_ready(doubled).value();
    EXPECT_EQ(d.at(1).value(), 12);
}

TEST(bounded_map, an_executor_that_refuses_work_gives_executor_shut_down_for_every_item) {
    manual_executor ex;
    ex.shutdown();
    calls f;
    {
        auto all = vow::bounded_map(iota(4), 2, vow_ctest::counted(f, [](int i) { return vow::make_ready_future(i); }), ex);
        auto results = take_ready(all).value();
        ASSERT_EQ(results.size(), 4u);
        for (auto& r : results) EXPECT_TRUE(holds<vow::executor_shut_down>(r));
    }
    EXPECT_EQ(f.runs.load(), 0);
    EXPECT_EQ(f.destroyed.load(), 1);
}

TEST(bounded_map, a_long_range_on_an_executor_that_refuses_work_fails_every_item_without_deep_recursion) {
    manual_executor ex;
    ex.shutdown();
    constexpr int n = 200'000;  // one stack frame chain per item would overflow the stack
    auto all = vow::bounded_map(iota(n), 4, [](int i) { return vow::make_ready_future(i); }, ex);
    auto results = take_ready(all).value();
    ASSERT_EQ(results.size(), static_cast<std::size_t>(n));
    EXPECT_TRUE(holds<vow::executor_shut_down>(results.front()));
    EXPECT_TRUE(holds<vow::executor_shut_down>(results.back()));
}

TEST(bounded_map, a_long_range_whose_executor_shuts_down_midway_fails_the_rest_without_deep_recursion) {
    manual_executor ex;
    constexpr int n = 200'000;
    auto all = vow::bounded_map(iota(n), 4, [](int i) { return vow::make_ready_future(i); }, ex);
    for (int k = 0; k < 10; ++k) ex.run_one();
    ex.shutdown();  // drops the queued calls; the rest are refused
    auto results = take_ready(all).value();
    ASSERT_EQ(results.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(results[0].value(), 0);
    EXPECT_EQ(results[9].value(), 9);
    EXPECT_TRUE(holds<vow::executor_shut_down>(results.back()));
}

TEST(bounded_map, an_executor_shut_down_midway_fails_only_the_items_not_yet_started) {
    manual_executor ex;
    call_log log;
    auto all = vow::bounded_map(iota(4), 2, [&](int i) { return log.call(i); }, ex);
    ex.run_until_idle();
    log.complete(0, 0);  // item 2 is queued
    ASSERT_EQ(ex.pending(), 1u);
    ex.shutdown();  // drops item 2's call; item 3 is refused
    EXPECT_FALSE(all.is_ready());
    log.complete(1, 1);
    auto results = take_ready(all).value();
    EXPECT_EQ(results[0].value(), 0);
    EXPECT_EQ(results[1].value(), 1);
    EXPECT_TRUE(holds<vow::executor_shut_down>(results[2]));
    EXPECT_TRUE(holds<vow::executor_shut_down>(results[3]));
    EXPECT_EQ(log.started, (std::vector<int>{0, 1}));
}

TEST(bounded_map, binds_its_result_to_the_given_executor) {
    manual_executor ex;
    call_log log;
    auto next = vow::bounded_map(iota(1), 1, [&](int i) { return log.call(i); }, ex)
                    .then([&](std::vector<result<int>> r) {
                        EXPECT_TRUE(ex.running_in_this_thread());
                        return r.at(0).value();
                    });
    ex.run_until_idle();
    log.complete(0, 8);
    EXPECT_FALSE(next.is_ready());
    ex.run_until_idle();
    EXPECT_EQ(take_ready(next).value(), 8);
}

TEST(bounded_map, f_is_destroyed_once_and_every_value_is_destroyed) {
    lifetimes values;
    calls f;
    {
        manual_executor ex;
        std::map<int, promise<tracked>> promises;
        auto all = vow::bounded_map(iota(4), 2, vow_ctest::counted(f, [&](int i) { return promises[i].get_future(); }), ex);
        for (int i = 0; i < 4; ++i) {
            ex.run_until_idle();
            if (i == 2) {
                promises[i].set_exception(std::runtime_error("x"));
            } else {
                promises[i].set_value(tracked(values, i));
            }
        }
        auto results = take_ready(all).value();
        EXPECT_EQ(results[3].value().value, 3);
    }
    EXPECT_EQ(f.runs.load(), 4);
    EXPECT_EQ(f.destroyed.load(), 1);
    EXPECT_GT(values.constructed.load(), 0);
    EXPECT_EQ(values.alive(), 0);
}

TEST(bounded_map, f_is_destroyed_once_after_a_cancel_with_calls_in_flight) {
    lifetimes values;
    calls f;
    {
        manual_executor ex;
        std::map<int, promise<tracked>> promises;
        auto all = vow::bounded_map(iota(4), 2, vow_ctest::counted(f, [&](int i) { return promises[i].get_future(); }), ex);
        ex.run_until_idle();
        promises[0].set_value(tracked(values, 0));
        all.cancel();
        promises[1].set_value(tracked(values, 1));  // too late: dropped
        ex.run_until_idle();
        EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(all)));
    }
    EXPECT_EQ(f.runs.load(), 2);
    EXPECT_EQ(f.destroyed.load(), 1);
    EXPECT_EQ(values.alive(), 0);
}

TEST(bounded_map, errors_kept_in_its_results_are_not_reported_as_unobserved) {
    vow_ctest::unobserved_errors unobserved;
    {
        manual_executor ex;
        auto all = vow::bounded_map(
            iota(2), 1, [](int) { return vow::make_exceptional_future<int>(std::runtime_error("x")); }, ex);
        ex.run_until_idle();
        EXPECT_EQ(take_ready(all).value().size(), 2u);
    }
    EXPECT_EQ(unobserved.count(), 0);
}

// ---------------------------------------------------------------------------
// On a real pool (for the sanitizers): calls start and finish on its threads.

TEST(bounded_race, on_a_thread_pool_the_limit_holds_and_results_stay_in_input_order) {
    calls f;
    std::atomic<int> in_flight{0};
    std::atomic<int> max_in_flight{0};
    {
        vow::thread_pool pool(2, "bounded-race");
        auto all = vow::bounded_map(iota(200), 3,
                                    vow_ctest::counted(f,
                                                       [&](int i) {
                                                           int now = in_flight.fetch_add(1) + 1;
                                                           int seen = max_in_flight.load();
                                                           while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
                                                           }
                                                           return vow::submit(pool, [&, i] {
                                                               in_flight.fetch_sub(1);  // before the call's future completes
                                                               return i * 2;
                                                           });
                                                       }),
                                    pool);
        ASSERT_TRUE(all.wait_for(std::chrono::seconds(30)));
        auto results = all.get();
        ASSERT_EQ(results.size(), 200u);
        for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].value(), static_cast<int>(i) * 2);
        pool.join();
    }
    EXPECT_LE(max_in_flight.load(), 3);
    EXPECT_GE(max_in_flight.load(), 1);
    EXPECT_EQ(f.runs.load(), 200);
    EXPECT_EQ(f.destroyed.load(), 1);
}

TEST(bounded_race, a_cancel_from_another_thread_stops_a_run_on_a_thread_pool) {
    calls f;
    std::atomic<int> started{0};
    {
        vow::thread_pool pool(2, "bounded-race");
        std::latch ten_started(1);
        auto all = vow::bounded_map(iota(100'000), 2,
                                    vow_ctest::counted(f,
                                                       [&](int i) {
                                                           if (started.fetch_add(1) + 1 == 10) ten_started.count_down();
                                                           return vow::submit(pool, [i] { return i; });
                                                       }),
                                    pool);
        ten_started.wait();
        all.cancel();
        const int at_cancel = started.load();
        EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(all)));
        pool.join();
        // Calls already begun may finish (at most the limit); none starts after.
        EXPECT_LE(started.load(), at_cancel + 2);
    }
    EXPECT_EQ(f.destroyed.load(), 1);
}

}  // namespace
