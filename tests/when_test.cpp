#include "vow/when.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "combinator_support.hpp"
#include "vow/errors.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/timer.hpp"

namespace {

using namespace std::chrono_literals;
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

// n promises and the futures of each, in order.
template <class T>
struct inputs {
    explicit inputs(std::size_t n) : promises(n) {
        for (auto& p : promises) futures.push_back(p.get_future());
    }
    std::vector<promise<T>> promises;
    std::vector<future<T>> futures;
};

// Counts the on_cancel hooks run and the stop requests seen by each promise.
template <class T>
struct stop_watch {
    explicit stop_watch(std::vector<promise<T>>& ps) {
        for (auto& p : ps) {
            tokens.push_back(p.stop_token());
            p.on_cancel([this] { ++hooks_run; });
        }
    }
    bool every_token_stopped() const {
        for (const auto& t : tokens)
            if (!t.stop_requested()) return false;
        return true;
    }
    std::vector<std::stop_token> tokens;
    int hooks_run = 0;
};

// ---------------------------------------------------------------------------
// when_all over a range

TEST(when_all, gives_every_value_in_input_order_whatever_the_order_of_completion) {
    manual_executor ex;
    inputs<int> in(3);
    auto all = vow::when_all(std::move(in.futures), ex);
    static_assert(std::is_same_v<decltype(all), future<std::vector<int>>>);
    in.promises[2].set_value(30);
    in.promises[0].set_value(10);
    EXPECT_FALSE(all.is_ready());
    in.promises[1].set_value(20);
    auto r = take_ready(all);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r.value(), (std::vector<int>{10, 20, 30}));
}

TEST(when_all, of_an_empty_range_is_ready_with_an_empty_vector) {
    manual_executor ex;
    auto all = vow::when_all(std::vector<future<int>>{}, ex);
    auto r = take_ready(all);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r.value().empty());
}

TEST(when_all, of_an_empty_range_of_void_is_ready) {
    manual_executor ex;
    future<void> all = vow::when_all(std::vector<future<void>>{}, ex);
    EXPECT_TRUE(take_ready(all).has_value());
}

TEST(when_all, of_a_range_of_void_completes_once_every_input_has) {
    manual_executor ex;
    inputs<void> in(2);
    future<void> all = vow::when_all(std::move(in.futures), ex);
    in.promises[1].set_value();
    EXPECT_FALSE(all.is_ready());
    in.promises[0].set_value();
    EXPECT_TRUE(take_ready(all).has_value());
}

TEST(when_all, of_a_range_of_move_only_values_moves_them_out) {
    manual_executor ex;
    inputs<std::unique_ptr<int>> in(2);
    auto all = vow::when_all(std::move(in.futures), ex);
    in.promises[0].set_value(std::make_unique<int>(1));
    in.promises[1].set_value(std::make_unique<int>(2));
    auto values = take_ready(all).value();
    ASSERT_EQ(values.size(), 2u);
    EXPECT_EQ(*values[0], 1);
    EXPECT_EQ(*values[1], 2);
}

TEST(when_all, of_inputs_already_done_is_ready_at_once) {
    manual_executor ex;
    std::vector<future<int>> in;
    in.push_back(vow::make_ready_future(1));
    in.push_back(vow::make_ready_future(2));
    auto all = vow::when_all(std::move(in), ex);
    EXPECT_EQ(take_ready(all).value(), (std::vector<int>{1, 2}));
}

TEST(when_all, fails_fast_with_the_first_error_and_cancels_the_rest) {
    manual_executor ex;
    inputs<int> in(4);
    stop_watch watch(in.promises);
    in.promises[0].set_value(1);
    auto all = vow::when_all(std::move(in.futures), ex);
    in.promises[2].set_exception(std::runtime_error("first"));
    ASSERT_TRUE(all.is_ready());
    EXPECT_TRUE(in.promises[1].is_cancelled());
    EXPECT_TRUE(in.promises[3].is_cancelled());
    EXPECT_TRUE(watch.tokens[1].stop_requested());
    EXPECT_TRUE(watch.tokens[3].stop_requested());
    // A late error from a cancelled input does not replace the first one.
    in.promises[3].set_exception(std::logic_error("second"));
    auto r = take_ready(all);
    ASSERT_TRUE(holds<std::runtime_error>(r));
    EXPECT_EQ(vow_ctest::message_of(r.exception()), "first");
}

TEST(when_all, an_input_failed_already_fails_it_at_once_and_cancels_the_rest) {
    manual_executor ex;
    promise<int> before;
    promise<int> after;
    std::vector<future<int>> in;
    in.push_back(before.get_future());
    in.push_back(vow::make_exceptional_future<int>(vow::timeout_error("already")));
    in.push_back(after.get_future());
    auto all = vow::when_all(std::move(in), ex);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(all)));
    EXPECT_TRUE(before.is_cancelled());
    EXPECT_TRUE(after.is_cancelled());
}

