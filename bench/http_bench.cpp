// HTTP benchmarks: vow::http against libcurl, both downloading from the same
// in-process loopback server in the same run.
//   big_body_to_file / big_body_to_sink   one 1 GiB body (bytes_per_second)
//   small_downloads                       2,000 bodies of 16 KiB, 32 in flight, to the temporary folder, a real
//                                         disk (VOW_BENCH_SMALL_DIR to change it; items_per_second);
//                                         curl_part: libcurl writing .part files renamed on success, as vow does
//   big_body_peak_rss/vow                 growth of peak RSS during a 1 GiB download (counter rss_growth_MiB)
// The server shares the machine with the client, so absolute figures say as
// much about the server as about either client: read the ratios. With
// VOW_BENCH_SERVER_CPU=N the server has CPU N to itself and the client the
// rest (cpu_split.hpp).
#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "vow/http/client.hpp"
#include "vow/http/loopback_server.hpp"
#include "vow/inline_executor.hpp"

#include "cpu_split.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t big_size = 1ull << 30;
constexpr int small_count = 2000;
constexpr int small_in_flight = 32;
constexpr long curl_buffer = 100 * 1024;

vow::http::loopback_server& server() {
    static vow::http::loopback_server s(vow::http::loopback_server::options{false, 1});
    return s;
}

// Every case starts here: the server exists, then the CPU split, if one was
// asked for (cpu_split.hpp), holds for the case.
vow_bench::cpu_split split_cpus() {
    (void)server();
    return vow_bench::cpu_split{};
}

// A folder for the files the cases write, removed when the program ends.
class scratch_folder {
public:
    explicit scratch_folder(const fs::path& parent)
        : path_(parent / ("vow_http_bench_" + std::to_string(::getpid()))) {
        fs::create_directories(path_);
    }
    ~scratch_folder() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    scratch_folder(const scratch_folder&) = delete;
    scratch_folder& operator=(const scratch_folder&) = delete;
    const fs::path& path() const noexcept { return path_; }

private:
    fs::path path_;
};

// The 1 GiB bodies go to the temporary folder ($TMPDIR or /tmp): a real disk.
const fs::path& scratch_dir() {
    static scratch_folder folder(fs::temp_directory_path());
    return folder.path();
}

// The small downloads go to the temporary folder too, a real disk, as users'
// downloads do. On ext4, creating thousands of files seconds after thousands
// were deleted gets slower with every round (the inode allocator steps over
// recently freed inodes), which weighs on both clients alike: compare ratios
// within one run. VOW_BENCH_SMALL_DIR=/dev/shm measures the clients alone.
const fs::path& small_dir() {
    static scratch_folder folder([] {
        if (const char* dir = std::getenv("VOW_BENCH_SMALL_DIR")) return fs::path(dir);
        return fs::temp_directory_path();
    }());
    return folder.path();
}

// Small downloads go to new files in both peers: a download rarely overwrites.
void remove_small_files(const std::string& prefix) {
    for (int i = 0; i < small_count; ++i) fs::remove(small_dir() / (prefix + std::to_string(i)));
}

// CPU time of the whole process (every thread, the server's too) per
// iteration, as counter cpu_ms: what a case costs the machine, steadier than
// its wall time on a shared machine.
class process_cpu {
public:
    process_cpu() : start_(now()) {}
    void report(benchmark::State& state) const {
        std::chrono::duration<double, std::milli> used = now() - start_;
        state.counters["cpu_ms"] = benchmark::Counter(used.count(), benchmark::Counter::kAvgIterations);
    }

private:
    static std::chrono::nanoseconds now() {
        timespec ts{};
        ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    }
    std::chrono::nanoseconds start_;
};

std::string big_url() { return server().http_url("/bytes/" + std::to_string(big_size)); }
std::string small_url(int i) { return server().http_url("/bytes/16384?n=" + std::to_string(i)); }

// ---- vow --------------------------------------------------------------------

void big_body_to_file_vow(benchmark::State& state) {
    auto split = split_cpus();
    vow::http::client client;
    auto path = scratch_dir() / "big_vow.bin";
    process_cpu cpu;
    for (auto _ : state) {
        auto r = client.download(big_url(), path).get();
        benchmark::DoNotOptimize(r.size);
        state.PauseTiming();
        fs::remove(path);
        state.ResumeTiming();
    }
    cpu.report(state);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * big_size));
}

