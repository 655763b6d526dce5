#include "vow/extend.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"

namespace {

using vow::future;
using vow::promise;
using vow::result;
namespace ext = vow::ext;

// Counts the destructions of a context, to catch a leaked reference cycle.
struct free_counter {
    std::atomic<int>* frees;
    explicit free_counter(std::atomic<int>& f) : frees(&f) {}
    free_counter(const free_counter&) = delete;
    ~free_counter() { frees->fetch_add(1); }
};

TEST(extend, of_many_racing_producers_exactly_one_wins_and_the_others_learn_they_lost) {
    for (int round = 0; round < 50; ++round) {
        auto [done, out] = ext::make_completion<int>();
        constexpr int producers = 4;
        std::latch go(producers);
        std::atomic<int> winners{0};
        std::atomic<int> winner{-1};
        std::vector<std::thread> threads;
        for (int i = 0; i < producers; ++i) {
            threads.emplace_back([&, i, mine = done] {
                go.arrive_and_wait();
                if (mine.set_value(i)) {
                    winners.fetch_add(1);
                    winner.store(i);
                }
            });
        }
        for (auto& t : threads) t.join();
        EXPECT_EQ(winners.load(), 1);
        EXPECT_EQ(out.get(), winner.load());
    }
}

TEST(extend, a_producer_after_a_cancel_loses_quietly) {
    auto [done, out] = ext::make_completion<int>();
    out.cancel();
    EXPECT_TRUE(done.cancel_requested());
    EXPECT_FALSE(done.set_value(1));
    EXPECT_FALSE(done.set_exception(std::make_exception_ptr(std::runtime_error("late"))));
    EXPECT_FALSE(done.set_result(result<int>(2)));
    EXPECT_TRUE(out.is_cancelled());
}

TEST(extend, a_claim_lets_the_winner_act_before_the_output_is_published) {
    auto [done, out] = ext::make_completion<int>();
    auto c = done.try_claim();
    ASSERT_TRUE(c);
    EXPECT_FALSE(done.try_claim());  // a second producer loses
    EXPECT_FALSE(done.set_value(9));
    EXPECT_FALSE(out.is_ready());    // claimed, not yet published
    c.set_value(7);
    EXPECT_EQ(out.get(), 7);
}

TEST(extend, a_claim_dropped_without_completing_breaks_the_output) {
    auto [done, out] = ext::make_completion<int>();
    { auto c = done.try_claim(); }
    EXPECT_THROW(out.get(), vow::broken_promise);
}

struct unique_input final : ext::input<std::unique_ptr<int>> {
    int arrivals = 0;
    void on_arrival() noexcept override { ++arrivals; }
};

TEST(extend, an_input_hands_a_move_only_result_over_by_move) {
    promise<std::unique_ptr<int>> p;
    unique_input in;
    in.hold(p.get_future());
    in.listen();
    EXPECT_EQ(in.arrivals, 0);
    p.set_value(std::make_unique<int>(5));
    EXPECT_EQ(in.arrivals, 1);
    result<std::unique_ptr<int>> r = in.take();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r.value(), 5);
}

TEST(extend, an_input_already_done_arrives_once_at_listen) {
    unique_input in;
    in.hold(vow::make_ready_future(std::make_unique<int>(1)));
    EXPECT_TRUE(in.is_ready());
    in.listen();
    EXPECT_EQ(in.arrivals, 1);
    EXPECT_EQ(*in.take().value(), 1);
}

struct int_watch final : ext::input<int> {
    int arrivals = 0;
    void on_arrival() noexcept override { ++arrivals; }
};

TEST(extend, expiring_a_future_watched_in_place_fails_it_and_stops_its_work_first) {
    promise<int> p;
    bool stopped_before_publish = false;
    future<int> f = p.get_future();
    p.on_cancel([&] { stopped_before_publish = !f.is_ready(); });
    int_watch w;
    w.watch(f);  // f stays valid: the watch only shares its state
    w.listen();
    EXPECT_TRUE(f.valid());
    EXPECT_TRUE(w.expire(std::make_exception_ptr(vow::timeout_error())));
    EXPECT_TRUE(stopped_before_publish);
    EXPECT_EQ(w.arrivals, 1);
    EXPECT_FALSE(w.expire(std::make_exception_ptr(vow::timeout_error())));  // once only
    EXPECT_THROW(f.get(), vow::timeout_error);
    p.set_value(1);  // the producer's late value is dropped quietly
}