TEST(when_all, does_not_ask_inputs_that_already_succeeded_to_stop) {
    manual_executor ex;
    inputs<int> in(3);
    stop_watch watch(in.promises);
    auto all = vow::when_all(std::move(in.futures), ex);
    in.promises[0].set_value(1);
    in.promises[1].set_exception(std::runtime_error("x"));
    ASSERT_TRUE(all.is_ready());
    EXPECT_FALSE(watch.tokens[0].stop_requested());
    EXPECT_TRUE(watch.tokens[2].stop_requested());
    EXPECT_EQ(watch.hooks_run, 1);  // the pending input's only
    EXPECT_TRUE(holds<std::runtime_error>(take_ready(all)));
}

TEST(when_all, cancelling_it_asks_every_input_to_stop) {
    manual_executor ex;
    inputs<int> in(3);
    stop_watch watch(in.promises);
    auto all = vow::when_all(std::move(in.futures), ex);
    all.cancel();
    EXPECT_TRUE(all.is_cancelled());
    for (auto& p : in.promises) EXPECT_TRUE(p.is_cancelled());
    EXPECT_TRUE(watch.every_token_stopped());
    EXPECT_EQ(watch.hooks_run, 3);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(all)));
}

TEST(when_all, passes_every_kind_of_error_through) {
    for (error_kind kind : every_error_kind) {
        SCOPED_TRACE(vow_ctest::name_of(kind));
        manual_executor ex;
        failing_input failing(kind);
        promise<int> other;
        std::vector<future<int>> in;
        in.push_back(other.get_future());
        in.push_back(failing.get_future());
        auto all = vow::when_all(std::move(in), ex);
        EXPECT_FALSE(all.is_ready());
        failing.fail();
        auto r = take_ready(all);
        EXPECT_TRUE(vow_ctest::is_kind(kind, r.exception())) << vow_ctest::message_of(r.exception());
        EXPECT_TRUE(other.is_cancelled());
    }
}

TEST(when_all, binds_its_result_to_the_given_executor) {
    manual_executor ex;
    inputs<int> in(1);
    bool ran = false;
    auto next = vow::when_all(std::move(in.futures), ex).then([&](std::vector<int> v) {
        ran = ex.running_in_this_thread();
        return v.at(0);
    });
    in.promises[0].set_value(5);
    EXPECT_FALSE(ran);
    EXPECT_EQ(ex.run_until_idle(), 1u);
    EXPECT_TRUE(ran);
    EXPECT_EQ(take_ready(next).value(), 5);
}

TEST(when_all, an_invalid_input_is_a_usage_error) {
    manual_executor ex;
    std::vector<future<int>> in(1);
    EXPECT_THROW(vow::when_all(std::move(in), ex), vow::usage_error);
}

TEST(when_all, every_value_it_holds_is_destroyed) {
    lifetimes values;
    {
        manual_executor ex;
        inputs<tracked> in(3);
        auto all = vow::when_all(std::move(in.futures), ex);
        in.promises[1].set_value(tracked(values, 1));
        in.promises[0].set_value(tracked(values, 0));
        in.promises[2].set_value(tracked(values, 2));
        auto got = take_ready(all).value();
        ASSERT_EQ(got.size(), 3u);
        EXPECT_EQ(got[2].value, 2);
    }
    EXPECT_GT(values.constructed.load(), 0);
    EXPECT_EQ(values.alive(), 0);
}

TEST(when_all, the_values_of_a_failed_when_all_are_destroyed_with_it) {
    lifetimes values;
    {
        manual_executor ex;
        inputs<tracked> in(3);
        auto all = vow::when_all(std::move(in.futures), ex);
        in.promises[0].set_value(tracked(values, 0));
        in.promises[1].set_exception(std::runtime_error("x"));
        in.promises[2].set_value(tracked(values, 2));  // cancelled already: dropped
        EXPECT_TRUE(holds<std::runtime_error>(take_ready(all)));
    }
    EXPECT_GT(values.constructed.load(), 0);
    EXPECT_EQ(values.alive(), 0);
}

TEST(when_all, errors_it_consumed_are_not_reported_as_unobserved) {
    vow_ctest::unobserved_errors unobserved;
    {
        manual_executor ex;
        inputs<int> in(2);
        auto all = vow::when_all(std::move(in.futures), ex);
        in.promises[0].set_exception(std::runtime_error("x"));
        EXPECT_TRUE(holds<std::runtime_error>(take_ready(all)));
    }
    EXPECT_EQ(unobserved.count(), 0);
}

