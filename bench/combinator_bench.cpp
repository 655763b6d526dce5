// Combinators: when_all over 10,000 ready futures against boost::when_all, the
// cost of a timeout that never fires, and the overhead of retry when the first
// attempt succeeds.
#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include <boost/thread/future.hpp>

#include "vow/inline_executor.hpp"
#include "vow/promise.hpp"
#include "vow/retry.hpp"
#include "vow/time.hpp"
#include "vow/timer.hpp"
#include "vow/when.hpp"

namespace {

constexpr int when_all_inputs = 10'000;

// ---- when_all_10k: fan-in of 10,000 ready futures, per element ------------

void when_all_10k_vow(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<vow::future<int>> inputs;
        inputs.reserve(when_all_inputs);
        for (int i = 0; i < when_all_inputs; ++i) inputs.push_back(vow::make_ready_future(i));
        state.ResumeTiming();
        auto all = vow::when_all(std::move(inputs), vow::inline_executor::instance());
        benchmark::DoNotOptimize(all.get().size());
    }
    state.SetItemsProcessed(state.iterations() * when_all_inputs);
}

void when_all_10k_boost(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<boost::future<int>> inputs;
        inputs.reserve(when_all_inputs);
        for (int i = 0; i < when_all_inputs; ++i) inputs.push_back(boost::make_ready_future(i));
        state.ResumeTiming();
        auto all = boost::when_all(inputs.begin(), inputs.end());
        auto done = all.get();
        int sum = 0;
        for (auto& f : done) sum += f.get();  // read every value, as vow's get() hands them over
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * when_all_inputs);
}

// ---- timeout_overhead: 100,000 futures that finish before their deadline ---
// All 100,000 deadlines are pending at once on a real timer, then every
// future completes; per future. The baseline is the same without a timeout.

constexpr int timeout_futures = 100'000;

void timeout_overhead_vow_within(benchmark::State& state) {
    vow::real_timer timer;
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<vow::promise<int>> producers(timeout_futures);
        std::vector<vow::future<int>> results;
        results.reserve(timeout_futures);
        state.ResumeTiming();
        for (auto& p : producers) results.push_back(p.get_future().within(std::chrono::hours(1), timer));
        for (int i = 0; i < timeout_futures; ++i) producers[i].set_value(i);
        long long sum = 0;
        for (auto& f : results) sum += f.get();
        benchmark::DoNotOptimize(sum);
        state.PauseTiming();
        producers.clear();
        results.clear();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * timeout_futures);
}

void timeout_overhead_vow_no_timeout(benchmark::State& state) {
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<vow::promise<int>> producers(timeout_futures);
        std::vector<vow::future<int>> results;
        results.reserve(timeout_futures);
        state.ResumeTiming();
        for (auto& p : producers) results.push_back(p.get_future());
        for (int i = 0; i < timeout_futures; ++i) producers[i].set_value(i);
        long long sum = 0;
        for (auto& f : results) sum += f.get();
        benchmark::DoNotOptimize(sum);
        state.PauseTiming();
        producers.clear();
        results.clear();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * timeout_futures);
}

// ---- retry_no_failure: retry around an attempt that succeeds at once -------

void retry_no_failure_vow(benchmark::State& state) {
    vow::manual_timer timer;  // never consulted: no backoff happens
    vow::retry_policy policy;
    for (auto _ : state) {
        auto f = vow::retry(policy, [] { return vow::make_ready_future(1); }, timer, vow::inline_executor::instance());
        benchmark::DoNotOptimize(f.get());
    }
}

void retry_no_failure_plain(benchmark::State& state) {
    auto attempt = [] { return vow::make_ready_future(1); };
    for (auto _ : state) {
        auto f = attempt();
        benchmark::DoNotOptimize(f.get());
    }
}

}  // namespace

BENCHMARK(when_all_10k_vow)->Name("when_all_10k/vow")->Unit(benchmark::kMicrosecond);
BENCHMARK(when_all_10k_boost)->Name("when_all_10k/boost")->Unit(benchmark::kMicrosecond);

BENCHMARK(timeout_overhead_vow_within)->Name("timeout_overhead/vow_within")->Unit(benchmark::kMillisecond);
BENCHMARK(timeout_overhead_vow_no_timeout)->Name("timeout_overhead/vow_no_timeout")->Unit(benchmark::kMillisecond);

BENCHMARK(retry_no_failure_vow)->Name("retry_no_failure/vow");
BENCHMARK(retry_no_failure_plain)->Name("retry_no_failure/plain_attempt");
