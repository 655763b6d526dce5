// Fan-in combinators: when_all, when_all_settled, when_any, first_success.
// Each consumes its input futures and returns one future; cancelling that
// future cancels every input still running.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <iterator>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/future.hpp"
#include "vow/result.hpp"

namespace vow {

template <class T>
struct when_any_result {
    std::size_t index;  // position of the first input to finish
    result<T> outcome;  // its value or error
};

// A void input contributes std::monostate to a when_all tuple.
template <class T>
using when_all_element = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// All values in input order; fails fast with the first error and cancels the
// rest. A range of future<void> gives future<void>. The result is bound to `ex`.
template <class T>
auto when_all(std::vector<future<T>> inputs, executor& ex = default_executor());
template <class... Ts>
future<std::tuple<when_all_element<Ts>...>> when_all(future<Ts>... inputs);

// Every input's result, in input order; never fails (unless cancelled).
template <class T>
future<std::vector<result<T>>> when_all_settled(std::vector<future<T>> inputs, executor& ex = default_executor());
template <class... Ts>
future<std::tuple<result<Ts>...>> when_all_settled(future<Ts>... inputs);

// The first input to finish (value or error) and its index; cancels the others.
// An empty range fails with usage_error.
template <class T>
future<when_any_result<T>> when_any(std::vector<future<T>> inputs, executor& ex = default_executor());

// The first value; cancels the others once one succeeds. Fails with all_failed
// (every error inside) only when every input fails, or when the range is empty.
template <class T>
future<T> first_success(std::vector<future<T>> inputs, executor& ex = default_executor());

namespace detail {

enum class fan_in_kind { all, settled, any, first_success };

template <class T, fan_in_kind Kind>
struct fan_in_output;
template <class T>
struct fan_in_output<T, fan_in_kind::all> {
    using type = std::conditional_t<std::is_void_v<T>, void, std::vector<when_all_element<T>>>;
};
template <class T>
struct fan_in_output<T, fan_in_kind::settled> {
    using type = std::vector<result<T>>;
};
template <class T>
struct fan_in_output<T, fan_in_kind::any> {
    using type = when_any_result<T>;
};
template <class T>
struct fan_in_output<T, fan_in_kind::first_success> {
    using type = T;
};

// One allocation for the output state plus one for the slots, whatever N.
// Holds each input's state (so the results are read in place, not copied)
// until the combinator is destroyed.
template <class T, fan_in_kind Kind>
class fan_in final : public state<typename fan_in_output<T, Kind>::type> {
public:
    using output = typename fan_in_output<T, Kind>::type;

    static future<output> start(std::vector<future<T>>&& inputs, executor& ex) {
        if constexpr (Kind == fan_in_kind::all || Kind == fan_in_kind::settled) {
            bool any_error = false;
            if (!inputs.empty() && all_ready(inputs, any_error)) return collect_ready(inputs, any_error, ex);
        }
        auto* self = new fan_in(inputs);
        self->bind(ex);
        auto out = then_access<output>::make(state_ptr<state<output>>(self));  // one of two references
        self->on_cancel([self] { self->cancel_inputs(); });
        if (self->slots_.empty()) {
            self->finish();
            self->release();
            return out;
        }
        // The second reference belongs to the inputs in flight; the last arrival
        // drops it. Inputs done already arrive here, without a node and counted
        // down together at the end (remaining_ cannot reach zero before that).
        std::size_t arrived_here = 0;
        for (auto& slot : self->slots_) {
            if (slot.input->is_ready()) {
                self->take_arrival(slot.index);
                ++arrived_here;
            } else {
                slot.input->attach(&slot);
            }
        }
        if (arrived_here != 0) self->count_down(arrived_here);
        return out;
    }

private:
    struct slot final : callback_node {
        fan_in* owner = nullptr;
        std::size_t index = 0;
        state_ptr<state<T>> input;
        void on_ready(state_base&) noexcept override { owner->arrived(index); }
    };

    explicit fan_in(std::vector<future<T>>& inputs) : slots_(inputs.size()), remaining_(inputs.size()) {
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            if (!inputs[i].valid()) throw usage_error("vow: invalid future passed to a combinator");
            slots_[i].owner = this;
            slots_[i].index = i;
            slots_[i].input = then_access<T>::take(inputs[i]);
        }
    }

    // Inputs already done are left alone: a stop request would still reach
    // their producer's on_cancel hooks after it delivered (e.g. the winner).
    void cancel_inputs() noexcept {
        for (auto& s : slots_)
            if (!s.input->is_ready()) s.input->request_cancel();
    }

