// What the vow::http tests share: a bound on every wait (a bug fails a test
// instead of hanging it), reading a file whole, and waiting for a future's
// value or its typed failure.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>

#include "vow/future.hpp"

namespace vow_http_test {

inline constexpr std::chrono::seconds bound{20};

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// The future's value, or its exception; a test-bound exceeded is an error.
template <class T>
T get_within(vow::future<T>& f) {
    if (!f.wait_for(bound)) throw std::runtime_error("test bound exceeded");
    return std::move(f).get();
}
template <class T>
T get_within(vow::future<T>&& f) {
    return get_within(f);
}

// The exception of type E the future fails with; anything else fails the test.
template <class E, class T>
E failure_of(vow::future<T> f) {
    if (!f.wait_for(bound)) throw std::runtime_error("test bound exceeded");
    try {
        std::move(f).get();
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "unexpected error type: " << e.what();
        throw;
    }
    ADD_FAILURE() << "expected a failure";
    throw std::runtime_error("no failure");
}

}  // namespace vow_http_test
