// Time combinators: sleep_for / sleep_until give a future that completes
// later; timeout(f, d) (the same as f.within(d)) fails with timeout_error at
// the deadline and cancels f.
#pragma once

#include <chrono>

#include "vow/executor.hpp"
#include "vow/future.hpp"
#include "vow/timeout.hpp"  // timeout(f, d)
#include "vow/timer.hpp"

namespace vow {

// Completes after `d` on `t`; its continuations run on `ex`. Cancelling it
// removes the timer entry at once. If `t` is destroyed first, the future fails
// with executor_shut_down.
future<void> sleep_for(timer::duration d, timer& t = default_timer(), executor& ex = default_executor());
future<void> sleep_until(timer::time_point when, timer& t = default_timer(), executor& ex = default_executor());


}  // namespace vow