// ---------------------------------------------------------------------------
// when_all over inputs done before it starts (the single-pass path), and over a
// mix of done and pending inputs (done ones arrive at once, counted together)

TEST(when_all, of_inputs_all_done_fails_with_the_first_error_in_input_order_and_reports_none) {
    vow_ctest::unobserved_errors unobserved;
    {
        manual_executor ex;
        std::vector<future<int>> in;
        in.push_back(vow::make_ready_future(1));
        in.push_back(vow::make_exceptional_future<int>(std::runtime_error("first")));
        in.push_back(vow::make_ready_future(3));
        in.push_back(vow::make_exceptional_future<int>(std::logic_error("second")));
        auto all = vow::when_all(std::move(in), ex);
        EXPECT_EQ(&all.bound_executor(), &ex);
        auto r = take_ready(all);
        ASSERT_TRUE(holds<std::runtime_error>(r));
        EXPECT_EQ(vow_ctest::message_of(r.exception()), "first");
    }
    EXPECT_EQ(unobserved.count(), 0);
}

TEST(when_all, of_inputs_all_done_moves_every_value_out_and_leaks_none) {
    lifetimes values;
    {
        manual_executor ex;
        std::vector<future<tracked>> in;
        for (int i = 0; i < 5; ++i) in.push_back(vow::make_ready_future(tracked(values, i)));
        auto all = vow::when_all(std::move(in), ex);
        auto v = take_ready(all).value();
        ASSERT_EQ(v.size(), 5u);
        for (int i = 0; i < 5; ++i) EXPECT_EQ(v[static_cast<std::size_t>(i)].value, i);
        EXPECT_EQ(values.alive(), 5);  // only the output's: the inputs are gone already
    }
    EXPECT_EQ(values.alive(), 0);
}

TEST(when_all, of_void_inputs_all_done_fails_with_the_first_error) {
    manual_executor ex;
    std::vector<future<void>> in;
    in.push_back(vow::make_ready_future());
    in.push_back(vow::make_exceptional_future<void>(vow::timeout_error("late")));
    in.push_back(vow::make_ready_future());
    auto failed = vow::when_all(std::move(in), ex);
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(failed)));
    std::vector<future<void>> ok;
    ok.push_back(vow::make_ready_future());
    ok.push_back(vow::make_ready_future());
    auto all = vow::when_all(std::move(ok), ex);
    EXPECT_TRUE(take_ready(all).has_value());
}

TEST(when_all, of_done_and_pending_inputs_waits_for_the_pending_ones_and_keeps_input_order) {
    lifetimes values;
    {
        manual_executor ex;
        promise<tracked> second;
        promise<tracked> fourth;
        std::vector<future<tracked>> in;
        in.push_back(vow::make_ready_future(tracked(values, 1)));
        in.push_back(second.get_future());
        in.push_back(vow::make_ready_future(tracked(values, 3)));
        in.push_back(fourth.get_future());
        auto all = vow::when_all(std::move(in), ex);
        fourth.set_value(tracked(values, 4));
        EXPECT_FALSE(all.is_ready());
        second.set_value(tracked(values, 2));
        auto v = take_ready(all).value();
        ASSERT_EQ(v.size(), 4u);
        for (int i = 0; i < 4; ++i) EXPECT_EQ(v[static_cast<std::size_t>(i)].value, i + 1);
    }
    EXPECT_EQ(values.alive(), 0);
}

TEST(when_all, a_done_error_after_pending_inputs_fails_it_at_once_and_stops_only_the_pending_ones) {
    vow_ctest::unobserved_errors unobserved;
    {
        manual_executor ex;
        inputs<int> pending(2);
        stop_watch watch(pending.promises);
        std::vector<future<int>> in;
        in.push_back(std::move(pending.futures[0]));
        in.push_back(vow::make_ready_future(7));
        in.push_back(std::move(pending.futures[1]));
        in.push_back(vow::make_exceptional_future<int>(std::runtime_error("done already")));
        in.push_back(vow::make_exceptional_future<int>(std::logic_error("also done")));
        auto all = vow::when_all(std::move(in), ex);
        ASSERT_TRUE(all.is_ready());
        EXPECT_TRUE(watch.every_token_stopped());
        EXPECT_EQ(watch.hooks_run, 2);
        auto r = take_ready(all);
        ASSERT_TRUE(holds<std::runtime_error>(r));
        EXPECT_EQ(vow_ctest::message_of(r.exception()), "done already");
    }
    EXPECT_EQ(unobserved.count(), 0);
}

