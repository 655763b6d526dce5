// Memory for shared states: a small per-thread cache of freed blocks in front
// of operator new. A future's state is allocated and freed once per promise,
// then, or combinator input; taking a block the same thread freed a moment
// ago costs a few loads and stores instead of a trip through malloc.
#pragma once

#include <cstddef>
#include <new>

namespace vow::detail {

// Blocks of at most block_cache_max_size bytes come from (and go back to) the
// calling thread's cache, one list per 32-byte size class of at most 1 MiB,
// 2 MiB per thread in all; larger blocks, a full cache, and every block in a build
// with AddressSanitizer (which must see each free) use operator new/delete
// directly. A block may be freed on any thread: it then joins that thread's
// cache. A thread's cache is emptied when the thread exits.
inline constexpr std::size_t block_cache_max_size = 256;

struct block_cache {
    static constexpr std::size_t class_width = 32;
    static constexpr std::size_t class_count = block_cache_max_size / class_width;
    // What one thread may keep: per class, enough for a burst of ten
    // thousand futures (a when_all over 10,000 inputs) to go back to the
    // cache rather than to malloc; over all classes, a bound on what an idle
    // thread holds on to. A thread keeps at most what it used at its peak.
    static constexpr std::size_t max_cached_bytes_per_class = 1024 * 1024;
    static constexpr std::size_t max_cached_bytes = 2 * 1024 * 1024;
#if defined(__SANITIZE_ADDRESS__)
    static constexpr bool enabled = false;  // every free must reach ASan's allocator
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    static constexpr bool enabled = false;
#else
    static constexpr bool enabled = true;
#endif
#else
    static constexpr bool enabled = true;
#endif

    struct free_block {
        free_block* next;
    };

    // Index of the class whose blocks are (index + 1) * class_width bytes.
    static constexpr std::size_t class_of(std::size_t size) noexcept { return (size - 1) / class_width; }
    static constexpr std::size_t class_size(std::size_t size) noexcept {
        return (class_of(size) + 1) * class_width;
    }

    free_block* heads[class_count] = {};
    std::size_t cached_bytes[class_count] = {};  // per class
    std::size_t cached_total = 0;
    bool registered = false;  // the thread-exit cleanup is armed (src/block_cache.cpp)
    bool closed = false;      // the thread is exiting: no more caching
};

// Trivially constructed and destroyed, so that reaching it needs no guard.
extern constinit thread_local block_cache this_thread_block_cache;

void* cached_allocate_slow(std::size_t size);             // a miss, or too large
void cached_free_slow(void* block, std::size_t size) noexcept;  // full, closed, unarmed, or too large

inline void* cached_allocate(std::size_t size) {
    if constexpr (block_cache::enabled) {
        if (size <= block_cache_max_size) {
            block_cache& c = this_thread_block_cache;
            const std::size_t k = block_cache::class_of(size);
            if (block_cache::free_block* b = c.heads[k]) {
                c.heads[k] = b->next;
                c.cached_bytes[k] -= block_cache::class_size(size);
                c.cached_total -= block_cache::class_size(size);
                return b;
            }
        }
    }
    return cached_allocate_slow(size);
}

inline void cached_free(void* block, std::size_t size) noexcept {
    if constexpr (block_cache::enabled) {
        block_cache& c = this_thread_block_cache;
        const std::size_t k = block_cache::class_of(size);
        const std::size_t bytes = block_cache::class_size(size);
        if (size <= block_cache_max_size && c.registered &&
            c.cached_bytes[k] + bytes <= block_cache::max_cached_bytes_per_class &&
            c.cached_total + bytes <= block_cache::max_cached_bytes) {
            c.heads[k] = ::new (block) block_cache::free_block{c.heads[k]};
            c.cached_bytes[k] += bytes;
            c.cached_total += bytes;
            return;
        }
    }
    cached_free_slow(block, size);
}

}  // namespace vow::detail
