// Bounded concurrency: run an asynchronous function over a range with at most
// `limit` futures in flight; results come back in input order, every item's
// error kept.
#pragma once

#include <cstddef>
#include <iterator>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/extend.hpp"
#include "vow/future.hpp"
#include "vow/result.hpp"

namespace vow {

// Calls f(item) (returning future<R>) for each item, starting the next as soon
// as one of the at most `limit` in flight finishes. Calls run on `ex`. The
// result holds one result<R> per item, in input order, and never fails on an
// item's error. Cancelling it cancels the calls in flight and starts no more.
// On a multi-threaded executor, f may be called from several threads at once.
template <class Range, class F>
auto bounded_map(Range&& items, std::size_t limit, F f, executor& ex = default_executor());

namespace bounding {

// Lives in the output's allocation (ext::make_completion_with). References to
// the output: each queued call task holds one, each call in flight holds one;
// the cancel hook holds none.
template <class Item, class R, class F>
class context {
public:
    using output = std::vector<result<R>>;

    context(std::vector<Item> items, std::size_t limit, F f, executor& ex)
        : items_(std::move(items)), limit_(limit), fn_(std::move(f)), ex_(ex), slots_(items_.size()) {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            slots_[i].owner = this;
            slots_[i].index = i;
        }
    }

    void start(const ext::completion<output>& done) {
        done.on_cancel([this] { cancel_in_flight(); });  // `this` lives in the output
        std::size_t first = 0;
        {
            std::lock_guard lock(mutex_);
            first = std::min(limit_, items_.size());
            next_ = first;
        }
        if (items_.empty()) finish();
        for (std::size_t i = 0; i < first; ++i) launch(i, done);
    }

private:
    struct slot final : ext::input<R> {
        context* owner = nullptr;
        std::size_t index = 0;
        ext::completion<output> keep;      // the output, while the call is in flight
        ext::cancel_handle call;           // guarded by the owner's mutex while in flight
        std::optional<result<R>> outcome;  // written once, by the call's completion
        void on_arrival() noexcept override { owner->arrived(index); }
    };

    ext::completion_view<output> done() noexcept { return ext::completion_of<output>(*this); }

    // Item i's call on the executor. Dropped unrun (executor shut down), it
    // records executor_shut_down for item i and the items not started yet.
    void launch(std::size_t i, const ext::completion<output>& done) {
        auto run = [this, i, done] { run_call(i, done); };
        auto dropped = [this, i, done] { this->dropped(i); };
        try {
            ex_.execute(ext::owned_task<decltype(run), decltype(dropped)>(std::move(run), std::move(dropped)));
        } catch (const executor_shut_down&) {
            // The task's drop action recorded executor_shut_down for item i and the rest.
        }
    }

    void run_call(std::size_t i, const ext::completion<output>& done) {
        if (done.is_claimed()) return settle(i, result<R>(std::make_exception_ptr(cancelled_error())), done);
        future<R> f;
        try {
            f = fn_(items_[i]);
            if (!f.valid()) throw broken_promise();
        } catch (...) {
            return settle(i, result<R>(std::current_exception()), done);
        }
        slot& s = slots_[i];
        s.hold(std::move(f));
        s.keep = done;
        {
            std::lock_guard lock(mutex_);
            s.call = s.cancel_handle();
        }
        if (done.is_claimed()) s.cancel();  // a cancel raced with the start
        s.listen();
    }

    void arrived(std::size_t i) noexcept {
        slot& s = slots_[i];
        ext::completion<output> keep = std::move(s.keep);  // dropped last
        {
            std::lock_guard lock(mutex_);
            s.call = {};
        }
        result<R> r = s.take();
        s.reset();
        settle(i, std::move(r), keep);
    }

    // Records item i's outcome and starts the next item, or finishes.
    void settle(std::size_t i, result<R>&& r, const ext::completion<output>& done) noexcept {
        slots_[i].outcome.emplace(std::move(r));
        std::optional<std::size_t> next;
        bool all_done = false;
        {
            std::lock_guard lock(mutex_);
            ++done_;
            if (next_ < items_.size() && !done.is_claimed()) next = next_++;
            all_done = done_ == items_.size();
        }
        if (next) launch(*next, done);
        if (all_done) finish();
    }

    // Item i's call was refused or dropped unrun, so the executor is shut down
    // and refuses every later call: the items not started yet fail with
    // executor_shut_down here, in one loop. (Launching them one by one would
    // recurse through the refusing executor once per item and overflow the
    // stack on a long range.)
    void dropped(std::size_t i) noexcept {
        auto shut_down = std::make_exception_ptr(executor_shut_down());
        std::size_t first = 0;
        std::size_t last = 0;
        {
            std::lock_guard lock(mutex_);
            first = last = next_;
            if (!done().is_claimed()) last = next_ = items_.size();
        }
        slots_[i].outcome.emplace(shut_down);
        for (std::size_t j = first; j < last; ++j) slots_[j].outcome.emplace(shut_down);
        bool all_done = false;
        {
            std::lock_guard lock(mutex_);
            done_ += 1 + (last - first);
            all_done = done_ == items_.size();
        }
        if (all_done) finish();
    }

    void finish() noexcept {
        try {
            output results;
            results.reserve(slots_.size());
            for (auto& s : slots_) results.push_back(std::move(*s.outcome));
            done().set_value(std::move(results));
        } catch (...) {
            done().set_exception(std::current_exception());
        }
    }

    void cancel_in_flight() noexcept {
        std::vector<ext::cancel_handle> in_flight;
        {
            std::lock_guard lock(mutex_);
            for (auto& s : slots_)
                if (s.call) in_flight.push_back(s.call);
        }
        for (auto& c : in_flight) c.cancel();
    }

    std::vector<Item> items_;
    const std::size_t limit_;
    F fn_;
    executor& ex_;
    std::vector<slot> slots_;

    std::mutex mutex_;
    std::size_t next_ = 0;  // guarded by mutex_: the next item to start
    std::size_t done_ = 0;  // guarded by mutex_
};

}  // namespace bounding

template <class Range, class F>
auto bounded_map(Range&& items, std::size_t limit, F f, executor& ex) {
    using Item = std::remove_cvref_t<decltype(*std::begin(items))>;
    using Fut = std::invoke_result_t<F&, Item&>;
    static_assert(ext::is_future_v<Fut>, "f(item) must return a vow::future");
    using R = typename Fut::value_type;
    if (limit == 0) throw usage_error("vow: bounded_map needs a limit of at least 1");
    std::vector<Item> copied(std::begin(items), std::end(items));
    auto [done, context, output] = ext::make_completion_with<std::vector<result<R>>, bounding::context<Item, R, F>>(
        ex, std::move(copied), limit, std::move(f), ex);
    context.start(done);
    return std::move(output);
}

}  // namespace vow
