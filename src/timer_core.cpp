#include "timer_core.hpp"

#include "vow/errors.hpp"

namespace vow::detail {

timer_handle timer_core::push(timer::time_point when, task t, bool& became_first) {
    auto node = std::make_shared<timer_node>();
    node->deadline = when;
    node->work = std::move(t);
    node->owner = weak_from_this();
    {
        std::lock_guard lock(mutex);
        if (!stopping) {
            node->sequence = next_sequence_++;
            heap_.push_back(node);
            node->heap_index = heap_.size() - 1;
            sift_up(heap_.size() - 1);
            became_first = heap_.front() == node;
            return timer_handle(std::move(node));
        }
    }
    node->work.reset();  // outside the lock
    throw executor_shut_down();
}

task timer_core::pop_top_locked() { return erase_at(0); }

task timer_core::remove_locked(timer_node& n) {
    if (n.heap_index == timer_node::not_queued) return {};
    return erase_at(n.heap_index);
}

std::vector<task> timer_core::stop() {
    std::vector<task> doomed;
    std::lock_guard lock(mutex);
    stopping = true;
    doomed.reserve(heap_.size());
    for (auto& n : heap_) {
        n->heap_index = timer_node::not_queued;
        doomed.push_back(std::move(n->work));
    }
    heap_.clear();
    wakeup.notify_all();
    return doomed;
}

task timer_core::erase_at(std::size_t i) {
    std::shared_ptr<timer_node> removed = std::move(heap_[i]);
    removed->heap_index = timer_node::not_queued;
    std::shared_ptr<timer_node> last = std::move(heap_.back());
    heap_.pop_back();
    if (i < heap_.size()) {
        place(i, std::move(last));
        if (i > 0 && earlier(*heap_[i], *heap_[(i - 1) / 2])) {
            sift_up(i);
        } else {
            sift_down(i);
        }
    }
    return std::move(removed->work);
}

void timer_core::place(std::size_t i, std::shared_ptr<timer_node> n) noexcept {
    n->heap_index = i;
    heap_[i] = std::move(n);
}

void timer_core::sift_up(std::size_t i) noexcept {
    std::shared_ptr<timer_node> moving = std::move(heap_[i]);
    while (i > 0) {
        std::size_t parent = (i - 1) / 2;
        if (!earlier(*moving, *heap_[parent])) break;
        place(i, std::move(heap_[parent]));
        i = parent;
    }
    place(i, std::move(moving));
}

void timer_core::sift_down(std::size_t i) noexcept {
    const std::size_t n = heap_.size();
    if (i >= n) return;
    std::shared_ptr<timer_node> moving = std::move(heap_[i]);
    for (;;) {
        std::size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && earlier(*heap_[child + 1], *heap_[child])) ++child;
        if (!earlier(*heap_[child], *moving)) break;
        place(i, std::move(heap_[child]));
        i = child;
    }
    place(i, std::move(moving));
}

}  // namespace vow::detail
