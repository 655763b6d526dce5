#include "vow/executor.hpp"

#include <gtest/gtest.h>

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "counted.hpp"
#include "vow/thread_pool.hpp"
#include "vow/timer.hpp"

namespace {

using vow_test::counters;
using vow_test::make_counted;

static_assert(std::is_abstract_v<vow::executor>);
static_assert(!std::is_copy_constructible_v<vow::executor>);
static_assert(!std::is_copy_assignable_v<vow::executor>);
static_assert(std::is_same_v<vow::task, vow::unique_function<void()>>);

// How many threads of this process have a name starting with `prefix`.
int threads_named(const std::string& prefix) {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(entry.path() / "comm");
        std::string name;
        std::getline(comm, name);
        if (name.rfind(prefix, 0) == 0) ++n;
    }
    return n;
}

std::string this_thread_name() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
}

// An executor that records what the base class gives it for free.
class recording_executor final : public vow::executor {
public:
    void execute(vow::task t) override { t(); }
};

TEST(executor, running_in_this_thread_defaults_to_false) {
    recording_executor ex;
    bool inside = true;
    ex.execute([&] { inside = ex.running_in_this_thread(); });
    EXPECT_FALSE(inside);
}

// The two tests below also check laziness, so they must be the first to touch
// the defaults in this process (ctest runs each test in a process of its own;
// no other test in this binary touches them).
TEST(executor, the_default_executor_is_a_pool_created_on_first_use) {
    static bool first_use_in_this_process = true;  // --gtest_repeat runs this again
    if (std::exchange(first_use_in_this_process, false)) {
        EXPECT_EQ(threads_named("vow-default"), 0) << "started before anyone asked for it";
    }
    vow::executor& ex = vow::default_executor();
    EXPECT_EQ(&ex, &vow::default_executor());
    auto* pool = dynamic_cast<vow::thread_pool*>(&ex);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->size(), std::max(1u, std::thread::hardware_concurrency()));

    counters c;
    std::promise<bool> on_pool;
    std::string name;
    ex.execute(make_counted(c, [&] {
        name = this_thread_name();
        on_pool.set_value(ex.running_in_this_thread());
    }));
    EXPECT_TRUE(on_pool.get_future().get());
    EXPECT_EQ(name.rfind("vow-default-", 0), 0u) << name;
    c.wait_destroyed(1);
    EXPECT_TRUE(c.ran_once());
}

TEST(executor, the_default_timer_is_a_real_timer_created_on_first_use) {
    static bool first_use_in_this_process = true;  // --gtest_repeat runs this again
    if (std::exchange(first_use_in_this_process, false)) {
        EXPECT_EQ(threads_named("vow-timer"), 0) << "started before anyone asked for it";
    }
    vow::timer& t = vow::default_timer();
    EXPECT_EQ(&t, &vow::default_timer());
    EXPECT_NE(dynamic_cast<vow::real_timer*>(&t), nullptr);

    std::promise<std::string> fired_on;
    t.schedule_after(std::chrono::milliseconds(1), [&] { fired_on.set_value(this_thread_name()); });
    std::future<std::string> f = fired_on.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(f.get(), "vow-timer");
}

}  // namespace
