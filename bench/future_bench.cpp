// Futures against std::future and boost::future (Boost.Thread 1.81, version 5),
// side by side. Boost continuations use boost::launch::sync: the continuation
// runs on the thread that completes the future (or at once if it is ready),
// which is what vow's inline binding does, and no thread is started per then.
// std::future has no then: where a case needs one, std is left out.
#include <benchmark/benchmark.h>

#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/thread/future.hpp>

#include "vow/future.hpp"
#include "vow/promise.hpp"

namespace {

// ---- promise_roundtrip: create a pair, set, get, on one thread ------------

void promise_roundtrip_vow(benchmark::State& state) {
    for (auto _ : state) {
        vow::promise<int> p;
        auto f = p.get_future();
        p.set_value(42);
        benchmark::DoNotOptimize(f.get());
    }
}

void promise_roundtrip_std(benchmark::State& state) {
    for (auto _ : state) {
        std::promise<int> p;
        auto f = p.get_future();
        p.set_value(42);
        benchmark::DoNotOptimize(f.get());
    }
}

void promise_roundtrip_boost(benchmark::State& state) {
    for (auto _ : state) {
        boost::promise<int> p;
        auto f = p.get_future();
        p.set_value(42);
        benchmark::DoNotOptimize(f.get());
    }
}

// ---- then_chain: N continuations attached to a pending future, then set ---

void then_chain_vow(benchmark::State& state) {
    const auto n = state.range(0);
    for (auto _ : state) {
        vow::promise<int> p;
        vow::future<int> f = p.get_future();
        for (int64_t i = 0; i < n; ++i) f = std::move(f).then([](int v) { return v + 1; });
        p.set_value(0);
        benchmark::DoNotOptimize(f.get());
    }
    state.SetItemsProcessed(state.iterations() * n);  // items/s = continuations/s
}

void then_chain_boost(benchmark::State& state) {
    const auto n = state.range(0);
    for (auto _ : state) {
        boost::promise<int> p;
        boost::future<int> f = p.get_future();
        for (int64_t i = 0; i < n; ++i)
            f = f.then(boost::launch::sync, [](boost::future<int> x) { return x.get() + 1; });
        p.set_value(0);
        benchmark::DoNotOptimize(f.get());
    }
    state.SetItemsProcessed(state.iterations() * n);
}

// ---- cross_thread_handoff: ping-pong between two threads via promises ------
// Each benchmark iteration is one round trip: this thread fulfils "ping", a
// partner thread waiting on it fulfils "pong", this thread waits on "pong".
// Pairs are made outside the timed region, in batches.

constexpr int handoff_batch = 512;

template <template <class> class Promise, template <class> class Future>
struct handoff_batch_state {
    std::vector<Promise<int>> ping{handoff_batch}, pong{handoff_batch};
    std::vector<Future<int>> ping_f, pong_f;
    std::thread partner;
    int next = 0;

    handoff_batch_state() {
        for (int i = 0; i < handoff_batch; ++i) {
            ping_f.push_back(ping[i].get_future());
            pong_f.push_back(pong[i].get_future());
        }
        partner = std::thread([this] {
            for (int i = 0; i < handoff_batch; ++i) pong[i].set_value(ping_f[i].get() + 1);
        });
    }
    ~handoff_batch_state() {  // let the partner finish the batch
        for (; next < handoff_batch; ++next) {
            ping[next].set_value(next);
            pong_f[next].get();
        }
        partner.join();
    }
    bool full() const { return next == handoff_batch; }
    int round_trip() {
        ping[next].set_value(next);
        int r = pong_f[next].get();
        ++next;
        return r;
    }
};

template <template <class> class Promise, template <class> class Future>
void cross_thread_handoff(benchmark::State& state) {
    using batch = handoff_batch_state<Promise, Future>;
    auto current = std::make_unique<batch>();
    for (auto _ : state) {
        if (current->full()) {
            state.PauseTiming();
            current.reset();
            current = std::make_unique<batch>();
            state.ResumeTiming();
        }
        benchmark::DoNotOptimize(current->round_trip());
    }
    current.reset();
}

template <class T>
using vow_promise = vow::promise<T>;
template <class T>
using vow_future = vow::future<T>;
template <class T>
using std_promise = std::promise<T>;
template <class T>
using std_future = std::future<T>;
template <class T>
using boost_promise = boost::promise<T>;
template <class T>
using boost_future = boost::future<T>;

// ---- exception_path: a failed future through 4 continuations ---------------

void exception_path_vow(benchmark::State& state) {
    for (auto _ : state) {
        vow::promise<int> p;
        auto f = p.get_future()
                     .then([](int v) { return v + 1; })
                     .then([](int v) { return v + 1; })
                     .then([](int v) { return v + 1; })
                     .then([](int v) { return v + 1; });
        p.set_exception(std::make_exception_ptr(std::runtime_error("failed")));
        try {
            f.get();
        } catch (const std::runtime_error& e) {
            benchmark::DoNotOptimize(e.what());
        }
    }
}

void exception_path_boost(benchmark::State& state) {
    auto step = [] { return [](boost::future<int> x) { return x.get() + 1; }; };  // boost takes F&&
    for (auto _ : state) {
        boost::promise<int> p;
        auto f = p.get_future()
                     .then(boost::launch::sync, step())
                     .then(boost::launch::sync, step())
                     .then(boost::launch::sync, step())
                     .then(boost::launch::sync, step());
        p.set_exception(std::runtime_error("failed"));
        try {
            f.get();
        } catch (const std::runtime_error& e) {
            benchmark::DoNotOptimize(e.what());
        }
    }
}

// std has no continuations: the floor of failing one future and catching.
void exception_path_std_no_then(benchmark::State& state) {
    for (auto _ : state) {
        std::promise<int> p;
        auto f = p.get_future();
        p.set_exception(std::make_exception_ptr(std::runtime_error("failed")));
        try {
            f.get();
        } catch (const std::runtime_error& e) {
            benchmark::DoNotOptimize(e.what());
        }
    }
}

}  // namespace

BENCHMARK(promise_roundtrip_vow)->Name("promise_roundtrip/vow");
BENCHMARK(promise_roundtrip_std)->Name("promise_roundtrip/std");
BENCHMARK(promise_roundtrip_boost)->Name("promise_roundtrip/boost");

BENCHMARK(then_chain_vow)->Name("then_chain/vow")->Arg(1)->Arg(4)->Arg(100)->Arg(1000);
BENCHMARK(then_chain_boost)->Name("then_chain/boost")->Arg(1)->Arg(4)->Arg(100)->Arg(1000);

BENCHMARK(cross_thread_handoff<vow_promise, vow_future>)->Name("cross_thread_handoff/vow")->UseRealTime();
BENCHMARK(cross_thread_handoff<std_promise, std_future>)->Name("cross_thread_handoff/std")->UseRealTime();
BENCHMARK(cross_thread_handoff<boost_promise, boost_future>)->Name("cross_thread_handoff/boost")->UseRealTime();

BENCHMARK(exception_path_vow)->Name("exception_path/vow");
BENCHMARK(exception_path_boost)->Name("exception_path/boost");
BENCHMARK(exception_path_std_no_then)->Name("exception_path/std_no_then");
