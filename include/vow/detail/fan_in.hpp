// The machinery shared by the fan-in combinators (when_all, when_all_settled,
// when_any, first_success), written on the public extension layer only
// (vow/extend.hpp). Each combinator supplies a policy: its output type, what
// one input's arrival decides, and what the last arrival completes.
#pragma once

#include <cstddef>
#include <exception>
#include <tuple>
#include <utility>
#include <vector>

#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/extend.hpp"
#include "vow/future.hpp"
#include "vow/result.hpp"

namespace vow::fan_in_impl {

// A range of inputs of one type. Lives in the output's allocation; the slots
// are the second (and last) allocation, whatever the number of inputs. The
// inputs in flight own one reference to the output together: the last arrival
// drops it.
//
// A Policy has:
//   using output = ...;
//   static void arrived(range& fan, std::size_t i, result<T>& r) noexcept;  // may claim the output
//   static void finish(range& fan) noexcept;  // every input arrived and nobody claimed the output
template <class T, class Policy>
class range {
public:
    using output = typename Policy::output;

    static future<output> start(std::vector<future<T>>&& inputs, executor& ex) {
        auto [done, fan, out] = ext::make_completion_with<output, range>(ex, inputs);
        done.on_cancel([&fan] { fan.cancel_inputs(); });  // the hook lives in the output: no reference
        if (fan.slots_.empty()) {
            Policy::finish(fan);
            return std::move(out);
        }
        done.detach();  // now the inputs' reference; the last arrival adopts it
        // Inputs done already arrive here, without listening, and are counted
        // down together at the end (the count cannot reach zero before that).
        std::size_t arrived_here = 0;
        for (std::size_t i = 0; i < fan.slots_.size(); ++i) {
            auto& slot = fan.slots_[i];
            if (slot.can_take_now()) {
                Policy::arrived(fan, i, slot.peek());
                ++arrived_here;
            } else {
                slot.listen();
            }
        }
        if (arrived_here != 0) fan.count_down(arrived_here);
        return std::move(out);
    }

    // For policies.
    ext::completion_view<output> done() noexcept { return ext::completion_of<output>(*this); }
    std::size_t size() const noexcept { return slots_.size(); }
    result<T>& result_of(std::size_t i) noexcept { return slots_[i].peek(); }
    // Inputs already done are left alone: a stop request would still reach
    // their producer's on_cancel hooks after it delivered (e.g. the winner).
    void cancel_inputs() noexcept {
        for (auto& s : slots_) s.cancel();
    }

    explicit range(std::vector<future<T>>& inputs) : slots_(inputs.size()), remaining_(inputs.size()) {
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            slots_[i].owner = this;
            slots_[i].index = i;
            slots_[i].hold(std::move(inputs[i]));  // usage_error if invalid
        }
    }

private:
    struct slot final : ext::input<T> {
        range* owner = nullptr;
        std::size_t index = 0;
        void on_arrival() noexcept override {
            Policy::arrived(*owner, index, this->peek());
            owner->count_down(1);
        }
    };

    void count_down(std::size_t arrivals) noexcept {
        if (!remaining_.arrive(arrivals)) return;
        auto last_reference = ext::completion<output>::adopt(done());  // dropped last
        if (!done().is_claimed()) Policy::finish(*this);
    }

    std::vector<slot> slots_;
    ext::countdown remaining_;
};

// True when every input can be taken at once: the path of when_all and
// when_all_settled that needs no combinator state, no node and no countdown.
template <class T>
bool all_takeable(const std::vector<future<T>>& inputs) {
    for (auto& f : inputs) {
        if (!f.valid()) throw usage_error("vow: invalid future passed to a combinator");
        if (!ext::can_take_now(f)) return false;
    }
    return !inputs.empty();
}

// The same for a tuple of inputs of different types (the variadic forms).
// A Policy has:
//   using output = ...;
//   static constexpr bool fail_fast;
//   template <class U> static auto take(ext::input<U>& in);  // one element of the output tuple
template <class Policy, class... Ts>
class tuple {
public:
    using output = typename Policy::output;

    static future<output> start(future<Ts>&&... inputs) {
        auto [done, fan, out] = ext::make_completion_with<output, tuple>(default_executor(), std::move(inputs)...);
        done.on_cancel([&fan] { fan.cancel_inputs(); });
        done.detach();  // the inputs' reference; the last arrival adopts it
        std::apply([](auto&... s) { (s.listen(), ...); }, fan.slots_);
        return std::move(out);
    }

    explicit tuple(future<Ts>&&... inputs) {
        hold_all(std::index_sequence_for<Ts...>{}, std::move(inputs)...);
        std::apply([this](auto&... s) { ((s.owner = this), ...); }, slots_);
    }

private:
    template <class U>
    struct slot final : ext::input<U> {
        tuple* owner = nullptr;
        void on_arrival() noexcept override { owner->arrived(*this); }
    };

    template <std::size_t... I>
    void hold_all(std::index_sequence<I...>, future<Ts>&&... inputs) {
        (std::get<I>(slots_).hold(std::move(inputs)), ...);
    }

    ext::completion_view<output> done() noexcept { return ext::completion_of<output>(*this); }

    void cancel_inputs() noexcept {
        std::apply([](auto&... s) { (s.cancel(), ...); }, slots_);
    }

    template <class U>
    void arrived(slot<U>& s) noexcept {
        auto& r = s.peek();
        if constexpr (Policy::fail_fast) {
            if (r.has_exception()) {
                if (auto c = done().try_claim()) {  // stop the others, then publish
                    cancel_inputs();
                    c.set_exception(r.exception());
                }
            }
        }
        if (!remaining_.arrive()) return;
        auto last_reference = ext::completion<output>::adopt(done());  // dropped last
        if (done().is_claimed()) return;
        try {
            done().set_value(std::apply([](auto&... in) { return output(Policy::take(in)...); }, slots_));
        } catch (...) {
            done().set_exception(std::current_exception());
        }
    }

    std::tuple<slot<Ts>...> slots_;
    ext::countdown remaining_{sizeof...(Ts)};
};

}  // namespace vow::fan_in_impl
