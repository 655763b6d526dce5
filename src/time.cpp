#include "vow/time.hpp"

#include "vow/extend.hpp"

namespace vow {

future<void> sleep_until(timer::time_point when, timer& t, executor& ex) {
    auto [done, out] = ext::make_completion<void>(ex);
    ext::completion_view<void> view = done;  // valid while `out` holds the state
    try {
        // The task owns the producer's reference; destroyed unrun (the timer
        // went away, or the cancel below) it fails the sleep with
        // executor_shut_down -- a no-op after a cancel.
        timer_handle h = t.schedule_at(when, ext::task_for(std::move(done), [](ext::completion<void>& d) { d.set_value(); }));
        view.on_cancel([h] { h.cancel(); });
    } catch (const executor_shut_down&) {
        // The timer refused: the task's destructor failed `out` with executor_shut_down.
    }
    return std::move(out);
}

future<void> sleep_for(timer::duration d, timer& t, executor& ex) { return sleep_until(t.deadline_after(d), t, ex); }

}  // namespace vow
