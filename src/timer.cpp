#include "vow/timer.hpp"

#include <time.h>

#include "support/thread_name.hpp"
#include "timer_core.hpp"
#include "vow/errors.hpp"

namespace vow {

namespace {

// Drops and releases entries taken out of a stopped core (outside its lock).
void cancel_all(std::vector<detail::timer_core::slot> entries) {
    for (const auto& e : entries) {
        if (e.node->claim(detail::timer_node::cancelled)) e.node->drop();
        e.node->release();
    }
}

// Claims and runs a popped entry; a cancelled one is just released.
bool fire(detail::timer_node* n) {
    struct release_after {
        detail::timer_node* n;
        ~release_after() { n->release(); }
    } guard{n};  // also when the task throws
    if (!n->claim(detail::timer_node::fired)) return false;
    n->fire();
    return true;
}

// A task wrapped in an entry; the handle adopts the caller's reference.
timer_handle push_task(detail::timer_core& core, timer::time_point when, task t, bool& became_first) {
    auto* node = new detail::task_node(when, std::move(t));
    if (core.push(node, became_first)) return detail::timer_core::make_handle(node);
    node->claim(detail::timer_node::cancelled);
    node->drop();  // destroyed outside the lock
    node->release();
    node->release();
    throw executor_shut_down();
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
    node_->drop();  // destroyed unrun here, outside any lock
    return true;
}

bool timer_handle::pending() const { return node_ && node_->is_scheduled(); }

// ---- real_timer ------------------------------------------------------------

real_timer::real_timer() : core_(std::make_shared<detail::timer_core>()) {
    thread_ = std::thread([core = core_] {
        detail::name_this_thread("vow-timer");
        std::unique_lock lock(core->mutex);
        while (!core->stopping) {
            detail::timer_node* first = core->top_locked();
            if (first == nullptr) {
                core->wakeup.wait(lock);
            } else if (const time_point deadline = core->top_deadline_locked(); clock::now() < deadline) {
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

namespace {

// The coarse clock shares steady_clock's origin (CLOCK_MONOTONIC) and lags it
// by less than one tick; reading it costs a fraction of a precise read, which
// is a large part of an otherwise ~50 ns timeout.
timer::duration coarse_tick() noexcept {
    timespec res{};
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) return timer::duration::max();
    return std::chrono::seconds(res.tv_sec) + std::chrono::nanoseconds(res.tv_nsec);
}

}  // namespace

timer::time_point real_timer::timeout_deadline(duration d) const {
    // Long timeouts are approximate anyway; short ones stay exact.
    static const duration tick = coarse_tick();
    if (d < std::chrono::seconds(1) || tick > std::chrono::milliseconds(20)) return deadline_after(d);
    timespec ts{};
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) return deadline_after(d);
    const time_point coarse_now{std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)};
    // Two ticks of margin: never earlier than a precise now() + d.
    return saturating_add(saturating_add(coarse_now, d), 2 * tick);
}

timer_handle real_timer::schedule_at(time_point when, task t) {
    bool became_first = false;
    timer_handle h = push_task(*core_, when, std::move(t), became_first);
    if (became_first) core_->wakeup.notify_one();
    return h;
}

detail::timer_node* real_timer::schedule_entry(const detail::entry_factory& make) {
    bool became_first = false;
    detail::timer_node* entry = core_->push_new(make, became_first);
    if (became_first) core_->wakeup.notify_one();
    return entry;
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
    return push_task(*core_, when, std::move(t), became_first);
}

detail::timer_node* manual_timer::schedule_entry(const detail::entry_factory& make) {
    bool became_first = false;
    return core_->push_new(make, became_first);
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
