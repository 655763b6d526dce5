// A spin-wait hint for the busy loops of the pool and of blocking waits.
#pragma once

namespace vow::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

}  // namespace vow::detail
