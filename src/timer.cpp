#include "vow/timer.hpp"

#include <pthread.h>

#include "timer_core.hpp"

namespace vow {

namespace {

// Cancels and releases entries taken out of a stopped core (outside its lock).
void cancel_all(std::vector<detail::timer_node*> nodes) {
    for (detail::timer_node* n : nodes) {
        if (n->claim(detail::timer_node::cancelled)) {
            task doomed = std::move(n->work);
        }
        n->release();
    }
}

// Claims and runs a popped entry; a cancelled one is just released.
bool fire(detail::timer_node* n) {
    bool ran = false;
    if (n->claim(detail::timer_node::fired)) {
        task due = std::move(n->work);
        due();
        ran = true;
    }
    n->release();
    return ran;
}

}  // namespace

// ---- timer_handle ----------------------------------------------------------

timer_handle::timer_handle(const timer_handle& other) noexcept : node_(other.node_) {
    if (node_) node_->add_ref();
}

timer_handle::~timer_handle() {
    if (node_) node_->release();
}

bool timer_handle::cancel() const {
    if (!node_ || !node_->claim(detail::timer_node::cancelled)) return false;
    task doomed = std::move(node_->work);  // destroyed unrun here, outside any lock
    return true;
}

bool timer_handle::pending() const { return node_ && node_->is_scheduled(); }

// ---- real_timer ------------------------------------------------------------

real_timer::real_timer() : core_(std::make_shared<detail::timer_core>()) {
    thread_ = std::thread([core = core_] {
        pthread_setname_np(pthread_self(), "vow-timer");
        std::unique_lock lock(core->mutex);
        while (!core->stopping) {
            detail::timer_node* first = core->top_locked();
            if (first == nullptr) {
                core->wakeup.wait(lock);
            } else if (const time_point deadline = first->deadline; clock::now() < deadline) {
                // A copy: wait_until reads it again after waking, when `first`
                // may have been swept or freed by stop() while the lock was free.
                core->wakeup.wait_until(lock, deadline);
            } else {
                detail::timer_node* due = core->pop_top_locked();
                lock.unlock();
                fire(due);
                lock.lock();
            }
        }
    });
}

real_timer::~real_timer() {
    cancel_all(core_->stop());
    if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();  // destroyed from one of its own tasks; the thread holds the core
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
    return core_->sweep_locked();
}

// ---- manual_timer ----------------------------------------------------------

manual_timer::manual_timer() : core_(std::make_shared<detail::timer_core>()) {
    core_->virtual_now = time_point{} + std::chrono::hours(1);
}

manual_timer::~manual_timer() { cancel_all(core_->stop()); }

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
    return core_->sweep_locked();
}

std::size_t manual_timer::advance(duration d) { return advance_to(now() + d); }

std::size_t manual_timer::advance_to(time_point target) {
    std::size_t fired = 0;
    for (;;) {
        detail::timer_node* due = nullptr;
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
        if (fire(due)) ++fired;
    }
}

std::size_t manual_timer::run_due() { return advance_to(now()); }

timer::time_point manual_timer::next_deadline() const {
    std::lock_guard lock(core_->mutex);
    detail::timer_node* first = core_->top_locked();
    return first ? first->deadline : time_point::max();
}

}  // namespace vow