TEST(when_all, of_many_done_inputs_and_one_pending_completes_exactly_when_that_one_does) {
    manual_executor ex;
    promise<int> last;
    std::vector<future<int>> in;
    for (int i = 0; i < 1000; ++i) in.push_back(i == 500 ? last.get_future() : vow::make_ready_future(i));
    auto all = vow::when_all(std::move(in), ex);
    EXPECT_FALSE(all.is_ready());
    last.set_value(500);
    auto v = take_ready(all).value();
    ASSERT_EQ(v.size(), 1000u);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(v[static_cast<std::size_t>(i)], i);
}

TEST(when_all, cancelling_it_over_done_and_pending_inputs_stops_only_the_pending_ones) {
    manual_executor ex;
    inputs<int> pending(2);
    stop_watch watch(pending.promises);
    promise<int> done;
    std::stop_token done_token = done.stop_token();
    auto done_future = done.get_future();
    done.set_value(1);
    std::vector<future<int>> in;
    in.push_back(std::move(done_future));
    in.push_back(std::move(pending.futures[0]));
    in.push_back(std::move(pending.futures[1]));
    auto all = vow::when_all(std::move(in), ex);
    all.cancel();
    EXPECT_TRUE(watch.every_token_stopped());
    EXPECT_EQ(watch.hooks_run, 2);
    EXPECT_FALSE(done_token.stop_requested());
    EXPECT_TRUE(take_ready(all).is_cancelled());
}

TEST(when_all_settled, of_inputs_all_done_keeps_every_result_in_order_and_reports_no_error) {
    vow_ctest::unobserved_errors unobserved;
    lifetimes values;
    {
        manual_executor ex;
        std::vector<future<tracked>> in;
        in.push_back(vow::make_exceptional_future<tracked>(std::runtime_error("x")));
        in.push_back(vow::make_ready_future(tracked(values, 1)));
        in.push_back(vow::make_exceptional_future<tracked>(std::logic_error("y")));
        auto all = vow::when_all_settled(std::move(in), ex);
        auto results = take_ready(all).value();
        ASSERT_EQ(results.size(), 3u);
        EXPECT_TRUE(holds<std::runtime_error>(results[0]));
        EXPECT_EQ(results[1].value().value, 1);
        EXPECT_TRUE(holds<std::logic_error>(results[2]));
    }
    EXPECT_EQ(values.alive(), 0);
    EXPECT_EQ(unobserved.count(), 0);
}

// ---------------------------------------------------------------------------
// when_all, variadic

TEST(when_all, of_different_types_gives_a_tuple_with_monostate_for_void_and_move_only_values) {
    promise<int> a;
    promise<void> b;
    promise<std::unique_ptr<std::string>> c;
    auto all = vow::when_all(a.get_future(), b.get_future(), c.get_future());
    static_assert(
        std::is_same_v<decltype(all), future<std::tuple<int, std::monostate, std::unique_ptr<std::string>>>>);
    c.set_value(std::make_unique<std::string>("c"));
    a.set_value(1);
    EXPECT_FALSE(all.is_ready());
    b.set_value();
    auto t = take_ready(all).value();
    EXPECT_EQ(std::get<0>(t), 1);
    ASSERT_NE(std::get<2>(t), nullptr);
    EXPECT_EQ(*std::get<2>(t), "c");
}

TEST(when_all, variadic_fails_fast_with_the_first_error_and_cancels_the_rest) {
    promise<int> a;
    promise<void> b;
    promise<std::unique_ptr<int>> c;
    auto all = vow::when_all(a.get_future(), b.get_future(), c.get_future());
    b.set_exception(vow::timeout_error("slow"));
    ASSERT_TRUE(all.is_ready());
    EXPECT_TRUE(a.is_cancelled());
    EXPECT_TRUE(c.is_cancelled());
    EXPECT_TRUE(holds<vow::timeout_error>(take_ready(all)));
}

TEST(when_all, variadic_does_not_ask_inputs_that_already_succeeded_to_stop) {
    promise<int> a;
    promise<void> b;
    promise<int> c;
    std::stop_token done = a.stop_token();
    std::stop_token pending = c.stop_token();
    auto all = vow::when_all(a.get_future(), b.get_future(), c.get_future());
    a.set_value(1);
    b.set_exception(std::runtime_error("b"));
    EXPECT_FALSE(done.stop_requested());
    EXPECT_TRUE(pending.stop_requested());
    EXPECT_TRUE(holds<std::runtime_error>(take_ready(all)));
}

TEST(when_all, variadic_cancel_asks_every_input_to_stop) {
    promise<int> a;
    promise<void> b;
    int hooks = 0;
    a.on_cancel([&] { ++hooks; });
    b.on_cancel([&] { ++hooks; });
    auto all = vow::when_all(a.get_future(), b.get_future());
    all.cancel();
    EXPECT_TRUE(a.is_cancelled());
    EXPECT_TRUE(b.is_cancelled());
    EXPECT_EQ(hooks, 2);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(all)));
}

