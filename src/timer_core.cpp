#include "timer_core.hpp"

#include <algorithm>

namespace vow::detail {

bool timer_core::push(timer_node* n, bool& became_first) {
    std::lock_guard lock(mutex);
    if (stopping) return false;
    if (heap_.size() >= sweep_at_) {
        // Sweep again once the heap doubles -- or quadruples, when this sweep
        // found few dead entries (timeouts still pending): then checking them
        // again soon would be wasted, and dead ones stay under 3/4 of the heap.
        const std::size_t before = heap_.size();
        const std::size_t live = sweep_locked();
        const std::size_t growth = (before - live) * 4 < before ? 4 : 2;
        sweep_at_ = std::max<std::size_t>(1024, growth * live);
    }
    heap_.push_back(slot{n->deadline, next_sequence_++, n});
    std::push_heap(heap_.begin(), heap_.end(), later{});
    became_first = heap_.front().node == n;
    return true;
}

void timer_core::push_entry(timer_node* n, bool& became_first) {
    if (push(n, became_first)) return;
    if (n->claim(timer_node::cancelled)) n->drop();  // outside the lock
    n->release();                                     // the heap's, never taken
}

timer_node* timer_core::top_locked() noexcept {
    while (!heap_.empty() && !heap_.front().node->is_scheduled()) pop_top_locked()->release();
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
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (i + ahead < n) __builtin_prefetch(heap_[i + ahead].node);
        const slot s = heap_[i];
        if (s.node->is_scheduled()) {
            heap_[kept++] = s;
        } else {
            s.node->release();
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
