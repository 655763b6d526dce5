// timeout(f, d) / f.within(d): f's own result, or timeout_error at the
// deadline, when f is cancelled. Built on vow/extend.hpp only.
//
// The timed future keeps its own shared state: a timeout entry watches it in
// place (ext::input::watch) and is at the same time the timer's entry
// (ext::timer_entry), and whichever comes first wins -- the state completing
// (the entry then cancels itself: one CAS) or the deadline (the entry then
// expires the state with timeout_error, which tells its work to stop first,
// as cancel() does). At most one allocation per timeout (real_timer and
// manual_timer build the entry in the memory of one they released before);
// nothing at all for a future that is done already.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <utility>

#include "vow/future.hpp"  // first: it includes this header at its end
#include "vow/errors.hpp"
// The part of vow/extend.hpp that needs nothing above the futures layer:
// vow/future.hpp includes this header at its end, for within().
#include "vow/detail/extend_core.hpp"
#include "vow/timer.hpp"

namespace vow {

// The same result as `f`, or timeout_error if it is not done within `d` (f is
// then cancelled: its stop token, on_cancel hooks and what it waits on). The
// deadline runs on `t`.
template <class T, class Rep, class Period>
future<T> timeout(future<T> f, std::chrono::duration<Rep, Period> d, timer& t = default_timer()) {
    return std::move(f).within(d, t);
}

namespace timing {

// References: the entry's two are the timer's (heap, or the task of a timer
// that takes only tasks) and the timed state's callback list (released in
// on_arrival). The entry's input shares the timed state from its birth: when
// the state completes first, on_arrival (which won the entry's claim) lets it
// go at once; after the deadline (or a drop) the entry keeps it until it is
// destroyed -- the claim's winner is the only one to touch it, and a fired or
// dropped entry is never destroyed under the timer's lock.
template <class T>
class timeout_entry final : public ext::timer_entry, public ext::input<T> {
public:
    // Returns `f` itself, now timed.
    static future<T> start(future<T>&& f, timer& t, timer::time_point deadline) {
        if (f.is_ready()) return std::move(f);  // nothing left to time out
        timeout_entry* e = ext::schedule_entry<timeout_entry>(t, deadline, f);
        if (e == nullptr) {  // a timer that takes only tasks
            e = new timeout_entry(deadline, 0, f);
            e->schedule_foreign(t, deadline);
        }
        // Listened to last: on_arrival reads foreign_, which is set by now. If
        // the deadline fired meanwhile, on_arrival runs at once and finds the
        // entry claimed.
        e->listen();
        return std::move(f);
    }

    timeout_entry(timer::time_point deadline, std::uint16_t block_size, const future<T>& f) noexcept
        : ext::timer_entry(deadline, block_size) {
        this->watch(f);
    }

private:
    // The state completed (on the completing thread), or the deadline expired it.
    void on_arrival() noexcept override {
        if (claim(cancelled)) {  // the common case: the deadline never fires
            this->reset();       // the timed state's reference
            if (has_foreign_) foreign_.cancel();  // a foreign timer's task: free it now
        }
        release();  // the list's reference
    }

    // At the deadline, on the timer's thread.
    void fire() override { this->expire(std::make_exception_ptr(timeout_error("vow: deadline exceeded"))); }
    // The timer stopped (or refused the entry): the deadline can never fire,
    // and the future must not wait forever for it.
    void drop() noexcept override { this->expire(std::make_exception_ptr(executor_shut_down())); }

    // Schedules this entry as a task of a timer that takes only tasks; the
    // task holds the timer's reference.
    void schedule_foreign(timer& t, timer::time_point deadline) {
        try {
            foreign_ = t.schedule_at(deadline, foreign_task(this));
            has_foreign_ = true;
        } catch (const executor_shut_down&) {
            // Refused: foreign_task's destructor dropped the entry, which
            // expired the state with executor_shut_down.
        } catch (...) {
            // Never listened to: on_arrival will not come. The task had the timer's.
            release();
            throw;
        }
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

    bool has_foreign_ = false;  // written before listen; read by on_arrival
    timer_handle foreign_;      // the same (only for a timer that takes tasks only)
};

}  // namespace timing

template <class T>
template <class Rep, class Period>
future<T> future<T>::within(std::chrono::duration<Rep, Period> d, timer& t) && {
    if (!valid()) throw usage_error("vow: use of an invalid (moved-from or consumed) future");
    auto deadline = ext::timeout_deadline(t, std::chrono::ceil<timer::duration>(d));
    return timing::timeout_entry<T>::start(std::move(*this), t, deadline);
}

}  // namespace vow