TEST(when_all, variadic_passes_every_kind_of_error_through) {
    for (error_kind kind : every_error_kind) {
        SCOPED_TRACE(vow_ctest::name_of(kind));
        failing_input failing(kind);
        promise<void> other;
        auto all = vow::when_all(other.get_future(), failing.get_future());
        failing.fail();
        auto r = take_ready(all);
        EXPECT_TRUE(vow_ctest::is_kind(kind, r.exception())) << vow_ctest::message_of(r.exception());
        EXPECT_TRUE(other.is_cancelled());
    }
}

TEST(when_all, variadic_destroys_every_value_it_holds) {
    lifetimes values;
    {
        promise<tracked> a;
        promise<tracked> b;
        auto all = vow::when_all(a.get_future(), b.get_future());
        a.set_value(tracked(values, 1));
        b.set_value(tracked(values, 2));
        auto t = take_ready(all).value();
        EXPECT_EQ(std::get<1>(t).value, 2);
    }
    EXPECT_GT(values.constructed.load(), 0);
    EXPECT_EQ(values.alive(), 0);
}

TEST(when_all, variadic_with_an_invalid_input_is_a_usage_error) {
    promise<int> a;
    EXPECT_THROW(vow::when_all(a.get_future(), future<int>{}), vow::usage_error);
    a.set_value(1);  // no one is left to see it
}

// ---------------------------------------------------------------------------
// when_all_settled

TEST(when_all_settled, gives_every_result_in_input_order_and_never_fails) {
    manual_executor ex;
    inputs<int> in(3);
    stop_watch watch(in.promises);
    auto all = vow::when_all_settled(std::move(in.futures), ex);
    static_assert(std::is_same_v<decltype(all), future<std::vector<result<int>>>>);
    in.promises[1].set_exception(std::runtime_error("one"));
    EXPECT_FALSE(all.is_ready());
    EXPECT_EQ(watch.hooks_run, 0);  // an error cancels nothing
    in.promises[2].set_value(2);
    in.promises[0].set_value(0);
    auto r = take_ready(all);
    ASSERT_TRUE(r.has_value());
    auto& results = r.value();
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].value(), 0);
    EXPECT_TRUE(holds<std::runtime_error>(results[1]));
    EXPECT_EQ(results[2].value(), 2);
}

TEST(when_all_settled, of_an_empty_range_is_ready_with_no_results) {
    manual_executor ex;
    auto all = vow::when_all_settled(std::vector<future<void>>{}, ex);
    EXPECT_TRUE(take_ready(all).value().empty());
}

TEST(when_all_settled, keeps_every_kind_of_error_in_its_results) {
    manual_executor ex;
    std::deque<failing_input> failing;
    std::vector<future<int>> in;
    for (error_kind kind : every_error_kind) in.push_back(failing.emplace_back(kind).get_future());
    in.push_back(vow::make_ready_future(7));
    auto all = vow::when_all_settled(std::move(in), ex);
    for (auto& f : failing) f.fail();
    auto results = take_ready(all).value();
    ASSERT_EQ(results.size(), std::size(every_error_kind) + 1);
    for (std::size_t i = 0; i < std::size(every_error_kind); ++i) {
        EXPECT_TRUE(vow_ctest::is_kind(every_error_kind[i], results[i].exception()))
            << vow_ctest::name_of(every_error_kind[i]);
    }
    EXPECT_EQ(results.back().value(), 7);
}

TEST(when_all_settled, variadic_gives_a_tuple_of_results) {
    promise<int> a;
    promise<void> b;
    promise<std::unique_ptr<int>> c;
    auto all = vow::when_all_settled(a.get_future(), b.get_future(), c.get_future());
    static_assert(std::is_same_v<decltype(all),
                                 future<std::tuple<result<int>, result<void>, result<std::unique_ptr<int>>>>>);
    b.set_exception(std::logic_error("b"));
    EXPECT_FALSE(a.is_cancelled());
    a.set_value(1);
    EXPECT_FALSE(all.is_ready());
    c.set_value(std::make_unique<int>(3));
    auto t = take_ready(all).value();
    EXPECT_EQ(std::get<0>(t).value(), 1);
    EXPECT_TRUE(holds<std::logic_error>(std::get<1>(t)));
    EXPECT_EQ(*std::get<2>(t).value(), 3);
}

TEST(when_all_settled, cancelling_it_asks_every_input_to_stop) {
    manual_executor ex;
    inputs<int> in(2);
    stop_watch watch(in.promises);
    auto all = vow::when_all_settled(std::move(in.futures), ex);
    all.cancel();
    EXPECT_TRUE(watch.every_token_stopped());
    EXPECT_EQ(watch.hooks_run, 2);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(all)));
}