    result<T>& input_result(std::size_t i) noexcept { return slots_[i].input->get_result(); }

    // The fast path of when_all / when_all_settled when every input is done
    // before it starts (10,000 make_ready_futures, say): no combinator state, no
    // node or countdown per input; one pass for readiness, one that moves the
    // results out and drops each input. Results and errors as the general path.
    static bool all_ready(const std::vector<future<T>>& inputs, bool& any_error) {
        for (auto& f : inputs) {
            if (!f.valid()) throw usage_error("vow: invalid future passed to a combinator");
            auto& in = then_access<T>::peek(f);
            if (!in.is_ready()) return false;
            any_error = any_error || in.get_result().has_exception();
        }
        return true;
    }

    static future<output> collect_ready(std::vector<future<T>>& inputs, bool any_error, executor& ex) {
        auto* s = state<output>::create();
        s->bind(ex);
        auto out = then_access<output>::make(state_ptr<state<output>>(s));
        std::exception_ptr first_error;
        if (Kind == fan_in_kind::all && any_error) {
            for (auto& f : inputs) {
                auto& in = then_access<T>::peek(f);
                if (in.get_result().has_exception()) {
                    in.mark_observed();
                    if (!first_error) first_error = in.get_result().exception();
                }
            }
        }
        if (first_error) {
            s->fail(std::move(first_error));
            for (auto& f : inputs) then_access<T>::take(f);  // drop each input
        } else if constexpr (Kind == fan_in_kind::all && std::is_void_v<T>) {
            for (auto& f : inputs) then_access<T>::take(f);
            s->set_value();
        } else {
            complete_with_call(*s, [&] {
                output values;
                values.reserve(inputs.size());
                for (auto& f : inputs) {
                    state_ptr<state<T>> in = then_access<T>::take(f);  // dropped right after the move
                    if constexpr (Kind == fan_in_kind::all) {
                        values.push_back(std::move(in->get_result()).value());
                    } else {
                        if (in->get_result().has_exception()) in->mark_observed();
                        values.push_back(std::move(in->get_result()));
                    }
                }
                return values;
            });
        }
        s->release();  // the producer's reference
        return out;
    }

    void arrived(std::size_t i) noexcept {
        take_arrival(i);
        count_down(1);
    }

    // What one input's arrival decides (not yet counted down).
    void take_arrival(std::size_t i) noexcept {
        auto& r = input_result(i);
        if (r.has_exception()) slots_[i].input->mark_observed();
        // A decided result first claims the output, then stops the other inputs,
        // then publishes: whoever sees the result sees the others already told.
        if constexpr (Kind == fan_in_kind::all) {
            if (r.has_exception() && this->try_claim()) {  // fail fast
                cancel_inputs();
                this->store_exception(r.exception());
                this->publish();
            }
        } else if constexpr (Kind == fan_in_kind::any) {
            if (this->try_claim()) {
                cancel_inputs();
                this->store_value(output{i, std::move(r)});
                this->publish();
            }
        } else if constexpr (Kind == fan_in_kind::first_success) {
            if (r.has_value() && this->try_claim()) {
                cancel_inputs();
                if constexpr (std::is_void_v<T>) {
                    this->store_value();
                } else {
                    this->store_value(std::move(r).value());
                }
                this->publish();
            }
        }
    }

    void count_down(std::size_t arrivals) noexcept {
        // acq_rel: the last arrival must see every other arrival's writes.
        if (remaining_.fetch_sub(arrivals, std::memory_order_acq_rel) == arrivals) {
            finish();
            this->release();
        }
    }

    // Every input has arrived (no one else touches the inputs any more).
    void finish() noexcept {
        if (this->is_claimed()) return;
        if constexpr (Kind == fan_in_kind::all) {
            if constexpr (std::is_void_v<T>) {
                this->set_value();
            } else {
                complete_with_call(static_cast<state<output>&>(*this), [&] {
                    output values;
                    values.reserve(slots_.size());
                    for (std::size_t i = 0; i < slots_.size(); ++i) values.push_back(std::move(input_result(i)).value());
                    return values;
                });
            }
        } else if constexpr (Kind == fan_in_kind::settled) {
            complete_with_call(static_cast<state<output>&>(*this), [&] {
                output results;
                results.reserve(slots_.size());
                for (std::size_t i = 0; i < slots_.size(); ++i) results.push_back(std::move(input_result(i)));
                return results;
            });
        } else if constexpr (Kind == fan_in_kind::any) {
            this->fail(std::make_exception_ptr(usage_error("vow: when_any of no futures")));
        } else {
            std::vector<std::exception_ptr> errors;
            errors.reserve(slots_.size());
            for (std::size_t i = 0; i < slots_.size(); ++i) errors.push_back(input_result(i).exception());
            this->fail(std::make_exception_ptr(all_failed(std::move(errors))));
        }
    }

