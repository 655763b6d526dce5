// A sequentially consistent fence that ThreadSanitizer understands.
//
// TSan does not model std::atomic_thread_fence (g++ says so with -Wtsan), so
// under TSan the fence is a read-modify-write of one shared atomic instead:
// those are totally ordered and synchronise, which gives the same guarantee in
// a form TSan follows. Other code's fences (moodycamel's queue) are covered by
// the tests' suppressions (tests/tsan.supp).
#pragma once

#include <atomic>

namespace vow::detail {

// Use in pairs: "write; full_fence(); read" on one side and the same on the
// other, so that at least one side sees the other's write.
inline void full_fence() noexcept {
#if defined(__SANITIZE_THREAD__)
    static std::atomic<int> fence_word{0};
    fence_word.fetch_add(0, std::memory_order_seq_cst);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace vow::detail