TEST(when_all_settled, variadic_cancel_asks_every_input_to_stop) {
    promise<int> a;
    promise<void> b;
    auto all = vow::when_all_settled(a.get_future(), b.get_future());
    all.cancel();
    EXPECT_TRUE(a.is_cancelled());
    EXPECT_TRUE(b.is_cancelled());
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(all)));
}

TEST(when_all_settled, errors_handed_to_its_results_are_not_reported_as_unobserved) {
    vow_ctest::unobserved_errors unobserved;
    {
        manual_executor ex;
        inputs<int> in(2);
        auto all = vow::when_all_settled(std::move(in.futures), ex);
        in.promises[0].set_exception(std::runtime_error("x"));
        in.promises[1].set_exception(std::runtime_error("y"));
        EXPECT_EQ(take_ready(all).value().size(), 2u);
    }
    EXPECT_EQ(unobserved.count(), 0);
}

TEST(when_all_settled, every_value_it_holds_is_destroyed) {
    lifetimes values;
    {
        manual_executor ex;
        inputs<tracked> in(2);
        auto all = vow::when_all_settled(std::move(in.futures), ex);
        in.promises[0].set_value(tracked(values, 0));
        in.promises[1].set_exception(std::runtime_error("x"));
        auto results = take_ready(all).value();
        EXPECT_EQ(results[0].value().value, 0);
    }
    EXPECT_GT(values.constructed.load(), 0);
    EXPECT_EQ(values.alive(), 0);
}

// ---------------------------------------------------------------------------
// when_any

TEST(when_any, gives_the_index_and_value_of_the_first_to_finish_and_cancels_the_losers) {
    manual_executor ex;
    inputs<int> in(3);
    stop_watch watch(in.promises);
    auto any = vow::when_any(std::move(in.futures), ex);
    EXPECT_FALSE(any.is_ready());
    in.promises[1].set_value(11);
    auto r = take_ready(any);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r.value().index, 1u);
    EXPECT_EQ(r.value().outcome.value(), 11);
    EXPECT_TRUE(in.promises[0].is_cancelled());
    EXPECT_TRUE(in.promises[2].is_cancelled());
    EXPECT_TRUE(watch.tokens[0].stop_requested());
    EXPECT_TRUE(watch.tokens[2].stop_requested());
}

TEST(when_any, does_not_ask_the_winner_to_stop) {
    manual_executor ex;
    inputs<int> in(2);
    stop_watch watch(in.promises);
    auto any = vow::when_any(std::move(in.futures), ex);
    in.promises[0].set_value(1);
    EXPECT_EQ(take_ready(any).value().index, 0u);
    EXPECT_FALSE(watch.tokens[0].stop_requested());
    EXPECT_TRUE(watch.tokens[1].stop_requested());
    EXPECT_EQ(watch.hooks_run, 1);
}

TEST(when_any, a_first_input_that_fails_gives_its_index_and_error) {
    manual_executor ex;
    inputs<int> in(2);
    auto any = vow::when_any(std::move(in.futures), ex);
    in.promises[1].set_exception(std::runtime_error("lost"));
    auto r = take_ready(any).value();
    EXPECT_EQ(r.index, 1u);
    EXPECT_TRUE(holds<std::runtime_error>(r.outcome));
    EXPECT_TRUE(in.promises[0].is_cancelled());
}

TEST(when_any, passes_every_kind_of_error_through_in_its_outcome) {
    for (error_kind kind : every_error_kind) {
        SCOPED_TRACE(vow_ctest::name_of(kind));
        manual_executor ex;
        failing_input failing(kind);
        promise<int> other;
        std::vector<future<int>> in;
        in.push_back(other.get_future());
        in.push_back(failing.get_future());
        auto any = vow::when_any(std::move(in), ex);
        failing.fail();
        auto r = take_ready(any).value();
        EXPECT_EQ(r.index, 1u);
        EXPECT_TRUE(vow_ctest::is_kind(kind, r.outcome.exception())) << vow_ctest::message_of(r.outcome.exception());
        EXPECT_TRUE(other.is_cancelled());
    }
}

TEST(when_any, of_inputs_already_done_picks_the_first_in_input_order) {
    manual_executor ex;
    promise<int> pending;
    std::vector<future<int>> in;
    in.push_back(pending.get_future());
    in.push_back(vow::make_ready_future(1));
    in.push_back(vow::make_ready_future(2));
    auto any = vow::when_any(std::move(in), ex);
    auto r = take_ready(any).value();
    EXPECT_EQ(r.index, 1u);
    EXPECT_EQ(r.outcome.value(), 1);
    EXPECT_TRUE(pending.is_cancelled());
}

