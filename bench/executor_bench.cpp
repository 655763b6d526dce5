// Executor benchmarks: vow's thread_pool, strand and real_timer side by side
// with boost::asio (thread_pool, strand, steady_timer), Boost.Thread's
// basic_thread_pool and a mutex + condition_variable pool (the floor).
// Cases are named `<case>/<implementation>`; compare items_per_second.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
// BOOST_THREAD_VERSION=5 (which provides the executors) is set for the whole
// vow_bench target in bench/CMakeLists.txt, so every file agrees on it.
#include <boost/thread/executors/basic_thread_pool.hpp>

#include "naive_pool.hpp"
#include "vow/strand.hpp"
#include "vow/thread_pool.hpp"
#include "vow/timer.hpp"

namespace {

namespace asio = boost::asio;

constexpr std::size_t million = 1'000'000;
constexpr std::size_t pool_workers = 2;

// ---- the pools, behind one shape: start() (untimed), post(), finish() waits for
// every posted task, stop() (untimed) releases what is left. -----------------

struct vow_pool {
    std::optional<vow::thread_pool> pool;
    void start() { pool.emplace(pool_workers, "bench"); }
    void post() { pool->execute([] {}); }
    void finish() { pool->join(); }  // drains: every accepted task runs
    bool check(std::size_t posted) const { return pool->stats().completed == posted; }
    void stop() { pool.reset(); }
};

struct asio_pool {
    std::optional<asio::thread_pool> pool;
    void start() { pool.emplace(pool_workers); }
    void post() { asio::post(*pool, [] {}); }
    void finish() { pool->join(); }  // without stop(), waits until the pool runs out of work
    bool check(std::size_t) const { return true; }
    void stop() { pool.reset(); }
};

struct boost_thread_pool {
    std::optional<boost::executors::basic_thread_pool> pool;
    void start() { pool.emplace(pool_workers); }
    void post() { pool->submit([] {}); }
    void finish() {
        pool->close();  // workers exit once the queue is empty
        pool->join();
    }
    bool check(std::size_t) const { return true; }
    void stop() { pool.reset(); }
};

struct naive_mutex_pool {
    std::optional<vow_bench::naive_pool> pool;
    void start() { pool.emplace(pool_workers); }
    void post() { pool->post([] {}); }
    void finish() { pool->join(); }
    bool check(std::size_t) const { return true; }
    void stop() { pool.reset(); }
};

// `producers` threads (the benchmark's own thread plus producers - 1 helpers,
// started before the clock runs) post `million` empty tasks between them; the
// clock stops once the pool has run them all.
template <class Pool>
void pool_post_1m(benchmark::State& state, int producers) {
    const std::size_t per_producer = million / static_cast<std::size_t>(producers);
    const std::size_t posted = per_producer * static_cast<std::size_t>(producers);
    for (auto _ : state) {
        state.PauseTiming();
        Pool pool;
        pool.start();
        std::latch go(1);
        std::vector<std::thread> helpers;
        for (int p = 1; p < producers; ++p) {
            helpers.emplace_back([&] {
                go.wait();
                for (std::size_t i = 0; i < per_producer; ++i) pool.post();
            });
        }
        state.ResumeTiming();

        go.count_down();
        for (std::size_t i = 0; i < per_producer; ++i) pool.post();
        for (std::thread& h : helpers) h.join();
        pool.finish();

        state.PauseTiming();
        bool all_ran = pool.check(posted);
        pool.stop();
        state.ResumeTiming();
        if (!all_ran) {
            state.SkipWithError("not every posted task ran");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * posted));
}

// ---- strands: `million` tasks through one strand over a 2-worker pool, posted
// from one thread; the clock stops once all have run. Each task bumps a plain
// counter, which is safe only because a strand runs one task at a time, and
// proves that every task ran. ---------------------------------------------------

void strand_post_vow(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        std::size_t ran = 0;
        std::optional<vow::thread_pool> pool(std::in_place, pool_workers, "bench");
        std::optional<vow::strand> serial(std::in_place, *pool);
        state.ResumeTiming();

        for (std::size_t i = 0; i < million; ++i) serial->execute([&ran] { ++ran; });
        pool->join();  // the strand's turns re-post from workers, which draining accepts

        state.PauseTiming();
        serial.reset();
        pool.reset();
        state.ResumeTiming();
        if (ran != million) {
            state.SkipWithError("not every task ran");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * million));
}

