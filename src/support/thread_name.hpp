// Names the calling thread (for top -H, gdb and perf). Linux keeps at most 15
// characters of a thread's name.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <string>

namespace vow::detail {

// `name` must fit in 15 characters (longer names are not applied).
inline void name_this_thread(const char* name) noexcept { pthread_setname_np(pthread_self(), name); }

// "<base>-<index>", shortened from the front to 15 characters so the index stays.
inline void name_this_thread(const std::string& base, std::size_t index) {
    std::string full = base + "-" + std::to_string(index);
    if (full.size() > 15) full.erase(0, full.size() - 15);
    name_this_thread(full.c_str());
}

}  // namespace vow::detail
