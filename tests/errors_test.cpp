#include "vow/errors.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace {

template <class E>
constexpr bool is_vow_error = std::is_base_of_v<vow::error, E> && std::is_base_of_v<std::runtime_error, E>;

static_assert(std::is_base_of_v<std::runtime_error, vow::error>);
static_assert(is_vow_error<vow::broken_promise>);
static_assert(is_vow_error<vow::cancelled_error>);
static_assert(is_vow_error<vow::timeout_error>);
static_assert(is_vow_error<vow::executor_shut_down>);
static_assert(is_vow_error<vow::usage_error>);

// Throws E and reports whether `catch (const vow::error&)` caught it.
template <class E>
std::string caught_as_vow_error(E e) {
    try {
        throw e;
    } catch (const vow::error& caught) {
        return caught.what();
    } catch (...) {
        return "<not a vow::error>";
    }
}

TEST(errors, one_catch_of_vow_error_handles_every_library_error) {
    EXPECT_NE(caught_as_vow_error(vow::broken_promise()), "<not a vow::error>");
    EXPECT_NE(caught_as_vow_error(vow::cancelled_error()), "<not a vow::error>");
    EXPECT_NE(caught_as_vow_error(vow::timeout_error()), "<not a vow::error>");
    EXPECT_NE(caught_as_vow_error(vow::executor_shut_down()), "<not a vow::error>");
    EXPECT_NE(caught_as_vow_error(vow::usage_error("misuse")), "<not a vow::error>");
}

TEST(errors, each_error_has_its_own_non_empty_message) {
    std::set<std::string> messages{
        vow::broken_promise().what(), vow::cancelled_error().what(), vow::timeout_error().what(),
        vow::executor_shut_down().what()};
    EXPECT_EQ(messages.size(), 4u);
    for (const std::string& m : messages) EXPECT_FALSE(m.empty());
}

TEST(errors, cancelled_and_timeout_errors_carry_a_custom_message) {
    EXPECT_STREQ(vow::cancelled_error("stopped by user").what(), "stopped by user");
    EXPECT_STREQ(vow::timeout_error("connect timeout").what(), "connect timeout");
    EXPECT_STREQ(vow::usage_error("future retrieved twice").what(), "future retrieved twice");
}

TEST(errors, a_specific_error_is_caught_by_its_own_type_before_the_base) {
    try {
        throw vow::timeout_error("idle");
    } catch (const vow::cancelled_error&) {
        FAIL() << "a timeout is not a cancellation";
    } catch (const vow::timeout_error& e) {
        EXPECT_STREQ(e.what(), "idle");
    }
}

TEST(errors, vow_errors_are_caught_as_std_exception) {
    try {
        throw vow::executor_shut_down();
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("shut down"), std::string::npos);
    }
}

}  // namespace
