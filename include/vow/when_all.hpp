// when_all: every input's value, in input order; fails fast with the first
// error and cancels the inputs still running. Built on vow/extend.hpp.
#pragma once

#include <cstddef>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "vow/detail/fan_in.hpp"
#include "vow/executor.hpp"
#include "vow/extend.hpp"
#include "vow/future.hpp"
#include "vow/result.hpp"

namespace vow {

// A void input contributes std::monostate to a when_all tuple.
template <class T>
using when_all_element = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// All values in input order; fails fast with the first error and cancels the
// rest. A range of future<void> gives future<void>. The result is bound to `ex`
// (the variadic form: to default_executor(); use via() to rebind).
template <class T>
auto when_all(std::vector<future<T>> inputs, executor& ex = default_executor());
template <class... Ts>
future<std::tuple<when_all_element<Ts>...>> when_all(future<Ts>... inputs);

namespace fan_in_impl {

template <class T>
struct all_policy {
    using output = std::conditional_t<std::is_void_v<T>, void, std::vector<when_all_element<T>>>;

    template <class Fan>
    static void arrived(Fan& fan, std::size_t, result<T>& r) noexcept {
        if (!r.has_exception()) return;
        if (auto c = fan.done().try_claim()) {  // fail fast: stop the others, then publish
            fan.cancel_inputs();
            c.set_exception(r.exception());
        }
    }

    template <class Fan>
    static void finish(Fan& fan) noexcept {
        if constexpr (std::is_void_v<T>) {
            fan.done().set_value();
        } else {
            try {
                output values;
                values.reserve(fan.size());
                for (std::size_t i = 0; i < fan.size(); ++i) values.push_back(std::move(fan.result_of(i)).value());
                fan.done().set_value(std::move(values));
            } catch (...) {
                fan.done().set_exception(std::current_exception());
            }
        }
    }

    // Every input done before the start (10,000 make_ready_futures, say): no
    // combinator state, no node or countdown per input; one pass moves the
    // values out and drops each input. The first error in input order wins,
    // as on the general path.
    static future<output> all_done(std::vector<future<T>>& inputs, executor& ex) {
        auto [done, out] = ext::make_completion<output>(ex);
        try {
            std::exception_ptr first_error;
            if constexpr (std::is_void_v<T>) {
                for (auto& f : inputs) {
                    ext::take_now(std::move(f), [&](result<void>& r) {
                        if (!first_error && r.has_exception()) first_error = r.exception();
                    });
                }
                if (first_error) done.set_exception(std::move(first_error));
                else done.set_value();
            } else {
                output values;
                values.reserve(inputs.size());
                for (auto& f : inputs) {
                    ext::take_now(std::move(f), [&](result<T>& r) {  // the input is dropped right after
                        if (first_error) return;
                        if (r.has_exception()) first_error = r.exception();
                        else values.push_back(std::move(r).value());
                    });
                }
                if (first_error) done.set_exception(std::move(first_error));
                else done.set_value(std::move(values));
            }
        } catch (...) {
            done.set_exception(std::current_exception());
        }
        return std::move(out);
    }
};

template <class... Ts>
struct all_tuple_policy {
    using output = std::tuple<when_all_element<Ts>...>;
    static constexpr bool fail_fast = true;
    template <class U>
    static when_all_element<U> take(ext::input<U>& in) {
        if constexpr (std::is_void_v<U>) {
            return std::monostate{};
        } else {
            return std::move(in.peek()).value();
        }
    }
};

}  // namespace fan_in_impl

template <class T>
auto when_all(std::vector<future<T>> inputs, executor& ex) {
    using policy = fan_in_impl::all_policy<T>;
    if (fan_in_impl::all_takeable(inputs)) return policy::all_done(inputs, ex);
    return fan_in_impl::range<T, policy>::start(std::move(inputs), ex);
}

template <class... Ts>
future<std::tuple<when_all_element<Ts>...>> when_all(future<Ts>... inputs) {
    static_assert(sizeof...(Ts) > 0, "when_all needs at least one future");
    return fan_in_impl::tuple<fan_in_impl::all_tuple_policy<Ts...>, Ts...>::start(std::move(inputs)...);
}

}  // namespace vow
