#include "vow/detail/block_cache.hpp"

namespace vow::detail {

constinit thread_local block_cache this_thread_block_cache;

namespace {

// Empties this thread's cache at thread exit, and closes it: a state freed by
// a later thread_local destructor goes straight to operator delete.
struct cache_owner {
    ~cache_owner() {
        block_cache& c = this_thread_block_cache;
        c.closed = true;
        c.registered = false;
        for (auto*& head : c.heads) {
            while (head != nullptr) {
                block_cache::free_block* b = head;
                head = b->next;
                ::operator delete(b);
            }
        }
        for (auto& bytes : c.cached_bytes) bytes = 0;
        c.cached_total = 0;
    }
};

}  // namespace

void* cached_allocate_slow(std::size_t size) {
    // A miss allocates the class's full size, so that the block can serve any
    // request of its class when it comes back.
    if (block_cache::enabled && size <= block_cache_max_size) return ::operator new(block_cache::class_size(size));
    return ::operator new(size);
}

void cached_free_slow(void* block, std::size_t size) noexcept {
    block_cache& c = this_thread_block_cache;
    if (block_cache::enabled && size <= block_cache_max_size && !c.registered && !c.closed) {
        c.registered = true;
        thread_local cache_owner owner;  // its destructor empties the cache
        cached_free(block, size);        // now armed: cached (the cache is empty)
        return;
    }
    ::operator delete(block);
}

}  // namespace vow::detail
