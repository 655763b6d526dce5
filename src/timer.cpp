#include "vow/timer.hpp"

#include <pthread.h>

#include "timer_core.hpp"

namespace vow {

// ---- timer_handle ----------------------------------------------------------

bool timer_handle::cancel() const {
    if (!node_) return false;
    std::shared_ptr<detail::timer_core> core = node_->owner.lock();
    if (!core) return false;
    task doomed;
    {
        std::lock_guard lock(core->mutex);
        doomed = core->remove_locked(*node_);
    }
    // A cancelled earliest deadline leaves the real timer's thread waking up
    // early once and going back to sleep: cheaper than waking it now.
    return static_cast<bool>(doomed);  // destroyed unrun here, outside the lock
}

bool timer_handle::pending() const {
    if (!node_) return false;
    std::shared_ptr<detail::timer_core> core = node_->owner.lock();
    if (!core) return false;
    std::lock_guard lock(core->mutex);
    return node_->heap_index != detail::timer_node::not_queued;
}

// ---- real_timer ------------------------------------------------------------

real_timer::real_timer() : core_(std::make_shared<detail::timer_core>()) {
    thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "vow-timer");
        run();
    });
}

real_timer::~real_timer() {
    std::vector<task> doomed = core_->stop();
    if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();  // destroyed from one of its own tasks
    } else {
        thread_.join();
    }
}

timer::time_point real_timer::now() const { return clock::now(); }

timer_handle real_timer::schedule_at(time_point when, task t) {
    bool became_first = false;
    timer_handle h = core_->push(when, std::move(t), became_first);
    if (became_first) core_->wakeup.notify_one();
    return h;
}

std::size_t real_timer::pending() const {
    std::lock_guard lock(core_->mutex);
    return core_->size_locked();
}

void real_timer::run() {
    // Holds its own reference: the timer may be destroyed by one of its tasks.
    std::shared_ptr<detail::timer_core> core = core_;
    std::unique_lock lock(core->mutex);
    while (!core->stopping) {
        detail::timer_node* first = core->top_locked();
        if (first == nullptr) {
            core->wakeup.wait(lock);
            continue;
        }
        if (clock::now() < first->deadline) {
            core->wakeup.wait_until(lock, first->deadline);
            continue;
        }
        task due = core->pop_top_locked();
        lock.unlock();
        due();
        due.reset();
        lock.lock();
    }
}

// ---- manual_timer ----------------------------------------------------------

manual_timer::manual_timer() : core_(std::make_shared<detail::timer_core>()) {
    core_->virtual_now = time_point{} + std::chrono::hours(1);
}

manual_timer::~manual_timer() { core_->stop(); }

timer::time_point manual_timer::now() const {
    std::lock_guard lock(core_->mutex);
    return core_->virtual_now;
}

timer_handle manual_timer::schedule_at(time_point when, task t) {
    bool became_first = false;
    return core_->push(when, std::move(t), became_first);
}

std::size_t manual_timer::pending() const {
    std::lock_guard lock(core_->mutex);
    return core_->size_locked();
}

std::size_t manual_timer::advance(duration d) { return advance_to(now() + d); }

std::size_t manual_timer::advance_to(time_point target) {
    std::size_t fired = 0;
    for (;;) {
        task due;
        {
            std::lock_guard lock(core_->mutex);
            detail::timer_node* first = core_->top_locked();
            if (first == nullptr || first->deadline > target) {
                if (core_->virtual_now < target) core_->virtual_now = target;
                return fired;
            }
            if (core_->virtual_now < first->deadline) core_->virtual_now = first->deadline;
            due = core_->pop_top_locked();
        }
        due();
        ++fired;
    }
}

std::size_t manual_timer::run_due() { return advance_to(now()); }

timer::time_point manual_timer::next_deadline() const {
    std::lock_guard lock(core_->mutex);
    detail::timer_node* first = core_->top_locked();
    return first ? first->deadline : time_point::max();
}

}  // namespace vow
