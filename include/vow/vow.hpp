// Everything of vow's core (not vow::http) in one include.
#pragma once

#include "vow/coro.hpp"
#include "vow/errors.hpp"
#include "vow/executor.hpp"
#include "vow/future.hpp"
#include "vow/inline_executor.hpp"
#include "vow/manual_executor.hpp"
#include "vow/promise.hpp"
#include "vow/result.hpp"
#include "vow/shared_future.hpp"
#include "vow/strand.hpp"
#include "vow/thread_pool.hpp"
#include "vow/timer.hpp"
#include "vow/unique_function.hpp"