void strand_post_asio(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        std::size_t ran = 0;
        std::optional<asio::thread_pool> pool(std::in_place, pool_workers);
        auto serial = asio::make_strand(pool->get_executor());
        state.ResumeTiming();

        for (std::size_t i = 0; i < million; ++i) asio::post(serial, [&ran] { ++ran; });
        pool->join();  // waits until the pool, strand included, runs out of work

        state.PauseTiming();
        pool.reset();
        state.ResumeTiming();
        if (ran != million) {
            state.SkipWithError("not every task ran");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * million));
}

// ---- timers: schedule an hour ahead, then cancel; one operation per iteration.

// vow: real_timer (its own thread, idle throughout) schedule_after(1h) + cancel.
void timer_schedule_cancel_vow(benchmark::State& state) {
    vow::real_timer timer;
    for (auto _ : state) {
        vow::timer_handle h = timer.schedule_after(std::chrono::hours(1), [] {});
        benchmark::DoNotOptimize(h.cancel());
    }
    state.SetItemsProcessed(state.iterations());
}

// The peer: one asio::steady_timer (reused, as Asio code usually holds one per
// operation object) on an io_context that nobody runs in the background:
// expires_after(1h) + async_wait + cancel, then poll() on this thread runs the
// cancelled handler (operation_aborted), so no handler piles up. A work guard
// keeps poll() from stopping the io_context when it runs out of work.
void timer_schedule_cancel_asio(benchmark::State& state) {
    asio::io_context io;
    auto keep_running = asio::make_work_guard(io);
    asio::steady_timer timer(io);
    for (auto _ : state) {
        timer.expires_after(std::chrono::hours(1));
        timer.async_wait([](const boost::system::error_code&) {});
        benchmark::DoNotOptimize(timer.cancel());
        io.poll();
    }
    state.SetItemsProcessed(state.iterations());
}

// ---- registration ------------------------------------------------------------

constexpr int repetitions = 5;

void pool_case(benchmark::internal::Benchmark* b) {
    b->Repetitions(repetitions)->DisplayAggregatesOnly(true)->UseRealTime()->Unit(benchmark::kMillisecond);
}

void timer_case(benchmark::internal::Benchmark* b) {
    b->Repetitions(repetitions)->DisplayAggregatesOnly(true)->UseRealTime()->Unit(benchmark::kNanosecond);
}

template <class Pool>
void register_pool(const char* case_name, const char* implementation, int producers) {
    benchmark::RegisterBenchmark((std::string(case_name) + "/" + implementation).c_str(),
                                 [producers](benchmark::State& s) { pool_post_1m<Pool>(s, producers); })
        ->Apply(pool_case);
}

// Registered case by case, so each case's peers are listed together.
const bool registered = [] {
    for (int producers : {1, 2}) {
        const char* name = producers == 1 ? "pool_post_1m" : "pool_post_1m_2producers";
        register_pool<vow_pool>(name, "vow", producers);
        register_pool<asio_pool>(name, "asio", producers);
        register_pool<boost_thread_pool>(name, "boost_thread", producers);
        register_pool<naive_mutex_pool>(name, "naive_mutex", producers);
    }
    benchmark::RegisterBenchmark("strand_post/vow", strand_post_vow)->Apply(pool_case);
    benchmark::RegisterBenchmark("strand_post/asio", strand_post_asio)->Apply(pool_case);
    benchmark::RegisterBenchmark("timer_schedule_cancel/vow", timer_schedule_cancel_vow)->Apply(timer_case);
    benchmark::RegisterBenchmark("timer_schedule_cancel/asio", timer_schedule_cancel_asio)->Apply(timer_case);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
