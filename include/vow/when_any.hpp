// when_any: the first input to finish, value or error, and its index; the
// others are cancelled. Built on vow/extend.hpp.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "vow/detail/fan_in.hpp"
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

// The first input to finish (value or error) and its index; cancels the others.
// An empty range fails with usage_error. The result is bound to `ex`.
template <class T>
future<when_any_result<T>> when_any(std::vector<future<T>> inputs, executor& ex = default_executor());

namespace fan_in_impl {

template <class T>
struct any_policy {
    using output = when_any_result<T>;

    template <class Fan>
    static void arrived(Fan& fan, std::size_t i, result<T>& r) noexcept {
        if (auto c = fan.done().try_claim()) {  // the first: stop the others, then publish
            fan.cancel_inputs();
            c.set_value(output{i, std::move(r)});
        }
    }

    template <class Fan>
    static void finish(Fan& fan) noexcept {  // only for no inputs: an arrival claims otherwise
        fan.done().set_exception(std::make_exception_ptr(usage_error("vow: when_any of no futures")));
    }
};

}  // namespace fan_in_impl

template <class T>
future<when_any_result<T>> when_any(std::vector<future<T>> inputs, executor& ex) {
    return fan_in_impl::range<T, fan_in_impl::any_policy<T>>::start(std::move(inputs), ex);
}

}  // namespace vow
