// The exit codes vow-get promises to scripts.
#pragma once

namespace vow_get {

inline constexpr int exit_ok = 0;           // every item succeeded
inline constexpr int exit_some_failed = 1;  // at least one item failed (each reported)
inline constexpr int exit_usage = 2;        // bad command line
inline constexpr int exit_interrupted = 130;  // SIGINT/SIGTERM: 128 + SIGINT, like a shell

}  // namespace vow_get
