// first_success: the first value of several alternatives; fails only when
// every one fails (hedged requests over futures already started). Built on
// vow/extend.hpp.
#pragma once

#include <cstddef>
#include <exception>
#include <type_traits>
#include <utility>
#include <vector>

#include "vow/detail/fan_in.hpp"
#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/future.hpp"
#include "vow/result.hpp"

namespace vow {

// The first value; cancels the others once one succeeds. Fails with all_failed
// (every error inside, in input order) only when every input fails, or when
// the range is empty. The result is bound to `ex`.
template <class T>
future<T> first_success(std::vector<future<T>> inputs, executor& ex = default_executor());

namespace fan_in_impl {

template <class T>
struct first_success_policy {
    using output = T;

    template <class Fan>
    static void arrived(Fan& fan, std::size_t, result<T>& r) noexcept {
        if (!r.has_value()) return;
        if (auto c = fan.done().try_claim()) {  // the first value: stop the others, then publish
            fan.cancel_inputs();
            if constexpr (std::is_void_v<T>) {
                c.set_value();
            } else {
                c.set_value(std::move(r).value());
            }
        }
    }

    template <class Fan>
    static void finish(Fan& fan) noexcept {
        try {
            std::vector<std::exception_ptr> errors;
            errors.reserve(fan.size());
            for (std::size_t i = 0; i < fan.size(); ++i) errors.push_back(fan.result_of(i).exception());
            fan.done().set_exception(std::make_exception_ptr(all_failed(std::move(errors))));
        } catch (...) {
            fan.done().set_exception(std::current_exception());
        }
    }
};

}  // namespace fan_in_impl

template <class T>
future<T> first_success(std::vector<future<T>> inputs, executor& ex) {
    return fan_in_impl::range<T, fan_in_impl::first_success_policy<T>>::start(std::move(inputs), ex);
}

}  // namespace vow
