#include "vow/executor.hpp"

#include "vow/thread_pool.hpp"
#include "vow/timer.hpp"

namespace vow {

executor& default_executor() {
    static thread_pool pool(0, "vow-default");
    return pool;
}

timer& default_timer() {
    // The timer's thread hands work to the default pool (a retry's next
    // attempt, a sleep's completion), so at exit the pool must outlive it:
    // built first, the pool is destroyed after the timer has joined its thread.
    (void)default_executor();
    static real_timer shared;
    return shared;
}

}  // namespace vow
