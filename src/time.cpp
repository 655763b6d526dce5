#include "vow/time.hpp"

namespace vow {

namespace {

// Fulfils the sleep's future; destroyed unrun (timer gone) it fails it.
class wake_task {
public:
    explicit wake_task(detail::state<void>* s) noexcept : s_(s) {}
    wake_task(wake_task&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    wake_task& operator=(wake_task&&) = delete;
    ~wake_task() {
        if (!s_) return;
        s_->fail(std::make_exception_ptr(executor_shut_down()));  // no-op after a cancel
        s_->release();
    }
    void operator()() {
        detail::state<void>* s = std::exchange(s_, nullptr);
        s->set_value();
        s->release();
    }

private:
    detail::state<void>* s_;  // the producer's reference
};

}  // namespace

future<void> sleep_until(timer::time_point when, timer& t, executor& ex) {
    auto* s = detail::state<void>::create();
    s->bind(ex);
    future<void> f = detail::then_access<void>::make(detail::state_ptr<detail::state<void>>(s));
    try {
        timer_handle h = t.schedule_at(when, wake_task(s));
        s->on_cancel([h] { h.cancel(); });
    } catch (const executor_shut_down&) {
        // The timer refused: wake_task's destructor failed `f` with executor_shut_down.
    }
    return f;
}

future<void> sleep_for(timer::duration d, timer& t, executor& ex) { return sleep_until(t.deadline_after(d), t, ex); }

}  // namespace vow
