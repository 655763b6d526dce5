#include "vow/thread_pool.hpp"

#include <gtest/gtest.h>

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "counted.hpp"
#include "vow/errors.hpp"

namespace {

using vow::thread_pool;
using vow_test::counters;
using vow_test::make_counted;
using state = thread_pool::state;

std::string this_thread_name() {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
}

// Occupies one worker until release() is called. Tests that need tasks to stay
// queued block every worker with one of these first.
class worker_blocker {
public:
    // Posts a task that blocks a worker, and waits until it is running.
    explicit worker_blocker(vow::executor& ex) {
        ex.execute([this] {
            started_.count_down();
            released_.wait();
        });
        started_.wait();
    }
    void release() { released_.count_down(); }

private:
    std::latch started_{1};
    std::latch released_{1};
};

TEST(thread_pool, a_new_pool_is_open_with_the_requested_number_of_workers) {
    thread_pool pool(3, "tp");
    EXPECT_EQ(pool.size(), 3u);
    EXPECT_EQ(pool.current_state(), state::open);
}

TEST(thread_pool, zero_threads_means_one_worker_per_hardware_thread) {
    thread_pool pool(0);
    EXPECT_EQ(pool.size(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(thread_pool, runs_every_task_exactly_once_on_a_worker_thread) {
    constexpr int tasks = 10'000;
    counters c;
    std::atomic<int> on_caller{0};
    const std::thread::id caller = std::this_thread::get_id();
    thread_pool pool(2, "tp");
    for (int i = 0; i < tasks; ++i)
        pool.execute(make_counted(c, [&] {
            if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
        }));
    c.wait_destroyed(tasks);
    EXPECT_EQ(c.runs.load(), tasks);
    EXPECT_EQ(c.destroyed.load(), tasks);
    EXPECT_EQ(on_caller.load(), 0);
}

TEST(thread_pool, several_producers_lose_no_task) {
    constexpr int producers = 4;
    constexpr int per_producer = 5'000;
    counters c;
    thread_pool pool(2, "tp");
    std::latch start(producers);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < per_producer; ++i) pool.execute(make_counted(c));
        });
    for (std::thread& t : threads) t.join();
    pool.join();
    EXPECT_EQ(c.runs.load(), producers * per_producer);
    EXPECT_EQ(c.destroyed.load(), producers * per_producer);
}

TEST(thread_pool, shutdown_moves_open_to_draining_and_join_moves_draining_to_stopped) {
    thread_pool pool(2, "tp");
    ASSERT_EQ(pool.current_state(), state::open);
    pool.shutdown();
    EXPECT_EQ(pool.current_state(), state::draining);
    pool.shutdown();  // idempotent
    EXPECT_EQ(pool.current_state(), state::draining);
    pool.join();
    EXPECT_EQ(pool.current_state(), state::stopped);
    pool.join();  // idempotent
    EXPECT_EQ(pool.current_state(), state::stopped);
}

TEST(thread_pool, while_draining_queued_work_still_runs_and_join_waits_for_it) {
    counters queued;
    thread_pool pool(1, "tp");
    worker_blocker blocker(pool);
    for (int i = 0; i < 100; ++i) pool.execute(make_counted(queued));
    pool.shutdown();
    EXPECT_EQ(pool.current_state(), state::draining);
    EXPECT_EQ(queued.runs.load(), 0);
    blocker.release();
    pool.join();
    EXPECT_EQ(queued.runs.load(), 100);
    EXPECT_EQ(queued.destroyed.load(), 100);
    EXPECT_EQ(pool.current_state(), state::stopped);
}

TEST(thread_pool, execute_while_draining_throws_executor_shut_down_and_destroys_the_task_unrun) {
    counters c;
    thread_pool pool(1, "tp");
    worker_blocker blocker(pool);
    pool.shutdown();
    EXPECT_THROW(pool.execute(make_counted(c)), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
    blocker.release();
    pool.join();
    EXPECT_TRUE(c.destroyed_unrun());
    EXPECT_EQ(pool.stats().rejected, 1u);
}

TEST(thread_pool, execute_after_join_throws_executor_shut_down_and_destroys_the_task_unrun) {
    counters c;
    thread_pool pool(2, "tp");
    pool.join();
    EXPECT_THROW(pool.execute(make_counted(c)), vow::executor_shut_down);
    EXPECT_TRUE(c.destroyed_unrun());
}

TEST(thread_pool, tasks_posted_from_a_worker_while_draining_still_run) {
    counters continuation;
    bool accepted = false;
    std::latch shutdown_called(1);
    thread_pool pool(2, "tp");
    std::latch first_started(1);
    pool.execute([&] {
        first_started.count_down();
        shutdown_called.wait();
        // A continuation of queued work: the pool is draining, but it comes
        // from one of its own workers, so it is accepted and runs.
        pool.execute(make_counted(continuation));
        accepted = true;
    });
    first_started.wait();
    pool.shutdown();
    shutdown_called.count_down();
    pool.join();
    EXPECT_TRUE(accepted);
    EXPECT_TRUE(continuation.ran_once());
}

TEST(thread_pool, shutdown_now_destroys_each_queued_task_unrun_and_reports_how_many) {
    counters running, queued;
    thread_pool pool(1, "tp");
    std::latch started(1), release(1);
    pool.execute(make_counted(running, [&] {
        started.count_down();
        release.wait();
    }));
    started.wait();
    for (int i = 0; i < 5; ++i) pool.execute(make_counted(queued));
    EXPECT_EQ(pool.shutdown_now(), 5u);
    // Each dropped task was destroyed, unrun, before shutdown_now returned.
    EXPECT_EQ(queued.runs.load(), 0);
    EXPECT_EQ(queued.destroyed.load(), 5);
    EXPECT_EQ(pool.current_state(), state::stopped);
    EXPECT_EQ(pool.stats().rejected, 5u);
    // The running task is not interrupted.
    EXPECT_EQ(running.destroyed.load(), 0);
    release.count_down();
    pool.join();
    EXPECT_TRUE(running.ran_once());
    EXPECT_EQ(queued.destroyed.load(), 5);
}

TEST(thread_pool, execute_after_shutdown_now_throws_even_from_a_worker) {
    counters from_outside, from_worker;
    bool worker_rejected = false;
    thread_pool pool(1, "tp");
    std::latch started(1), shut(1);
    pool.execute([&] {
        started.count_down();
        shut.wait();
        try {
            pool.execute(make_counted(from_worker));
        } catch (const vow::executor_shut_down&) {
            worker_rejected = true;
        }
    });
    started.wait();
    pool.shutdown_now();
    EXPECT_THROW(pool.execute(make_counted(from_outside)), vow::executor_shut_down);
    shut.count_down();
    pool.join();
    EXPECT_TRUE(from_outside.destroyed_unrun());
    EXPECT_TRUE(worker_rejected);
    EXPECT_TRUE(from_worker.destroyed_unrun());
}

TEST(thread_pool, shutdown_now_on_an_idle_pool_drops_nothing) {
    thread_pool pool(2, "tp");
    EXPECT_EQ(pool.shutdown_now(), 0u);
    EXPECT_EQ(pool.current_state(), state::stopped);
    pool.join();
    EXPECT_EQ(pool.current_state(), state::stopped);
}

TEST(thread_pool, the_destructor_drains_every_queued_task_then_joins) {
    constexpr int queued_tasks = 1000;
    counters c;
    std::atomic<bool> first_saw_draining{false};
    {
        thread_pool pool(1, "tp");
        // Holds the only worker until the destructor has begun, so every task
        // below is still queued when the pool is destroyed.
        std::latch started(1);
        pool.execute([&] {
            started.count_down();
            while (pool.current_state() == state::open) std::this_thread::yield();
            first_saw_draining = true;
        });
        started.wait();
        for (int i = 0; i < queued_tasks; ++i) pool.execute(make_counted(c));
        EXPECT_EQ(c.runs.load(), 0);
    }
    EXPECT_TRUE(first_saw_draining.load());
    EXPECT_EQ(c.runs.load(), queued_tasks);
    EXPECT_EQ(c.destroyed.load(), queued_tasks);
}

// A worker that destroyed (or joined) its own pool is detached and finishes on
// its own, possibly after the test body returned, so everything it touches is
// shared: each task keeps the scenario alive until it is destroyed.
struct detached_worker_scenario {
    counters queued;
    std::latch posted{1};
    std::latch done{1};
    std::thread::id worker;
};

void destroy_from_worker(std::size_t workers, const std::shared_ptr<detached_worker_scenario>& s) {
    auto* pool = new thread_pool(workers, "tp");
    pool->execute([pool, s] {
        s->posted.wait();
        s->worker = std::this_thread::get_id();
        delete pool;  // must neither deadlock nor join this very thread
        s->done.count_down();
    });
    for (int i = 0; i < 50; ++i) pool->execute(make_counted(s->queued, [s] {}));
    s->posted.count_down();
    s->done.wait();
    s->queued.wait_destroyed(50);  // the destructor drains: every queued task runs
}

TEST(thread_pool, destroying_a_single_worker_pool_from_its_worker_neither_deadlocks_nor_self_joins) {
    auto s = std::make_shared<detached_worker_scenario>();
    destroy_from_worker(1, s);
    EXPECT_EQ(s->queued.runs.load(), 50);
    EXPECT_EQ(s->queued.destroyed.load(), 50);
    EXPECT_NE(s->worker, std::this_thread::get_id());
}

TEST(thread_pool, destroying_a_pool_from_one_of_its_workers_joins_the_others_and_drains) {
    auto s = std::make_shared<detached_worker_scenario>();
    destroy_from_worker(3, s);
    EXPECT_EQ(s->queued.runs.load(), 50);
    EXPECT_EQ(s->queued.destroyed.load(), 50);
}

// A task may lead its owner to destroy the pool while the thread that posted
// it is still inside execute() (waking a worker, the straggler check): that
// thread must not touch the destroyed pool. A bounded race (ASan and TSan
// see a use after free when execute() reads the pool after its enqueue).
TEST(thread_pool, a_pool_destroyed_as_soon_as_its_task_ran_leaves_the_poster_unharmed) {
    for (int round = 0; round < 300; ++round) {
        auto pool = std::make_unique<vow::thread_pool>(1);
        std::promise<void> ran;
        auto ran_f = ran.get_future();
        std::thread poster([&] { pool->execute([&] { ran.set_value(); }); });
        ran_f.wait();
        pool.reset();  // the poster may still be inside execute()
        poster.join();
    }
}

TEST(thread_pool, joining_from_a_worker_returns_without_deadlock_and_the_queue_still_runs) {
    auto s = std::make_shared<detached_worker_scenario>();
    auto pool = std::make_unique<thread_pool>(2, "tp");
    pool->execute([p = pool.get(), s] {
        s->posted.wait();
        p->join();  // must neither deadlock nor join this very thread
        s->done.count_down();
    });
    for (int i = 0; i < 50; ++i) pool->execute(make_counted(s->queued, [s] {}));
    s->posted.count_down();
    s->done.wait();
    s->queued.wait_destroyed(50);
    EXPECT_EQ(s->queued.runs.load(), 50);
    EXPECT_NE(pool->current_state(), state::open);
    pool.reset();  // joining again from outside is fine too
    EXPECT_EQ(s->queued.destroyed.load(), 50);
}

TEST(thread_pool, stats_count_queued_running_completed_and_rejected_tasks) {
    thread_pool pool(1, "tp");
    thread_pool::stats_snapshot idle = pool.stats();
    EXPECT_EQ(idle.queued, 0u);
    EXPECT_EQ(idle.running, 0u);
    EXPECT_EQ(idle.completed, 0u);
    EXPECT_EQ(idle.rejected, 0u);

    worker_blocker blocker(pool);
    for (int i = 0; i < 3; ++i) pool.execute([] {});
    thread_pool::stats_snapshot busy = pool.stats();
    EXPECT_EQ(busy.queued, 3u);
    EXPECT_EQ(busy.running, 1u);
    EXPECT_EQ(busy.completed, 0u);

    blocker.release();
    pool.join();
    thread_pool::stats_snapshot done = pool.stats();
    EXPECT_EQ(done.queued, 0u);
    EXPECT_EQ(done.running, 0u);
    EXPECT_EQ(done.completed, 4u);
    EXPECT_EQ(done.rejected, 0u);

    EXPECT_THROW(pool.execute([] {}), vow::executor_shut_down);
    EXPECT_EQ(pool.stats().rejected, 1u);
}

TEST(thread_pool, running_in_this_thread_is_true_only_on_its_own_workers) {
    thread_pool pool(1, "tp");
    thread_pool other(1, "other");
    EXPECT_FALSE(pool.running_in_this_thread());
    std::promise<std::pair<bool, bool>> seen;
    pool.execute([&] { seen.set_value({pool.running_in_this_thread(), other.running_in_this_thread()}); });
    auto [in_pool, in_other] = seen.get_future().get();
    EXPECT_TRUE(in_pool);
    EXPECT_FALSE(in_other);
    EXPECT_FALSE(pool.running_in_this_thread());
}

TEST(thread_pool, workers_are_named_after_the_pool_and_their_index) {
    thread_pool pool(2, "tp");
    std::mutex m;
    std::set<std::string> names;
    std::latch both_running(2);  // two tasks that wait for each other run on two workers
    std::latch recorded(2);
    for (int i = 0; i < 2; ++i)
        pool.execute([&] {
            both_running.arrive_and_wait();
            {
                std::lock_guard lock(m);
                names.insert(this_thread_name());
            }
            recorded.count_down();
        });
    recorded.wait();
    EXPECT_EQ(names, (std::set<std::string>{"tp-0", "tp-1"}));
}

TEST(thread_pool, a_long_pool_name_is_shortened_to_the_system_limit_keeping_the_index) {
    thread_pool pool(1, "a-rather-long-pool-name");
    std::promise<std::string> name;
    pool.execute([&] { name.set_value(this_thread_name()); });
    std::string n = name.get_future().get();
    EXPECT_LE(n.size(), 15u);
    EXPECT_EQ(n.substr(n.size() - 2), "-0");
    EXPECT_EQ(n, std::string("a-rather-long-pool-name-0").substr(25 - 15));
}

TEST(thread_pool, the_default_name_is_vow_pool) {
    thread_pool pool(1);
    std::promise<std::string> name;
    pool.execute([&] { name.set_value(this_thread_name()); });
    EXPECT_EQ(name.get_future().get(), "vow-pool-0");
}

TEST(thread_pool, try_run_one_runs_a_queued_task_on_the_calling_thread) {
    counters c;
    thread_pool pool(1, "tp");
    worker_blocker blocker(pool);
    std::thread::id ran_on;
    bool saw_running_in_pool = false;
    pool.execute(make_counted(c, [&] {
        ran_on = std::this_thread::get_id();
        saw_running_in_pool = pool.running_in_this_thread();
    }));
    EXPECT_TRUE(pool.try_run_one());
    EXPECT_TRUE(c.ran_once());
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    EXPECT_TRUE(saw_running_in_pool);
    EXPECT_FALSE(pool.try_run_one());  // nothing left
    blocker.release();
    pool.join();
    EXPECT_EQ(pool.stats().completed, 2u);
}

TEST(thread_pool, a_worker_with_nothing_to_do_goes_to_sleep) {
    thread_pool pool(1, "tp");
    std::promise<long> tid;
    pool.execute([&] { tid.set_value(static_cast<long>(::syscall(SYS_gettid))); });
    const std::string stat_path = "/proc/self/task/" + std::to_string(tid.get_future().get()) + "/stat";
    auto thread_state = [&] {
        std::ifstream in(stat_path);
        std::string line;
        std::getline(in, line);
        auto close = line.rfind(')');  // "tid (comm) S ..."
        return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
    };
    // A spinning worker stays 'R'; a sleeping one is 'S'. The spin is bounded,
    // so the state must reach 'S' well within the (generous) limit.
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    char s = thread_state();
    while (s != 'S' && std::chrono::steady_clock::now() < limit) {
        std::this_thread::yield();
        s = thread_state();
    }
    EXPECT_EQ(s, 'S');
}

TEST(thread_pool, is_usable_through_the_abstract_executor) {
    counters c;
    thread_pool pool(2, "tp");
    vow::executor& ex = pool;
    ex.execute(make_counted(c));
    pool.join();
    EXPECT_TRUE(c.ran_once());
}

// execute() racing with shutdown()+join() from another thread: every task is
// either run (it was accepted) or rejected with executor_shut_down - never
// accepted and then left behind. (It caught a task that passed execute()'s
// state check while the pool was open and was enqueued after join() had made
// its last pass over the queue: accepted, never run, destroyed with the pool.)
TEST(thread_pool, a_task_racing_with_shutdown_is_either_run_or_rejected) {
    for (int round = 0; round < 20; ++round) {
        counters c;
        int accepted = 0, rejected = 0;
        {
            thread_pool pool(2, "tp");
            std::latch producing(1);
            std::thread producer([&] {
                for (bool first = true;; first = false) {
                    try {
                        pool.execute(make_counted(c));
                        ++accepted;
                    } catch (const vow::executor_shut_down&) {
                        ++rejected;
                        break;
                    }
                    if (first) producing.count_down();
                }
            });
            producing.wait();
            pool.join();
            producer.join();
            ASSERT_EQ(rejected, 1);
            EXPECT_EQ(c.runs.load(), accepted) << "round " << round;
        }
        EXPECT_EQ(c.destroyed.load(), accepted + rejected);
    }
}

}  // namespace
