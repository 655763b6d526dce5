#include "vow/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace {

using vow::result;

struct my_cancellation : vow::cancelled_error {};

template <class E, class... Args>
std::exception_ptr make_error(Args&&... args) {
    return std::make_exception_ptr(E(std::forward<Args>(args)...));
}

TEST(result, a_result_built_from_a_value_holds_that_value) {
    result<int> r = 42;
    EXPECT_TRUE(r.has_value());
    EXPECT_FALSE(r.has_exception());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_FALSE(r.is_cancelled());
    EXPECT_EQ(r.value(), 42);
    EXPECT_EQ(r.exception(), nullptr);
}

TEST(result, a_result_built_in_place_constructs_its_value_from_the_arguments) {
    result<std::string> r(std::in_place, 3, 'x');
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r.value(), "xxx");
}

TEST(result, a_result_built_from_an_exception_rethrows_it_from_value) {
    result<int> r = make_error<std::runtime_error>("boom");
    EXPECT_FALSE(r.has_value());
    EXPECT_TRUE(r.has_exception());
    EXPECT_FALSE(static_cast<bool>(r));
    EXPECT_FALSE(r.is_cancelled());
    ASSERT_NE(r.exception(), nullptr);
    try {
        (void)r.value();
        FAIL() << "value() did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "boom");
    }
}

TEST(result, value_rethrows_through_every_value_category) {
    const result<int> cr = make_error<vow::timeout_error>();
    EXPECT_THROW((void)cr.value(), vow::timeout_error);
    result<int> r = make_error<vow::timeout_error>();
    EXPECT_THROW((void)std::move(r).value(), vow::timeout_error);
}

TEST(result, is_cancelled_is_true_only_for_a_cancelled_error_or_a_type_derived_from_it) {
    EXPECT_TRUE(result<int>(make_error<vow::cancelled_error>()).is_cancelled());
    EXPECT_TRUE(result<int>(make_error<my_cancellation>()).is_cancelled());
    EXPECT_FALSE(result<int>(make_error<vow::timeout_error>()).is_cancelled());
    EXPECT_FALSE(result<int>(make_error<vow::broken_promise>()).is_cancelled());
    EXPECT_FALSE(result<int>(make_error<std::logic_error>("x")).is_cancelled());
    EXPECT_FALSE(result<int>(std::make_exception_ptr(7)).is_cancelled());
    EXPECT_FALSE(result<int>(0).is_cancelled());
}

TEST(result, a_move_only_value_can_be_moved_out) {
    result<std::unique_ptr<int>> r(std::make_unique<int>(5));
    std::unique_ptr<int> p = std::move(r).value();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 5);
    static_assert(!std::is_copy_constructible_v<result<std::unique_ptr<int>>>);
    static_assert(std::is_move_constructible_v<result<std::unique_ptr<int>>>);
}

TEST(result, the_value_can_be_modified_through_a_mutable_result) {
    result<std::string> r(std::string("a"));
    r.value() += "b";
    EXPECT_EQ(r.value(), "ab");
}

TEST(result, a_copied_result_keeps_the_same_exception) {
    result<int> r = make_error<vow::cancelled_error>();
    result<int> copy = r;
    EXPECT_TRUE(copy.is_cancelled());
    EXPECT_EQ(copy.exception(), r.exception());
}

TEST(result, a_void_result_is_a_value_by_default) {
    result<void> r;
    EXPECT_TRUE(r.has_value());
    EXPECT_FALSE(r.has_exception());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_FALSE(r.is_cancelled());
    EXPECT_NO_THROW(r.value());
    EXPECT_EQ(r.exception(), nullptr);
    result<void> in_place(std::in_place);
    EXPECT_TRUE(in_place.has_value());
}

TEST(result, a_void_result_with_an_exception_rethrows_it) {
    result<void> r = make_error<vow::executor_shut_down>();
    EXPECT_FALSE(r.has_value());
    EXPECT_TRUE(r.has_exception());
    EXPECT_FALSE(static_cast<bool>(r));
    EXPECT_FALSE(r.is_cancelled());
    EXPECT_THROW(r.value(), vow::executor_shut_down);
}

TEST(result, a_void_result_tells_cancellation_apart) {
    EXPECT_TRUE(result<void>(make_error<vow::cancelled_error>("stop")).is_cancelled());
    EXPECT_TRUE(result<void>(make_error<my_cancellation>()).is_cancelled());
    EXPECT_FALSE(result<void>(make_error<vow::timeout_error>()).is_cancelled());
}

TEST(result, value_type_names_the_held_type) {
    static_assert(std::is_same_v<result<int>::value_type, int>);
    static_assert(std::is_same_v<result<void>::value_type, void>);
    SUCCEED();
}

}  // namespace
