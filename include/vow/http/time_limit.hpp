// time_limit: how the client's timeouts and intervals hold a duration. Any
// std::chrono::duration converts to it without overflow: a value too large
// to add to the steady clock's current time (std::chrono::seconds::max(),
// hours(1'000'000'000), duration<double>(1e30)) becomes no_time_limit, and
// a negative or NaN one becomes zero. So a huge timeout means "no limit to
// speak of", never an overflow into an immediate timeout.
#pragma once

#include <chrono>

namespace vow::http {

// About 100 years: far beyond any download, yet the steady clock's current
// time plus this still fits its 64-bit count of nanoseconds.
inline constexpr std::chrono::steady_clock::duration no_time_limit = std::chrono::hours(24 * 365 * 100);

// A steady_clock::duration in [0, no_time_limit]. It is one (a derived
// class), so it works wherever a duration does: arithmetic with time points,
// comparisons, duration_cast, timers' expires_after.
class time_limit : public std::chrono::steady_clock::duration {
public:
    using base = std::chrono::steady_clock::duration;

    constexpr time_limit() noexcept : base(base::zero()) {}
    // Implicit, as a std::chrono::duration's own conversions are.
    template <class Rep, class Period>
    constexpr time_limit(std::chrono::duration<Rep, Period> d) noexcept : base(saturated(d)) {}

private:
    template <class Rep, class Period>
    static constexpr base saturated(std::chrono::duration<Rep, Period> d) noexcept {
        // Compared in long double seconds first: no integer conversion that could overflow.
        const long double seconds = std::chrono::duration<long double>(d).count();
        const long double ceiling = std::chrono::duration<long double>(no_time_limit).count();
        if (!(seconds > 0)) return base::zero();  // negative, zero or NaN
        if (seconds >= ceiling) return no_time_limit;
        return std::chrono::duration_cast<base>(d);  // in range: exact for integer counts
    }
};

}  // namespace vow::http
