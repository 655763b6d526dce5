// Fan-in combinators: when_all, when_all_settled, when_any, first_success
// (one header each). Each consumes its input futures and returns one future;
// cancelling that future cancels every input still running.
#pragma once

#include "vow/first_success.hpp"
#include "vow/when_all.hpp"
#include "vow/when_all_settled.hpp"
#include "vow/when_any.hpp"
