// VOW_BENCH_SERVER_CPU=N gives the HTTP cases a machine split in two: the
// loopback server's threads run on CPU N only, every other thread of the
// process on the other CPUs. That is the client's view of a real server (its
// work happens elsewhere); without it the scheduler places the server and the
// client's threads on shared CPUs afresh in every run, which swings figures
// by tens of percent whichever client is measured.
#pragma once

#include <dirent.h>
#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

namespace vow_bench {

class cpu_split {
public:
    // Applies the split (if asked for) to every thread alive now; threads
    // created later inherit their creator's CPUs.
    cpu_split() : server_cpu_(requested()) {
        if (server_cpu_) apply(*server_cpu_);
    }
    ~cpu_split() {
        if (server_cpu_) apply(std::nullopt);
    }
    cpu_split(const cpu_split&) = delete;
    cpu_split& operator=(const cpu_split&) = delete;

private:
    static std::optional<int> requested() {
        const char* v = std::getenv("VOW_BENCH_SERVER_CPU");
        if (v == nullptr || *v == '\0') return std::nullopt;
        int cpu = std::atoi(v);
        int cpus = static_cast<int>(std::thread::hardware_concurrency());
        if (cpus < 2 || cpu < 0 || cpu >= cpus) return std::nullopt;
        return cpu;
    }

    static std::string thread_name(const std::string& tid) {
        std::ifstream f("/proc/self/task/" + tid + "/comm");
        std::string name;
        std::getline(f, name);
        return name;
    }

    // nullopt: every thread back on every CPU.
    static void apply(std::optional<int> server_cpu) {
        const int cpus = static_cast<int>(std::thread::hardware_concurrency());
        cpu_set_t server, others;
        CPU_ZERO(&server);
        CPU_ZERO(&others);
        for (int c = 0; c < cpus; ++c) {
            if (server_cpu && c == *server_cpu) {
                CPU_SET(c, &server);
            } else {
                CPU_SET(c, &others);
            }
        }
        if (!server_cpu) server = others;
        DIR* dir = ::opendir("/proc/self/task");
        if (dir == nullptr) return;
        while (auto* entry = ::readdir(dir)) {
            if (entry->d_name[0] == '.') continue;
            const std::string tid = entry->d_name;
            const bool is_server = thread_name(tid).rfind("vow-loopback", 0) == 0;
            ::sched_setaffinity(std::atoi(tid.c_str()), sizeof(cpu_set_t), is_server ? &server : &others);
        }
        ::closedir(dir);
    }

    std::optional<int> server_cpu_;
};

}  // namespace vow_bench
