#include "vow/executor.hpp"

#include "vow/thread_pool.hpp"
#include "vow/timer.hpp"

namespace vow {

executor& default_executor() {
    static thread_pool pool(0, "vow-default");
    return pool;
}

timer& default_timer() {
    static real_timer shared;
    return shared;
}

}  // namespace vow
