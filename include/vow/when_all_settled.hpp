// when_all_settled: every input's result, value or error, in input order;
// never fails (unless cancelled). Built on vow/extend.hpp.
#pragma once

#include <cstddef>
#include <exception>
#include <tuple>
#include <utility>
#include <vector>

#include "vow/detail/fan_in.hpp"
#include "vow/executor.hpp"
#include "vow/extend.hpp"
#include "vow/future.hpp"
#include "vow/result.hpp"

namespace vow {

// Every input's result, in input order; never fails (unless cancelled). The
// result is bound to `ex` (the variadic form: to default_executor()).
template <class T>
future<std::vector<result<T>>> when_all_settled(std::vector<future<T>> inputs, executor& ex = default_executor());
template <class... Ts>
future<std::tuple<result<Ts>...>> when_all_settled(future<Ts>... inputs);

namespace fan_in_impl {

template <class T>
struct settled_policy {
    using output = std::vector<result<T>>;

    template <class Fan>
    static void arrived(Fan&, std::size_t, result<T>&) noexcept {}  // every outcome is kept

    template <class Fan>
    static void finish(Fan& fan) noexcept {
        try {
            output results;
            results.reserve(fan.size());
            for (std::size_t i = 0; i < fan.size(); ++i) results.push_back(std::move(fan.result_of(i)));
            fan.done().set_value(std::move(results));
        } catch (...) {
            fan.done().set_exception(std::current_exception());
        }
    }

    // Every input done before the start: one pass, no combinator state.
    static future<output> all_done(std::vector<future<T>>& inputs, executor& ex) {
        auto [done, out] = ext::make_completion<output>(ex);
        try {
            output results;
            results.reserve(inputs.size());
            for (auto& f : inputs) ext::take_now(std::move(f), [&](result<T>& r) { results.push_back(std::move(r)); });
            done.set_value(std::move(results));
        } catch (...) {
            done.set_exception(std::current_exception());
        }
        return std::move(out);
    }
};

template <class... Ts>
struct settled_tuple_policy {
    using output = std::tuple<result<Ts>...>;
    static constexpr bool fail_fast = false;
    template <class U>
    static result<U> take(ext::input<U>& in) {
        return in.take();
    }
};

}  // namespace fan_in_impl

template <class T>
future<std::vector<result<T>>> when_all_settled(std::vector<future<T>> inputs, executor& ex) {
    using policy = fan_in_impl::settled_policy<T>;
    if (fan_in_impl::all_takeable(inputs)) return policy::all_done(inputs, ex);
    return fan_in_impl::range<T, policy>::start(std::move(inputs), ex);
}

template <class... Ts>
future<std::tuple<result<Ts>...>> when_all_settled(future<Ts>... inputs) {
    static_assert(sizeof...(Ts) > 0, "when_all_settled needs at least one future");
    return fan_in_impl::tuple<fan_in_impl::settled_tuple_policy<Ts...>, Ts...>::start(std::move(inputs)...);
}

}  // namespace vow
