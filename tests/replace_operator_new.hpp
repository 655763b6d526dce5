// Replaces the global operator new and delete of a test binary, so that the
// binary can count its allocations. Include it in one source file of the
// binary, after declaring `void* counted_allocation(std::size_t)` (which
// counts and allocates with malloc); delete frees with free.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

// Not inlined: g++ would then pair a new-expression with free() and warn.
[[gnu::noinline]] void* operator new(std::size_t n) { return counted_allocation(n); }
[[gnu::noinline]] void* operator new[](std::size_t n) { return counted_allocation(n); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
