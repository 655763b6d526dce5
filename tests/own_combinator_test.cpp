// A combinator written the way a user writes one: only public headers, the
// extension layer (vow/extend.hpp) and nothing of vow::detail.
// race_with_default(f, d, value): f's outcome if it completes within d,
// otherwise `value` (and f is cancelled).
#include "vow/extend.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "vow/future.hpp"
#include "vow/inline_executor.hpp"
#include "vow/promise.hpp"
#include "vow/timer.hpp"

namespace my {

namespace ext = vow::ext;

template <class T>
class race_context {
public:
    explicit race_context(T fallback) : fallback_(std::move(fallback)) { in_.owner = this; }

    void start(ext::completion<T> done, vow::future<T> f, vow::timer::duration d, vow::timer& t) {
        in_.hold(std::move(f));
        done.on_cancel([this] { stop(); });  // `this` lives inside the output: no cycle
        // The timer's task holds a reference to the output; dropped unrun (the
        // timer went away) it fails the output with executor_shut_down.
        vow::timer_handle h = t.schedule_after(d, ext::task_for(done, [this, done] {
            if (auto c = done.try_claim()) {  // the deadline won: stop f, then publish
                in_.cancel();
                c.set_value(std::move(fallback_));
            }
        }));
        {
            std::lock_guard lock(mutex_);
            deadline_ = h;
        }
        in_.keep = std::move(done);
        in_.listen();  // last: may arrive at once
    }

private:
    struct watched final : ext::input<T> {
        race_context* owner = nullptr;
        ext::completion<T> keep;  // the output, while f is pending
        void on_arrival() noexcept override {
            ext::completion<T> done = std::move(keep);  // dropped last
            if (done.set_result(this->take())) owner->stop();
        }
    };

    void stop() noexcept {
        vow::timer_handle h;
        {
            std::lock_guard lock(mutex_);
            h = deadline_;
        }
        h.cancel();
        in_.cancel();
    }

    T fallback_;  // moved out only by the deadline's winning claim
    watched in_;
    std::mutex mutex_;
    vow::timer_handle deadline_;  // guarded by mutex_
};

template <class T>
vow::future<T> race_with_default(vow::future<T> f, vow::timer::duration d, T value, vow::timer& t) {
    auto [done, context, out] =
        ext::make_completion_with<T, race_context<T>>(vow::inline_executor::instance(), std::move(value));
    context.start(std::move(done), std::move(f), d, t);
    return std::move(out);
}

}  // namespace my

namespace {

using namespace std::chrono_literals;

TEST(own_combinator, race_with_default_gives_the_input_when_it_finishes_in_time) {
    vow::manual_timer timer;
    vow::promise<std::string> p;
    auto out = my::race_with_default(p.get_future(), 10ms, std::string("default"), timer);
    timer.advance(9ms);
    p.set_value("real");
    EXPECT_EQ(out.get(), "real");
    EXPECT_EQ(timer.pending(), 0u);
}

TEST(own_combinator, race_with_default_gives_the_default_at_the_deadline_and_cancels_the_input) {
    vow::manual_timer timer;
    vow::promise<std::string> p;
    int hooks = 0;
    p.on_cancel([&] { ++hooks; });
    auto out = my::race_with_default(p.get_future(), 10ms, std::string("default"), timer);
    timer.advance(10ms);
    EXPECT_EQ(out.get(), "default");
    EXPECT_EQ(hooks, 1);
    p.set_value("late");  // loses quietly
}

TEST(own_combinator, race_with_default_passes_an_error_of_the_input_on) {
    vow::manual_timer timer;
    vow::promise<int> p;
    auto out = my::race_with_default(p.get_future(), 10ms, 0, timer);
    p.set_exception(std::runtime_error("broken"));
    EXPECT_THROW(out.get(), std::runtime_error);
}

TEST(own_combinator, race_with_default_works_for_a_move_only_value) {
    vow::manual_timer timer;
    vow::promise<std::unique_ptr<int>> p;
    auto out = my::race_with_default(p.get_future(), 10ms, std::make_unique<int>(0), timer);
    p.set_value(std::make_unique<int>(8));
    EXPECT_EQ(*out.get(), 8);
}

TEST(own_combinator, cancelling_race_with_default_cancels_the_input_and_its_timer) {
    vow::manual_timer timer;
    vow::promise<int> p;
    int hooks = 0;
    p.on_cancel([&] { ++hooks; });
    auto out = my::race_with_default(p.get_future(), 10ms, 0, timer);
    out.cancel();
    EXPECT_TRUE(out.is_cancelled());
    EXPECT_EQ(hooks, 1);
    EXPECT_EQ(timer.pending(), 0u);
}

TEST(own_combinator, race_with_default_frees_its_context_when_done) {
    auto value = std::make_shared<int>(1);
    std::weak_ptr<int> watch = value;
    {
        vow::manual_timer timer;
        vow::promise<std::shared_ptr<int>> p;
        auto out = my::race_with_default(p.get_future(), 10ms, std::move(value), timer);
        p.set_value(std::make_shared<int>(2));
        EXPECT_EQ(*out.get(), 2);
    }
    EXPECT_TRUE(watch.expired());  // the unused default went with the context
}

}  // namespace
