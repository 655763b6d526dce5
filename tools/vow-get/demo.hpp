// vow-get --demo: starts the fault-injecting loopback server in-process and
// downloads a scripted set from it (large, slow, flaky 503 + Retry-After, reset
// mid-body then resumed, stalled until the idle timeout, 404), with the same
// progress view as a real run, then says what each case showed.
#pragma once

#include "cli.hpp"

namespace vow_get {

// 0 when every case behaved as expected (the timeout and the 404 failing
// included), 1 otherwise, 130 when interrupted.
int run_demo(const config& cfg);

}  // namespace vow_get
