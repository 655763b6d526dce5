#include "timer_core.hpp"

#include <algorithm>
#include <new>

namespace vow::detail {

bool timer_core::push(timer_node* n, bool& became_first) {
    std::lock_guard lock(mutex);
    if (stopping) return false;
    prepare_push_locked();
    push_locked(n, became_first);
    return true;
}

timer_node* timer_core::push_new(const entry_factory& make, bool& became_first) {
    std::unique_lock lock(mutex);
    void* memory = spare_.take(make.size);
    if (memory == nullptr) {
        lock.unlock();  // the timer's thread may be waiting for the lock
        memory = ::operator new(make.size);
        lock.lock();
    }
    if (!stopping) {
        try {
            prepare_push_locked();
        } catch (...) {
            ::operator delete(memory, make.size);
            throw;
        }
    }
    timer_node* n = make.construct(memory, make.context);
    if (!stopping) {
        push_locked(n, became_first);
        return n;
    }
    lock.unlock();
    if (n->claim(timer_node::cancelled)) n->drop();
    n->release();  // the heap's, never taken
    return n;
}

void timer_core::prepare_push_locked() {
    if (heap_.size() >= sweep_at_) {
        // Sweep again once the heap doubles -- or quadruples, when this sweep
        // found few dead entries (timeouts still pending): then checking them
        // again soon would be wasted, and dead ones stay under 3/4 of the heap.
        const std::size_t before = heap_.size();
        const std::size_t live = sweep_locked();
        const std::size_t growth = (before - live) * 4 < before ? 4 : 2;
        sweep_at_ = std::max<std::size_t>(1024, growth * live);
    }
    if (heap_.size() == heap_.capacity()) heap_.reserve(std::max<std::size_t>(64, 2 * heap_.capacity()));
}

void timer_core::push_locked(timer_node* n, bool& became_first) noexcept {
    heap_.push_back(slot{n->deadline, next_sequence_++, n});
    std::push_heap(heap_.begin(), heap_.end(), later{});
    became_first = heap_.front().node == n;
}

void timer_core::release_locked(timer_node* n) noexcept {
    const std::size_t size = n->reusable_size();
    if (!spare_.wants(size)) {
        n->release();
    } else if (void* memory = n->release_keeping_memory()) {  // null: not the last reference
        spare_.keep(memory, size);
    }
}

timer_node* timer_core::top_locked() noexcept {
    while (!heap_.empty() && !heap_.front().node->is_scheduled()) release_locked(pop_top_locked());
    return heap_.empty() ? nullptr : heap_.front().node;
}

timer_node* timer_core::pop_top_locked() noexcept {
    std::pop_heap(heap_.begin(), heap_.end(), later{});
    timer_node* n = heap_.back().node;
    heap_.pop_back();
    return n;
}

std::size_t timer_core::sweep_locked() noexcept {
    // The entries are scattered and usually cold: ask for each a few slots
    // ahead of its check, so the sweep is not one cache miss after another.
    constexpr std::size_t ahead = 8;
    const std::size_t n = heap_.size();
    spare_.fit(n);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (i + ahead < n) __builtin_prefetch(heap_[i + ahead].node);
        const slot s = heap_[i];
        if (s.node->is_scheduled()) {
            heap_[kept++] = s;
        } else {
            release_locked(s.node);
        }
    }
    if (kept != n) {
        heap_.resize(kept);
        std::make_heap(heap_.begin(), heap_.end(), later{});
    }
    return kept;
}

std::vector<timer_core::slot> timer_core::stop() {
    std::vector<slot> all;
    {
        std::lock_guard lock(mutex);
        stopping = true;
        all.swap(heap_);
    }
    wakeup.notify_all();
    return all;
}

timer_core::~timer_core() {
    for (const slot& s : heap_) s.node->release();
}

}  // namespace vow::detail