TEST(extend, holding_an_invalid_future_is_a_usage_error) {
    unique_input in;
    EXPECT_THROW(in.hold(future<std::unique_ptr<int>>()), vow::usage_error);
}

TEST(extend, observe_takes_the_result_out_by_move_on_the_completing_thread) {
    promise<std::unique_ptr<int>> p;
    std::unique_ptr<int> got;
    ext::observe(p.get_future(), [&](result<std::unique_ptr<int>>&& r) { got = std::move(r).value(); });
    EXPECT_EQ(got, nullptr);
    p.set_value(std::make_unique<int>(3));
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(*got, 3);
}

// A tiny fan-in on a shared context: the output's hook captures the context
// (which owns the completion), the inputs' arrivals complete it.
struct pair_context {
    explicit pair_context(std::atomic<int>& frees) : counter(frees) {}
    struct slot final : ext::input<int> {
        std::shared_ptr<pair_context> keep;  // the context, while this input is pending
        void on_arrival() noexcept override {
            auto owner = std::move(keep);  // may free the context (and this slot) on return
            if (peek().has_value()) owner->done.set_value(peek().value());
        }
    };
    ext::completion<int> done;
    slot slots[2];
    free_counter counter;
};

std::pair<std::shared_ptr<pair_context>, future<int>> start_pair(std::atomic<int>& frees, future<int> a, future<int> b) {
    auto ctx = std::make_shared<pair_context>(frees);
    auto [done, out] = ext::make_completion<int>();
    ctx->done = done;
    done.on_cancel([ctx] {
        for (auto& s : ctx->slots) s.cancel();
    });
    ctx->slots[0].keep = ctx->slots[1].keep = ctx;
    ctx->slots[0].hold(std::move(a));
    ctx->slots[1].hold(std::move(b));
    ctx->slots[0].listen();
    ctx->slots[1].listen();
    return {ctx, std::move(out)};
}

TEST(extend, cancelling_the_output_cancels_every_input_still_running_and_leaves_done_ones_alone) {
    std::atomic<int> frees{0};
    promise<int> a, b;
    int a_hooks = 0, b_hooks = 0;
    a.on_cancel([&] { ++a_hooks; });
    b.on_cancel([&] { ++b_hooks; });
    auto a_token = a.stop_token();
    auto [ctx, out] = start_pair(frees, a.get_future(), b.get_future());
    b.set_exception(std::runtime_error("no"));  // done, but the output is not
    out.cancel();
    EXPECT_EQ(a_hooks, 1);
    EXPECT_TRUE(a_token.stop_requested());
    EXPECT_EQ(b_hooks, 0);
    EXPECT_TRUE(out.is_cancelled());
}

TEST(extend, a_cancel_hook_capturing_the_shared_context_does_not_leak_when_the_output_completes) {
    std::atomic<int> frees{0};
    {
        promise<int> a, b;
        auto [ctx, out] = start_pair(frees, a.get_future(), b.get_future());
        ctx.reset();  // only the hook and the output's producers keep it now
        a.set_value(4);
        EXPECT_EQ(out.get(), 4);
        b.set_value(5);
    }
    EXPECT_EQ(frees.load(), 1);
}

TEST(extend, a_cancel_hook_capturing_the_shared_context_does_not_leak_when_the_output_is_cancelled) {
    std::atomic<int> frees{0};
    {
        promise<int> a, b;
        auto [ctx, out] = start_pair(frees, a.get_future(), b.get_future());
        ctx.reset();
        out.cancel();
    }
    EXPECT_EQ(frees.load(), 1);
}