// The sink runs on the completion executor (vow's default pool), as user code
// must; the _inline variant opts into running it on the I/O thread, as
// libcurl's write callback does.
void big_body_to_sink(benchmark::State& state, vow::executor* completion) {
    auto split = split_cpus();
    vow::http::client_options o;
    o.completion_executor = completion;
    vow::http::client client(o);
    std::uint64_t calls = 0;
    process_cpu cpu;
    for (auto _ : state) {
        std::uint64_t seen = 0;
        client.stream(big_url(), [&](std::span<const char> bytes) {
            seen += bytes.size();
            ++calls;
        }).get();
        benchmark::DoNotOptimize(seen);
    }
    cpu.report(state);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * big_size));
    state.counters["sink_calls"] = benchmark::Counter(static_cast<double>(calls), benchmark::Counter::kAvgIterations);
}

void big_body_to_sink_vow(benchmark::State& state) { big_body_to_sink(state, nullptr); }
void big_body_to_sink_vow_inline(benchmark::State& state) {
    big_body_to_sink(state, &vow::inline_executor::instance());
}

// Connection limits raised to the 32 in flight, and two I/O threads: on tmpfs
// they do more requests/s than one. (Not on ext4, where two threads creating
// and renaming files in one folder queue, spinning, on the folder's lock: there
// one I/O thread used ~45% less CPU.)
void small_downloads_vow(benchmark::State& state) {
    auto split = split_cpus();
    vow::http::client_options o;
    o.max_connections = small_in_flight;
    o.max_connections_per_host = small_in_flight;
    o.max_idle_per_host = small_in_flight;
    o.io_threads = 2;
    vow::http::client client(o);
    std::vector<vow::http::batch_item> items;
    for (int i = 0; i < small_count; ++i) items.push_back({small_url(i), "vow_small_" + std::to_string(i)});
    process_cpu cpu;
    for (auto _ : state) {
        state.PauseTiming();
        remove_small_files("vow_small_");
        state.ResumeTiming();
        auto results = client.download_all(items, small_dir(), {}).get();
        for (auto& r : results) {
            if (!r.has_value()) state.SkipWithError("a small download failed");
        }
    }
    cpu.report(state);
    state.SetItemsProcessed(state.iterations() * small_count);
}

std::uint64_t status_kib(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::string(field).size()));
    }
    return 0;
}

void big_body_peak_rss_vow(benchmark::State& state) {
    auto split = split_cpus();
    vow::http::client client;
    auto path = scratch_dir() / "big_rss.bin";
    double growth_mib = 0;
    for (auto _ : state) {
        std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
        auto base = status_kib("VmRSS:");
        auto r = client.download(big_url(), path).get();
        benchmark::DoNotOptimize(r.size);
        growth_mib = static_cast<double>(status_kib("VmHWM:") - base) / 1024.0;
        fs::remove(path);
    }
    state.counters["rss_growth_MiB"] = growth_mib;
}

// ---- libcurl (easy interface for one body, multi for many) -----------------

struct curl_global {
    curl_global() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    ~curl_global() { curl_global_cleanup(); }
};
curl_global& curl_init() {
    static curl_global g;
    return g;
}

// An easy handle set up as a threaded program sets it up: CURLOPT_NOSIGNAL
// spares libcurl the SIGPIPE handler swap around every call (two
// rt_sigaction each); on Linux it sends with MSG_NOSIGNAL instead.
CURL* new_easy_handle() {
    curl_init();
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    return h;
}

std::size_t write_to_fd(char* data, std::size_t size, std::size_t n, void* fd) {
    std::size_t total = size * n, done = 0;
    while (done < total) {
        auto w = ::write(*static_cast<int*>(fd), data + done, total - done);
        if (w <= 0) return 0;
        done += static_cast<std::size_t>(w);
    }
    return total;
}

std::size_t discard(char*, std::size_t size, std::size_t n, void* seen) {
    *static_cast<std::uint64_t*>(seen) += size * n;
    return size * n;
}