TEST(when_any, of_an_empty_range_fails_with_usage_error) {
    manual_executor ex;
    auto any = vow::when_any(std::vector<future<int>>{}, ex);
    EXPECT_TRUE(holds<vow::usage_error>(take_ready(any)));
}

TEST(when_any, cancelling_it_asks_every_input_to_stop) {
    manual_executor ex;
    inputs<void> in(3);
    stop_watch watch(in.promises);
    auto any = vow::when_any(std::move(in.futures), ex);
    any.cancel();
    EXPECT_TRUE(watch.every_token_stopped());
    EXPECT_EQ(watch.hooks_run, 3);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(any)));
}

TEST(when_any, the_values_of_the_winner_and_of_late_losers_are_destroyed) {
    lifetimes values;
    {
        manual_executor ex;
        inputs<tracked> in(2);
        auto any = vow::when_any(std::move(in.futures), ex);
        in.promises[1].set_value(tracked(values, 1));
        in.promises[0].set_value(tracked(values, 0));  // cancelled already: dropped
        auto r = take_ready(any).value();
        EXPECT_EQ(r.outcome.value().value, 1);
    }
    EXPECT_GT(values.constructed.load(), 0);
    EXPECT_EQ(values.alive(), 0);
}

TEST(when_any, binds_its_result_to_the_given_executor) {
    manual_executor ex;
    inputs<int> in(1);
    auto next = vow::when_any(std::move(in.futures), ex).then([](vow::when_any_result<int> r) { return r.index; });
    in.promises[0].set_value(1);
    EXPECT_FALSE(next.is_ready());
    EXPECT_EQ(ex.run_until_idle(), 1u);
    EXPECT_EQ(take_ready(next).value(), 0u);
}

// ---------------------------------------------------------------------------
// first_success

TEST(first_success, gives_the_first_value_and_cancels_the_others) {
    manual_executor ex;
    inputs<int> in(3);
    stop_watch watch(in.promises);
    auto first = vow::first_success(std::move(in.futures), ex);
    in.promises[0].set_exception(std::runtime_error("fails first"));
    EXPECT_FALSE(first.is_ready());
    EXPECT_EQ(watch.hooks_run, 0);  // an error cancels nothing
    in.promises[2].set_value(2);
    EXPECT_EQ(take_ready(first).value(), 2);
    EXPECT_TRUE(watch.tokens[1].stop_requested());
    EXPECT_FALSE(watch.tokens[2].stop_requested());  // the winner
    EXPECT_EQ(watch.hooks_run, 1);
}

TEST(first_success, fails_with_all_failed_holding_every_error_in_input_order) {
    manual_executor ex;
    std::deque<failing_input> failing;
    std::vector<future<int>> in;
    for (error_kind kind : every_error_kind) in.push_back(failing.emplace_back(kind).get_future());
    auto first = vow::first_success(std::move(in), ex);
    // Fail them in reverse order: the errors still come back in input order.
    for (auto it = failing.rbegin(); it != failing.rend(); ++it) {
        EXPECT_FALSE(first.is_ready());
        it->fail();
    }
    auto r = take_ready(first);
    ASSERT_TRUE(holds<vow::all_failed>(r));
    try {
        std::rethrow_exception(r.exception());
    } catch (const vow::all_failed& e) {
        ASSERT_EQ(e.errors().size(), std::size(every_error_kind));
        for (std::size_t i = 0; i < e.errors().size(); ++i) {
            EXPECT_TRUE(vow_ctest::is_kind(every_error_kind[i], e.errors()[i])) << vow_ctest::name_of(every_error_kind[i]);
        }
    }
}

TEST(first_success, of_an_empty_range_fails_with_all_failed_and_no_errors) {
    manual_executor ex;
    auto first = vow::first_success(std::vector<future<int>>{}, ex);
    auto r = take_ready(first);
    ASSERT_TRUE(holds<vow::all_failed>(r));
    try {
        std::rethrow_exception(r.exception());
    } catch (const vow::all_failed& e) {
        EXPECT_TRUE(e.errors().empty());
    }
}

TEST(first_success, of_void_inputs_succeeds_with_the_first_success) {
    manual_executor ex;
    inputs<void> in(2);
    future<void> first = vow::first_success(std::move(in.futures), ex);
    in.promises[1].set_exception(std::runtime_error("no"));
    in.promises[0].set_value();
    EXPECT_TRUE(take_ready(first).has_value());
}

TEST(first_success, cancelling_it_asks_every_input_to_stop) {
    manual_executor ex;
    inputs<int> in(3);
    stop_watch watch(in.promises);
    auto first = vow::first_success(std::move(in.futures), ex);
    first.cancel();
    EXPECT_TRUE(watch.every_token_stopped());
    EXPECT_EQ(watch.hooks_run, 3);
    EXPECT_TRUE(holds<vow::cancelled_error>(take_ready(first)));
}