    std::vector<slot> slots_;
    std::atomic<std::size_t> remaining_;
};

// The variadic forms: the same idea over a tuple of differently typed inputs.
template <bool Settled, class... Ts>
class fan_in_tuple final
    : public state<std::conditional_t<Settled, std::tuple<result<Ts>...>, std::tuple<when_all_element<Ts>...>>> {
public:
    using output = std::conditional_t<Settled, std::tuple<result<Ts>...>, std::tuple<when_all_element<Ts>...>>;
    static constexpr std::size_t count = sizeof...(Ts);

    static future<output> start(future<Ts>&&... inputs) {
        auto* self = new fan_in_tuple(std::move(inputs)...);
        self->bind(default_executor());
        auto out = then_access<output>::make(state_ptr<state<output>>(self));
        self->on_cancel([self] { self->cancel_inputs(); });
        self->attach_all(std::index_sequence_for<Ts...>{});
        return out;
    }

private:
    struct slot final : callback_node {
        fan_in_tuple* owner = nullptr;
        void on_ready(state_base& s) noexcept override { owner->arrived(s); }
    };

    explicit fan_in_tuple(future<Ts>&&... inputs) : inputs_(then_access<Ts>::take(inputs)...) {
        std::apply([](auto&... in) {
            if (!(static_cast<bool>(in) && ...)) throw usage_error("vow: invalid future passed to a combinator");
        }, inputs_);
        for (auto& s : slots_) s.owner = this;
    }

    template <std::size_t... I>
    void attach_all(std::index_sequence<I...>) {
        (std::get<I>(inputs_)->attach(&slots_[I]), ...);
    }

    void cancel_inputs() noexcept {  // skips inputs already done, as fan_in does
        std::apply([](auto&... in) { ((in->is_ready() ? void() : in->request_cancel()), ...); }, inputs_);
    }

    void arrived(state_base& s) noexcept {
        if (std::exception_ptr e = s.stored_exception()) {
            s.mark_observed();
            if constexpr (!Settled) {
                if (this->try_claim()) {  // fail fast: stop the others, then publish
                    cancel_inputs();
                    this->store_exception(e);
                    this->publish();
                }
            }
        }
        if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            if (!this->is_claimed()) {
                complete_with_call(static_cast<state<output>&>(*this),
                                   [&] { return collect(std::index_sequence_for<Ts...>{}); });
            }
            this->release();
        }
    }

    template <class T>
    static auto take_one(state<T>& in) {
        if constexpr (Settled) {
            return std::move(in.get_result());
        } else if constexpr (std::is_void_v<T>) {
            return std::monostate{};
        } else {
            return std::move(in.get_result()).value();
        }
    }

    template <std::size_t... I>
    output collect(std::index_sequence<I...>) {
        return output(take_one(*std::get<I>(inputs_))...);
    }

    std::tuple<state_ptr<state<Ts>>...> inputs_;
    slot slots_[count];
    std::atomic<std::size_t> remaining_{count};
};

}  // namespace detail

template <class T>
auto when_all(std::vector<future<T>> inputs, executor& ex) {
    return detail::fan_in<T, detail::fan_in_kind::all>::start(std::move(inputs), ex);
}

template <class... Ts>
future<std::tuple<when_all_element<Ts>...>> when_all(future<Ts>... inputs) {
    static_assert(sizeof...(Ts) > 0, "when_all needs at least one future");
    return detail::fan_in_tuple<false, Ts...>::start(std::move(inputs)...);
}

template <class T>
future<std::vector<result<T>>> when_all_settled(std::vector<future<T>> inputs, executor& ex) {
    return detail::fan_in<T, detail::fan_in_kind::settled>::start(std::move(inputs), ex);
}

template <class... Ts>
future<std::tuple<result<Ts>...>> when_all_settled(future<Ts>... inputs) {
    static_assert(sizeof...(Ts) > 0, "when_all_settled needs at least one future");
    return detail::fan_in_tuple<true, Ts...>::start(std::move(inputs)...);
}

template <class T>
future<when_any_result<T>> when_any(std::vector<future<T>> inputs, executor& ex) {
    return detail::fan_in<T, detail::fan_in_kind::any>::start(std::move(inputs), ex);
}

template <class T>
future<T> first_success(std::vector<future<T>> inputs, executor& ex) {
    return detail::fan_in<T, detail::fan_in_kind::first_success>::start(std::move(inputs), ex);
}

}  // namespace vow
