// Names the calling thread "<base>-<index>" (for top -H and debuggers),
// shortened from the front to Linux's 15-character limit so the index stays.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <string>

namespace vow::detail {

inline void name_this_thread(const std::string& base, std::size_t index) {
    std::string full = base + "-" + std::to_string(index);
    if (full.size() > 15) full.erase(0, full.size() - 15);
    pthread_setname_np(pthread_self(), full.c_str());
}

}  // namespace vow::detail