TEST(first_success, errors_before_the_winner_are_not_reported_as_unobserved) {
    vow_ctest::unobserved_errors unobserved;
    {
        manual_executor ex;
        inputs<int> in(2);
        auto first = vow::first_success(std::move(in.futures), ex);
        in.promises[0].set_exception(std::runtime_error("x"));
        in.promises[1].set_value(1);
        EXPECT_EQ(take_ready(first).value(), 1);
    }
    EXPECT_EQ(unobserved.count(), 0);
}

TEST(first_success, the_values_of_the_winner_and_of_late_losers_are_destroyed) {
    lifetimes values;
    {
        manual_executor ex;
        inputs<tracked> in(3);
        auto first = vow::first_success(std::move(in.futures), ex);
        in.promises[0].set_exception(std::runtime_error("x"));
        in.promises[2].set_value(tracked(values, 2));
        in.promises[1].set_value(tracked(values, 1));  // cancelled already: dropped
        EXPECT_EQ(take_ready(first).value().value, 2);
    }
    EXPECT_GT(values.constructed.load(), 0);
    EXPECT_EQ(values.alive(), 0);
}

// ---------------------------------------------------------------------------
// Races: inputs completed from several threads at once (for the sanitizers)

TEST(when_race, when_all_of_inputs_completed_and_cancelled_concurrently_is_consistent_and_leaks_nothing) {
    lifetimes values;
    constexpr int width = 3;
    for (int round = 0; round < 100; ++round) {
        manual_executor ex;
        inputs<tracked> in(width);
        auto all = vow::when_all(std::move(in.futures), ex);
        std::latch go(width + 1);
        std::vector<std::thread> producers;
        for (int i = 0; i < width; ++i) {
            producers.emplace_back([&, i] {
                go.arrive_and_wait();
                in.promises[static_cast<std::size_t>(i)].set_value(tracked(values, i));
            });
        }
        go.arrive_and_wait();
        if (round % 2 == 0) all.cancel();
        for (auto& t : producers) t.join();
        auto r = take_ready(all);
        if (r.has_value()) {
            ASSERT_EQ(r.value().size(), static_cast<std::size_t>(width));
            for (int i = 0; i < width; ++i) EXPECT_EQ(r.value()[static_cast<std::size_t>(i)].value, i);
        } else {
            EXPECT_TRUE(r.is_cancelled());
            EXPECT_EQ(round % 2, 0);
        }
    }
    EXPECT_EQ(values.alive(), 0);
}

TEST(when_race, when_all_of_done_inputs_and_inputs_completed_meanwhile_on_other_threads_completes_once) {
    lifetimes values;
    constexpr int width = 6;
    for (int round = 0; round < 100; ++round) {
        manual_executor ex;
        inputs<tracked> pending(width / 2);
        std::vector<future<tracked>> in;
        for (int i = 0; i < width; ++i) {
            if (i % 2 == 0) {
                in.push_back(vow::make_ready_future(tracked(values, i)));
            } else {
                in.push_back(std::move(pending.futures[static_cast<std::size_t>(i / 2)]));
            }
        }
        std::latch go(width / 2 + 1);
        std::vector<std::thread> producers;
        for (int i = 1; i < width; i += 2) {
            producers.emplace_back([&, i] {
                go.arrive_and_wait();
                pending.promises[static_cast<std::size_t>(i / 2)].set_value(tracked(values, i));
            });
        }
        go.arrive_and_wait();
        auto all = vow::when_all(std::move(in), ex);  // races the producers
        for (auto& t : producers) t.join();
        auto r = take_ready(all);
        ASSERT_TRUE(r.has_value());
        ASSERT_EQ(r.value().size(), static_cast<std::size_t>(width));
        for (int i = 0; i < width; ++i) EXPECT_EQ(r.value()[static_cast<std::size_t>(i)].value, i);
    }
    EXPECT_EQ(values.alive(), 0);
}

TEST(when_race, when_any_of_two_inputs_completed_at_once_has_one_winner_that_is_never_cancelled) {
    for (int round = 0; round < 100; ++round) {
        manual_executor ex;
        inputs<int> in(2);
        auto any = vow::when_any(std::move(in.futures), ex);
        std::latch go(2);
        std::thread other([&] {
            go.arrive_and_wait();
            in.promises[1].set_value(1);
        });
        go.arrive_and_wait();
        in.promises[0].set_value(0);
        other.join();
        auto r = take_ready(any).value();
        ASSERT_LT(r.index, 2u);
        EXPECT_EQ(r.outcome.value(), static_cast<int>(r.index));
        EXPECT_FALSE(in.promises[r.index].is_cancelled());
    }
}

}  // namespace
