// Interop with Boost.Thread futures (1.81, BOOST_THREAD_VERSION 5), for code
// moving over: boost::future<T> -> vow::future<T> and back, errors included.
// Header-only; link Boost::thread yourself. Define BOOST_THREAD_VERSION 5
// before including any Boost.Thread header (this header checks it).
#pragma once

#ifndef BOOST_THREAD_VERSION
#define BOOST_THREAD_VERSION 5
#endif
#if BOOST_THREAD_VERSION < 4
#error "vow/interop/boost_thread.hpp needs BOOST_THREAD_VERSION 4 or 5 (future::then)"
#endif

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/thread/future.hpp>

#include "vow/promise.hpp"

namespace vow::interop {

// A vow future completed with `f`'s value or exception. The hand-over runs on
// the thread that completes `f` (boost::launch::sync), so no thread is started.
// Cancelling the vow future completes it at once; the Boost side is unaffected
// (boost::future has no cancellation).
template <class T>
vow::future<T> from_boost(boost::future<T>&& f) {
    auto p = std::make_shared<vow::promise<T>>();
    vow::future<T> result = p->get_future();
    // The future returned by then() is dropped: with launch::sync that never blocks.
    f.then(boost::launch::sync, [p](boost::future<T> done) {
        try {
            if constexpr (std::is_void_v<T>) {
                done.get();
                p->set_value();
            } else {
                p->set_value(done.get());
            }
        } catch (...) {
            p->set_exception(std::current_exception());
        }
    });
    return result;
}

// A boost::future completed with `f`'s value or exception (cancelled_error if
// `f` is cancelled). The hand-over runs inline on the thread completing `f`.
template <class T>
boost::future<T> to_boost(vow::future<T>&& f) {
    auto p = std::make_shared<boost::promise<T>>();
    boost::future<T> result = p->get_future();
    std::move(f).then_result(vow::inline_executor::instance(), [p](vow::result<T> r) {
        if (r.has_exception()) {
            // boost::exception_ptr wraps std::current_exception(), whatever it is
            // given (Boost 1.81), so wrap it while the exception is in flight.
            try {
                std::rethrow_exception(r.exception());
            } catch (...) {
                p->set_exception(boost::exception_ptr(std::current_exception()));
            }
        } else if constexpr (std::is_void_v<T>) {
            p->set_value();
        } else {
            p->set_value(std::move(r).value());
        }
    });
    return result;
}

}  // namespace vow::interop
