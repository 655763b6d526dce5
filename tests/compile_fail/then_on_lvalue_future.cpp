// Compile-fail test: then() consumes its future, so it is callable on an rvalue
// only. Built with -DVOW_MISUSE=1 it must not compile; with -DVOW_MISUSE=0 (the
// control) the same file must.
#include "vow/future.hpp"

#include <utility>

#ifndef VOW_MISUSE
#error "define VOW_MISUSE to 0 or 1"
#endif

int main() {
    vow::future<int> f = vow::make_ready_future(1);
#if VOW_MISUSE
    auto g = f.then([](int v) { return v + 1; });  // the misuse: then on an lvalue
#else
    auto g = std::move(f).then([](int v) { return v + 1; });
#endif
    return g.get() == 2 ? 0 : 1;
}
