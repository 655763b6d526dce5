#include "vow/detail/block_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "vow/promise.hpp"

// Counts this binary's calls of the global operator new.
std::atomic<long> operator_new_calls{0};

void* counted_allocation(std::size_t size) {
    operator_new_calls.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
#include "replace_operator_new.hpp"

namespace {

using vow::detail::block_cache;
using vow::detail::cached_allocate;
using vow::detail::cached_free;

// Without the cache (AddressSanitizer builds) every block comes from operator
// new; the reuse checks below then have nothing to check.
#define SKIP_WITHOUT_CACHE() \
    if (!block_cache::enabled) GTEST_SKIP() << "the block cache is off in this build"

TEST(block_cache, a_freed_block_serves_the_next_request_of_its_size_class_on_the_same_thread) {
    SKIP_WITHOUT_CACHE();
    void* a = cached_allocate(72);
    cached_free(a, 72);
    void* b = cached_allocate(80);  // 72 and 80 share the 65-96 byte class
    EXPECT_EQ(a, b);
    cached_free(b, 80);
    void* c = cached_allocate(100);  // another class
    EXPECT_NE(c, a);
    cached_free(c, 100);
}

TEST(block_cache, a_block_freed_on_another_thread_joins_that_threads_cache) {
    SKIP_WITHOUT_CACHE();
    void* mine = cached_allocate(64);
    void* reused_there = nullptr;
    std::thread other([&] {
        cached_free(mine, 64);
        reused_there = cached_allocate(64);
        cached_free(reused_there, 64);
    });  // the thread's exit empties its cache
    other.join();
    EXPECT_EQ(reused_there, mine);
}

TEST(block_cache, blocks_larger_than_the_largest_class_always_come_from_operator_new) {
    SKIP_WITHOUT_CACHE();
    constexpr std::size_t big = vow::detail::block_cache_max_size + 1;
    cached_free(cached_allocate(big), big);
    const long before = operator_new_calls.load();
    void* a = cached_allocate(big);
    EXPECT_EQ(operator_new_calls.load() - before, 1);
    std::vector<std::byte> touch(big);
    std::memcpy(a, touch.data(), big);  // the whole block is usable
    cached_free(a, big);

    constexpr std::size_t largest = vow::detail::block_cache_max_size;
    cached_free(cached_allocate(largest), largest);
    const long before_small = operator_new_calls.load();
    cached_free(cached_allocate(largest), largest);
    EXPECT_EQ(operator_new_calls.load() - before_small, 0);
}

TEST(block_cache, each_class_keeps_at_most_its_byte_budget) {
    SKIP_WITHOUT_CACHE();
    constexpr std::size_t size = 256;
    constexpr std::size_t kept = block_cache::max_cached_bytes_per_class / size;
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < kept + 10; ++i) blocks.push_back(cached_allocate(size));
    for (void* b : blocks) cached_free(b, size);
    // The first `kept` frees were cached; the ten after them went to operator
    // delete, so at most `kept` allocations are served from the freed blocks.
    std::vector<void*> again;
    for (std::size_t i = 0; i < kept + 10; ++i) again.push_back(cached_allocate(size));
    std::size_t reused = 0;
    for (void* b : again)
        for (std::size_t i = 0; i < kept; ++i) reused += (b == blocks[i]) ? 1 : 0;
    EXPECT_EQ(reused, kept);
    for (void* b : again) cached_free(b, size);
}

TEST(block_cache, a_set_and_get_on_a_warm_thread_takes_no_memory_from_operator_new) {
    SKIP_WITHOUT_CACHE();
    auto roundtrip = [] {
        vow::promise<int> p;
        auto f = p.get_future();
        p.set_value(7);
        return f.get();
    };
    EXPECT_EQ(roundtrip(), 7);  // warms this thread's cache
    const long before = operator_new_calls.load();
    for (int i = 0; i < 100; ++i) EXPECT_EQ(roundtrip(), 7);
    EXPECT_EQ(operator_new_calls.load() - before, 0);
}

TEST(block_cache, a_pending_chain_of_a_thousand_thens_is_rebuilt_from_the_cache) {
    SKIP_WITHOUT_CACHE();
    auto chain = [] {
        vow::promise<int> p;
        vow::future<int> f = p.get_future();
        for (int i = 0; i < 1000; ++i) f = std::move(f).then([](int v) { return v + 1; });
        p.set_value(0);
        return f.get();
    };
    EXPECT_EQ(chain(), 1000);
    const long before = operator_new_calls.load();
    EXPECT_EQ(chain(), 1000);
    EXPECT_EQ(operator_new_calls.load() - before, 0);
}

}  // namespace