void big_body_to_file_curl(benchmark::State& state) {
    auto split = split_cpus();
    auto path = scratch_dir() / "big_curl.bin";
    CURL* h = new_easy_handle();
    process_cpu cpu;
    for (auto _ : state) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        curl_easy_setopt(h, CURLOPT_URL, big_url().c_str());
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, curl_buffer);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_to_fd);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &fd);
        if (curl_easy_perform(h) != CURLE_OK) state.SkipWithError("curl failed");
        ::close(fd);
        state.PauseTiming();
        fs::remove(path);
        state.ResumeTiming();
    }
    curl_easy_cleanup(h);
    cpu.report(state);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * big_size));
}

void big_body_to_sink_curl(benchmark::State& state) {
    auto split = split_cpus();
    CURL* h = new_easy_handle();
    process_cpu cpu;
    for (auto _ : state) {
        std::uint64_t seen = 0;
        curl_easy_setopt(h, CURLOPT_URL, big_url().c_str());
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, curl_buffer);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &seen);
        if (curl_easy_perform(h) != CURLE_OK) state.SkipWithError("curl failed");
        benchmark::DoNotOptimize(seen);
    }
    curl_easy_cleanup(h);
    cpu.report(state);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * big_size));
}

// 2,000 transfers through one multi handle, at most 32 at a time, each to its
// file. With `via_part` each goes to `file.part`, renamed when it succeeds:
// the file work vow's download() does (its stat for resume aside), so the
// two can be told apart from the HTTP work.
void small_downloads_curl(benchmark::State& state, bool via_part) {
    auto split = split_cpus();
    curl_init();  // before the multi handle
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(small_in_flight));
    struct transfer {
        CURL* easy = nullptr;
        int fd = -1;
        fs::path path;     // the file it makes
        fs::path written;  // where its bytes go: path, or path.part
    };
    const std::string prefix = via_part ? "curl_part_small_" : "curl_small_";
    std::vector<transfer> slots(small_in_flight);
    for (auto& s : slots) s.easy = new_easy_handle();
    process_cpu cpu;
    for (auto _ : state) {
        state.PauseTiming();
        remove_small_files(prefix);
        state.ResumeTiming();
        int next = 0, running = 0, done = 0;
        auto start = [&](transfer& t) {
            t.path = small_dir() / (prefix + std::to_string(next));
            t.written = via_part ? fs::path(t.path.string() + ".part") : t.path;
            t.fd = ::open(t.written.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            curl_easy_setopt(t.easy, CURLOPT_URL, small_url(next).c_str());
            curl_easy_setopt(t.easy, CURLOPT_BUFFERSIZE, curl_buffer);
            curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, write_to_fd);
            curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t.fd);
            curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
            curl_multi_add_handle(multi, t.easy);
            ++next;
        };
        for (auto& t : slots) {
            if (next < small_count) start(t);
        }
        while (done < small_count) {
            curl_multi_perform(multi, &running);
            int queued = 0;
            while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
                if (m->msg != CURLMSG_DONE) continue;
                if (m->data.result != CURLE_OK) state.SkipWithError("curl failed");
                transfer* t = nullptr;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
                curl_multi_remove_handle(multi, t->easy);
                ::close(t->fd);
                if (via_part && m->data.result == CURLE_OK) ::rename(t->written.c_str(), t->path.c_str());
                ++done;
                if (next < small_count) start(*t);
            }
            if (done < small_count) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
        }
    }
    for (auto& s : slots) curl_easy_cleanup(s.easy);
    curl_multi_cleanup(multi);
    cpu.report(state);
    state.SetItemsProcessed(state.iterations() * small_count);
}

void small_downloads_curl_direct(benchmark::State& state) { small_downloads_curl(state, false); }
void small_downloads_curl_via_part(benchmark::State& state) { small_downloads_curl(state, true); }

}  // namespace

BENCHMARK(big_body_to_file_vow)->Name("big_body_to_file/vow")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(big_body_to_file_curl)->Name("big_body_to_file/curl")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(big_body_to_sink_vow)->Name("big_body_to_sink/vow")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(big_body_to_sink_vow_inline)->Name("big_body_to_sink/vow_inline")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(big_body_to_sink_curl)->Name("big_body_to_sink/curl")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(small_downloads_vow)->Name("small_downloads/vow")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(small_downloads_curl_direct)->Name("small_downloads/curl")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(small_downloads_curl_via_part)->Name("small_downloads/curl_part")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
BENCHMARK(big_body_peak_rss_vow)->Name("big_body_peak_rss/vow")->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
