#include "timer_core.hpp"

#include <algorithm>

#include "vow/errors.hpp"

namespace vow::detail {

timer_handle timer_core::push(timer::time_point when, task t, bool& became_first) {
    auto* node = new timer_node(when, std::move(t));
    {
        std::lock_guard lock(mutex);
        if (!stopping) {
            if (heap_.size() >= sweep_at_) {
                sweep_locked();
                sweep_at_ = std::max<std::size_t>(1024, 2 * heap_.size());
            }
            node->sequence = next_sequence_++;
            heap_.push_back(node);
            std::push_heap(heap_.begin(), heap_.end(), later{});
            became_first = heap_.front() == node;
            return timer_handle(node);
        }
    }
    node->claim(timer_node::cancelled);
    task doomed = std::move(node->work);  // destroyed outside the lock
    node->release();
    node->release();
    throw executor_shut_down();
}

timer_node* timer_core::top_locked() noexcept {
    while (!heap_.empty() && !heap_.front()->is_scheduled()) pop_top_locked()->release();
    return heap_.empty() ? nullptr : heap_.front();
}

timer_node* timer_core::pop_top_locked() noexcept {
    std::pop_heap(heap_.begin(), heap_.end(), later{});
    timer_node* n = heap_.back();
    heap_.pop_back();
    return n;
}

std::size_t timer_core::sweep_locked() noexcept {
    std::size_t before = heap_.size();
    std::erase_if(heap_, [](timer_node* n) {
        if (n->is_scheduled()) return false;
        n->release();
        return true;
    });
    if (heap_.size() != before) std::make_heap(heap_.begin(), heap_.end(), later{});
    return heap_.size();
}

std::vector<timer_node*> timer_core::stop() {
    std::vector<timer_node*> all;
    {
        std::lock_guard lock(mutex);
        stopping = true;
        all.swap(heap_);
    }
    wakeup.notify_all();
    return all;
}

timer_core::~timer_core() {
    for (timer_node* n : heap_) n->release();
}

}  // namespace vow::detail
