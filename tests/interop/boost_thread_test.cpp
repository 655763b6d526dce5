#define BOOST_THREAD_VERSION 5
#include "vow/interop/boost_thread.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "vow/thread_pool.hpp"

namespace {

TEST(boost_thread_interop, a_boost_value_arrives_in_the_vow_future) {
    boost::promise<std::string> bp;
    vow::future<std::string> f = vow::interop::from_boost(bp.get_future());
    EXPECT_FALSE(f.is_ready());
    bp.set_value("hello");
    EXPECT_EQ(f.get(), "hello");
}

TEST(boost_thread_interop, a_boost_exception_keeps_its_type_in_vow) {
    boost::promise<int> bp;
    vow::future<int> f = vow::interop::from_boost(bp.get_future());
    bp.set_exception(vow::timeout_error("connect timed out"));
    EXPECT_THROW(f.get(), vow::timeout_error);
}

TEST(boost_thread_interop, a_ready_boost_future_converts_at_once) {
    vow::future<void> f = vow::interop::from_boost(boost::make_ready_future());
    EXPECT_TRUE(f.is_ready());
    EXPECT_NO_THROW(f.get());
}

TEST(boost_thread_interop, a_vow_value_arrives_in_the_boost_future) {
    vow::promise<std::unique_ptr<int>> p;
    boost::future<std::unique_ptr<int>> bf = vow::interop::to_boost(p.get_future());
    EXPECT_FALSE(bf.is_ready());
    p.set_value(std::make_unique<int>(7));
    EXPECT_EQ(*bf.get(), 7);
}

TEST(boost_thread_interop, a_vow_exception_keeps_its_type_in_boost) {
    vow::promise<int> p;
    boost::future<int> bf = vow::interop::to_boost(p.get_future());
    p.set_exception(std::invalid_argument("bad"));
    EXPECT_THROW(bf.get(), std::invalid_argument);
}

TEST(boost_thread_interop, a_cancelled_vow_future_reaches_boost_as_cancelled_error) {
    vow::promise<void> p;
    vow::future<void> f = p.get_future();
    f.cancel();
    boost::future<void> bf = vow::interop::to_boost(std::move(f));
    EXPECT_THROW(bf.get(), vow::cancelled_error);
    EXPECT_TRUE(p.is_cancelled());
}

TEST(boost_thread_interop, a_round_trip_through_a_pool_keeps_value_and_errors) {
    vow::thread_pool pool(2);
    auto ok = vow::interop::to_boost(vow::submit(pool, [] { return 41; }).then([](int v) { return v + 1; }));
    auto back = vow::interop::from_boost(std::move(ok));
    EXPECT_EQ(back.get(), 42);

    auto bad = vow::interop::to_boost(vow::submit(pool, []() -> int { throw std::range_error("r"); }));
    EXPECT_THROW(vow::interop::from_boost(std::move(bad)).get(), std::range_error);
}

}  // namespace