TEST(extend, a_hook_added_after_the_output_completed_is_destroyed_unrun) {
    auto [done, out] = ext::make_completion<int>();
    done.set_value(1);
    auto flag = std::make_shared<int>(0);
    std::weak_ptr<int> watch = flag;
    done.on_cancel([flag = std::move(flag)] { ++*flag; });
    EXPECT_TRUE(watch.expired());
    EXPECT_EQ(out.get(), 1);
}

TEST(extend, a_producer_sees_the_cancel_through_its_stop_token) {
    auto [done, out] = ext::make_completion<int>();
    std::stop_token token = done.stop_token();
    bool told = false;
    std::stop_callback on_stop(token, [&] { told = true; });
    out.cancel();
    EXPECT_TRUE(told);
}

struct counted_context {
    explicit counted_context(std::atomic<int>& frees, int v) : counter(frees), value(v) {}
    free_counter counter;
    int value;
};

TEST(extend, a_context_made_with_the_output_lives_as_long_as_its_state) {
    std::atomic<int> frees{0};
    {
        auto [done, ctx, out] = ext::make_completion_with<int, counted_context>(vow::inline_executor::instance(), frees, 6);
        EXPECT_EQ(ctx.value, 6);
        EXPECT_TRUE(ext::completion_of<int>(ctx).set_value(ctx.value));
        done = {};
        EXPECT_EQ(frees.load(), 0);  // the future still holds the state
        EXPECT_EQ(out.get(), 6);
        EXPECT_EQ(frees.load(), 1);
    }
    EXPECT_EQ(frees.load(), 1);
}

TEST(extend, an_owned_task_destroyed_unrun_fails_its_output_with_executor_shut_down) {
    auto [done, out] = ext::make_completion<int>();
    int runs = 0;
    {
        vow::manual_executor ex;
        ex.execute(ext::task_for(done, [&runs] { ++runs; }));
    }  // destroyed with the task queued
    EXPECT_EQ(runs, 0);
    EXPECT_THROW(out.get(), vow::executor_shut_down);
}

TEST(extend, an_owned_task_that_runs_does_not_touch_its_output) {
    auto [done, out] = ext::make_completion<int>();
    vow::manual_executor ex;
    ex.execute(ext::task_for(done, [d = done] { d.set_value(2); }));
    EXPECT_EQ(ex.run_all(), 1u);
    EXPECT_EQ(out.get(), 2);
}

TEST(extend, a_task_for_may_take_over_its_own_reference_to_the_output) {
    auto [done, out] = ext::make_completion<int>();
    vow::manual_executor ex;
    ex.execute(ext::task_for(std::move(done), [](ext::completion<int>& d) { d.set_value(3); }));
    EXPECT_EQ(ex.run_all(), 1u);
    EXPECT_EQ(out.get(), 3);
}

TEST(extend, an_owned_task_calls_its_drop_action_only_when_dropped_unrun) {
    int ran = 0, dropped = 0;
    {
        ext::owned_task task([&] { ++ran; }, [&] { ++dropped; });
        auto moved = std::move(task);  // a moved-from task is not dropped
        moved();
    }
    EXPECT_EQ(ran, 1);
    EXPECT_EQ(dropped, 0);
    { ext::owned_task task([&] { ++ran; }, [&] { ++dropped; }); }
    EXPECT_EQ(dropped, 1);
}

TEST(extend, only_the_last_arrival_of_a_countdown_learns_it_was_last) {
    ext::countdown c(5);
    EXPECT_FALSE(c.arrive());
    EXPECT_FALSE(c.arrive(2));
    EXPECT_EQ(c.remaining(), 2u);
    EXPECT_TRUE(c.arrive(2));
}

TEST(extend, racing_arrivals_of_a_countdown_elect_one_last) {
    constexpr int n = 8;
    ext::countdown c(n);
    std::latch go(n);
    std::atomic<int> lasts{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&] {
            go.arrive_and_wait();
            if (c.arrive()) lasts.fetch_add(1);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(lasts.load(), 1);
}

}  // namespace
