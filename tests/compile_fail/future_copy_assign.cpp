// Compile-fail test: vow::future cannot be copy-assigned. Built with
// -DVOW_MISUSE=1 it must not compile; with -DVOW_MISUSE=0 (the control) it must.
#include "vow/future.hpp"

#include <utility>

#ifndef VOW_MISUSE
#error "define VOW_MISUSE to 0 or 1"
#endif

int main() {
    vow::future<int> f = vow::make_ready_future(1);
    vow::future<int> g;
#if VOW_MISUSE
    g = f;  // the misuse: a future cannot be copied
#else
    g = std::move(f);
#endif
    return g.get() == 1 ? 0 : 1;
}
