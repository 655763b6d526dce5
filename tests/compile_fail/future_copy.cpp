// Compile-fail test: vow::future is move-only. Built with -DVOW_MISUSE=1 it
// must not compile; with -DVOW_MISUSE=0 (the control) the same file must.
#include "vow/future.hpp"

#include <utility>

#ifndef VOW_MISUSE
#error "define VOW_MISUSE to 0 or 1"
#endif

int main() {
    vow::future<int> f = vow::make_ready_future(1);
#if VOW_MISUSE
    vow::future<int> copy = f;  // the misuse: a future cannot be copied
#else
    vow::future<int> copy = std::move(f);
#endif
    return copy.get() == 1 ? 0 : 1;
}
