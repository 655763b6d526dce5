#include "format.hpp"

#include <cstdio>

namespace vow_get {

std::string format_bytes(std::uint64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double v = static_cast<double>(bytes);
    int unit = 0;
    while (v >= 1024 && unit < 4) {
        v /= 1024;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[unit]);
    return buf;
}

std::string format_rate(double bytes_per_second) {
    if (bytes_per_second < 0) bytes_per_second = 0;
    return format_bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

std::string format_clock(std::chrono::seconds d) {
    long long s = d.count() < 0 ? 0 : d.count();
    char buf[32];
    if (s >= 3600) {
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    } else {
        std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
    }
    return buf;
}

std::string format_seconds(std::chrono::steady_clock::duration d) {
    double s = std::chrono::duration<double>(d).count();
    char buf[32];
    if (s < 1) {
        std::snprintf(buf, sizeof buf, "%.0f ms", s * 1000);
    } else {
        std::snprintf(buf, sizeof buf, "%.1f s", s);
    }
    return buf;
}

}  // namespace vow_get
