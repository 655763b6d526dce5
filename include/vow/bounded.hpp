// Bounded concurrency: run an asynchronous function over a range with at most
// `limit` futures in flight; results come back in input order, every item's
// error kept.
#pragma once

#include <atomic>
#include <cstddef>
#include <iterator>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "vow/errors.hpp"
#include "vow/executor.hpp"
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

namespace detail {

template <class Item, class R, class F>
class bounded_op final : public state<std::vector<result<R>>> {
public:
    using output = std::vector<result<R>>;

    bounded_op(std::vector<Item> items, std::size_t limit, F f, executor& ex)
        : items_(std::move(items)), limit_(limit), fn_(std::move(f)), ex_(ex), slots_(items_.size()) {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            slots_[i].owner = this;
            slots_[i].index = i;
        }
    }

    void start() {
        this->on_cancel([this] { cancel_in_flight(); });
        std::size_t first = 0;
        {
            std::lock_guard lock(mutex_);
            first = std::min(limit_, items_.size());
            next_ = first;
        }
        if (items_.empty()) finish();
        for (std::size_t i = 0; i < first; ++i) launch(i);
    }

private:
    struct slot final : callback_node {
        bounded_op* owner = nullptr;
        std::size_t index = 0;
        state_ptr<state<R>> call;          // guarded by the owner's mutex while in flight
        std::optional<result<R>> outcome;  // written once, by the call's completion
        void on_ready(state_base&) noexcept override { owner->arrived(index); }
    };

    class call_task {
    public:
        call_task(bounded_op* op, std::size_t i) noexcept : op_(op), index_(i) {}
        call_task(call_task&& o) noexcept : op_(std::exchange(o.op_, nullptr)), index_(o.index_) {}
        call_task& operator=(call_task&&) = delete;
        ~call_task() {
            if (!op_) return;
            op_->dropped(index_);
            op_->release();
        }
        void operator()() {
            bounded_op* op = std::exchange(op_, nullptr);
            op->run_call(index_);
            op->release();
        }

    private:
        bounded_op* op_;
        std::size_t index_;
    };

    void launch(std::size_t i) {
        this->add_ref();
        try {
            ex_.execute(call_task(this, i));
        } catch (const executor_shut_down&) {
            // call_task's destructor recorded executor_shut_down for item i and the rest.
        }
    }

    void run_call(std::size_t i) {
        if (this->is_claimed()) return settle(i, result<R>(std::make_exception_ptr(cancelled_error())));
        future<R> f;
        try {
            f = fn_(items_[i]);
            if (!f.valid()) throw broken_promise();
        } catch (...) {
            return settle(i, result<R>(std::current_exception()));
        }
        state_ptr<state<R>> call = then_access<R>::take(f);
        {
            std::lock_guard lock(mutex_);
            slots_[i].call = call;
        }
        if (this->is_claimed()) call->request_cancel();  // a cancel raced with the start
        this->add_ref();  // held by the call's list until arrived()
        call->attach(&slots_[i]);
    }

    void arrived(std::size_t i) noexcept {
        state_ptr<state<R>> call;
        {
            std::lock_guard lock(mutex_);
            call = std::move(slots_[i].call);
            slots_[i].call = {};
        }
        auto& r = call->get_result();
        if (r.has_exception()) call->mark_observed();
        settle(i, std::move(r));
        this->release();
    }

    // Records item i's outcome and starts the next item, or finishes.
    void settle(std::size_t i, result<R>&& r) noexcept {
        slots_[i].outcome.emplace(std::move(r));
        std::optional<std::size_t> next;
        bool all_done = false;
        {
            std::lock_guard lock(mutex_);
            ++done_;
            if (next_ < items_.size() && !this->is_claimed()) next = next_++;
            all_done = done_ == items_.size();
        }
        if (next) launch(*next);
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
            if (!this->is_claimed()) last = next_ = items_.size();
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
        complete_with_call(static_cast<state<output>&>(*this), [&] {
            output results;
            results.reserve(slots_.size());
            for (auto& s : slots_) results.push_back(std::move(*s.outcome));
            return results;
        });
    }

    void cancel_in_flight() noexcept {
        std::vector<state_ptr<state<R>>> in_flight;
        {
            std::lock_guard lock(mutex_);
            for (auto& s : slots_)
                if (s.call) in_flight.push_back(s.call);
        }
        for (auto& c : in_flight) c->request_cancel();
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

}  // namespace detail

template <class Range, class F>
auto bounded_map(Range&& items, std::size_t limit, F f, executor& ex) {
    using Item = std::remove_cvref_t<decltype(*std::begin(items))>;
    using Fut = std::invoke_result_t<F&, Item&>;
    static_assert(detail::is_future<Fut>::value, "f(item) must return a vow::future");
    using R = typename Fut::value_type;
    if (limit == 0) throw usage_error("vow: bounded_map needs a limit of at least 1");
    std::vector<Item> copied(std::begin(items), std::end(items));
    auto* op = new detail::bounded_op<Item, R, F>(std::move(copied), limit, std::move(f), ex);
    op->bind(ex);
    auto out = detail::then_access<std::vector<result<R>>>::make(
        detail::state_ptr<detail::state<std::vector<result<R>>>>(op));
    op->start();
    op->release();  // the start's reference; tasks hold their own
    return out;
}

}  // namespace vow
