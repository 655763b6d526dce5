// The deadline behind future<T>::within / vow::timeout. The timed future keeps
// its own shared state: a timeout entry is attached to it as a node and
// scheduled on the timer, and whichever comes first wins -- the state
// completing (the entry then cancels itself: one CAS) or the deadline (the
// entry then claims the state with timeout_error and sends the stop request
// upstream, as cancel() does). At most one allocation per timeout (real_timer
// and manual_timer build the entry in the memory of one they released before);
// nothing at all for a future that is done already.
#pragma once

#include <cstdint>
#include <new>

#include "vow/detail/future_state.hpp"
#include "vow/detail/timer_node.hpp"
#include "vow/errors.hpp"
#include "vow/timer.hpp"

namespace vow::detail {

// References: the entry's two are the timer's (heap, or the task of a foreign
// timer) and the state's callback list (released in on_ready). The entry also
// holds one on the state, released by whoever wins the entry's claim: on_ready
// when the state completed first, fire() or drop() otherwise.
template <class T>
class timeout_entry final : public timer_node, public callback_node {
public:
    // Returns `s` itself, now timed.
    static state_ptr<state<T>> start(state_ptr<state<T>> s, timer& t, timer::time_point deadline) {
        if (s->is_ready()) return s;  // nothing left to time out
        s->add_ref();                 // the entry's: from its birth on, the entry releases it
        birth b{deadline, s.get()};
        timeout_entry* e = nullptr;
        bool foreign = false;
        try {
            e = static_cast<timeout_entry*>(
                timer_access::schedule_entry(t, entry_factory{sizeof(timeout_entry), &construct, &b}));
            if (e == nullptr) {  // a timer that takes only tasks
                e = new timeout_entry(deadline, s.get());
                foreign = true;
            }
        } catch (...) {
            s->release();  // no entry was built
            throw;
        }
        if (foreign) schedule_foreign(e, t, deadline);
        // Attached last: on_ready reads foreign_, which is set by now. If the
        // deadline fired meanwhile, on_ready runs at once and finds it claimed.
        s->attach(e);
        return s;
    }

    // The state completed (on the completing thread).
    void on_ready(state_base&) noexcept override {
        if (claim(cancelled)) {  // the common case: the deadline never fires
            state_->release();
            if (has_foreign_) foreign_.cancel();  // a foreign timer's task: free it now
        }
        release();  // the list's reference
    }

    // At the deadline, on the timer's thread.
    void fire() override { expire(std::make_exception_ptr(timeout_error("vow: deadline exceeded"))); }
    // The timer stopped (or refused the entry): the deadline can never fire, and
    // the future must not wait forever for it.
    void drop() noexcept override { expire(std::make_exception_ptr(executor_shut_down())); }

private:
    timeout_entry(timer::time_point deadline, state<T>* s) noexcept
        : timer_node(deadline, sizeof(timeout_entry)), state_(s) {
        static_assert(sizeof(timeout_entry) <= UINT16_MAX);  // fits timer_node's block size
    }

    struct birth {
        timer::time_point deadline;
        state<T>* s;
    };
    static timer_node* construct(void* memory, void* context) noexcept {
        const auto* b = static_cast<const birth*>(context);
        return ::new (memory) timeout_entry(b->deadline, b->s);
    }

    // Schedules `e` as a task of a timer that takes only tasks; the task holds
    // the timer's reference.
    static void schedule_foreign(timeout_entry* e, timer& t, timer::time_point deadline) {
        try {
            e->foreign_ = t.schedule_at(deadline, foreign_task(e));
            e->has_foreign_ = true;
        } catch (const executor_shut_down&) {
            // Refused: foreign_task's destructor dropped the entry, which failed
            // the state with executor_shut_down and cancelled it.
        } catch (...) {
            e->release();  // the list's, never attached; the task had the timer's
            throw;
        }
    }

    // Claim, stop what the state waits on, then publish: whoever sees the
    // timeout sees the work already told to stop. Releases the entry's state
    // reference.
    void expire(std::exception_ptr e) noexcept {
        state<T>* s = state_;
        if (s->try_claim()) {
            s->store_exception(std::move(e));
            s->request_stop_claimed();
            s->publish();  // runs our on_ready, which finds the claim taken
        }
        s->release();
    }

    // Carries the entry through a timer that takes only tasks (holds the
    // timer's reference of the entry).
    class foreign_task {
    public:
        explicit foreign_task(timeout_entry* e) noexcept : e_(e) {}
        foreign_task(foreign_task&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
        foreign_task& operator=(foreign_task&&) = delete;
        ~foreign_task() {
            if (!e_) return;
            if (e_->claim(cancelled)) e_->drop();
            e_->release();
        }
        void operator()() {
            timeout_entry* e = std::exchange(e_, nullptr);
            if (e->claim(fired)) e->fire();
            e->release();
        }

    private:
        timeout_entry* e_;
    };

    state<T>* state_;            // the entry's reference; see above
    bool has_foreign_ = false;   // written before attach; read by on_ready
    timer_handle foreign_;       // the same (only for a timer that takes tasks only)
};

}  // namespace vow::detail
