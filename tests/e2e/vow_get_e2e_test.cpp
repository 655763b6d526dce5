// End-to-end tests of the vow-get command: the real binary against a
// loopback_server in this process. Files must be byte-exact, exit codes and
// --json lines must say what happened, Ctrl-C must leave a .part that the next
// run resumes, and output must suit where it goes (bars on a terminal, plain
// lines without control characters elsewhere).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "child_process.hpp"
#include "flat_json.hpp"
#include "../http/tinyproxy.hpp"
#include "vow/http/loopback_server.hpp"

namespace fs = std::filesystem;
using vow::http::loopback_server;
using vow_test::child_process;
using vow_test::flat_object;
using vow_test::process_result;

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool has_control_characters(const std::string& s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\n') || u == 0x7f) return true;
    }
    return false;
}

std::string sha256_hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

// A port on 127.0.0.1 that nothing listens on (bound, then released).
unsigned short closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

std::string describe(const process_result& r) {
    return "exit " + std::to_string(r.exit_code) + " signal " + std::to_string(r.term_signal) +
           (r.timed_out ? " TIMED OUT" : "") + "\n--- stdout ---\n" + r.out + "\n--- stderr ---\n" + r.err;
}

const std::string* text_field(const flat_object& o, const std::string& key) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : std::get_if<std::string>(&it->second);
}
std::optional<double> number_field(const flat_object& o, const std::string& key) {
    auto it = o.find(key);
    if (it == o.end()) return std::nullopt;
    if (auto* d = std::get_if<double>(&it->second)) return *d;
    return std::nullopt;
}
std::optional<bool> bool_field(const flat_object& o, const std::string& key) {
    auto it = o.find(key);
    if (it == o.end()) return std::nullopt;
    if (auto* b = std::get_if<bool>(&it->second)) return *b;
    return std::nullopt;
}

const char* const proxy_variables[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};

using env_vars = std::vector<std::pair<std::string, std::string>>;

// Sets environment variables (inherited by vow-get) until destroyed; every
// proxy variable is unset meanwhile unless given.
class scoped_env {
public:
    explicit scoped_env(const env_vars& vars) {
        for (const char* name : proxy_variables) ::unsetenv(name);
        for (const auto& [name, value] : vars) ::setenv(name.c_str(), value.c_str(), 1);
    }
    ~scoped_env() {
        for (const char* name : proxy_variables) ::unsetenv(name);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;
};

class vow_get : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // vow-get reads the proxy variables: the loopback server is reached
        // directly unless a test sets them.
        for (const char* name : proxy_variables) ::unsetenv(name);
        server_ = new loopback_server(loopback_server::options{true, 2});
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }

    void SetUp() override {
        std::string templ = (fs::temp_directory_path() / "vow-get-e2e-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    static std::string url(const std::string& target) { return server_->http_url(target); }
    // A fresh key for the server's per-key fault counters.
    static std::string key() { return "e2e-" + std::to_string(::getpid()) + "-" + std::to_string(++keys_); }

    // vow-get -o <dir> args...
    std::vector<std::string> command(std::vector<std::string> args) const {
        std::vector<std::string> argv{VOW_GET_PATH, "-o", dir_.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }

    // The --json lines of `out`, each parsed; fails the test on a malformed one.
    static std::vector<flat_object> json_lines(const std::string& out) {
        std::vector<flat_object> objects;
        std::istringstream in(out);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            auto o = vow_test::parse_flat_object(line);
            EXPECT_TRUE(o.has_value()) << "not a flat JSON object: " << line;
            if (o) objects.push_back(std::move(*o));
        }
        return objects;
    }
    // The JSON object whose "file" ends with `name`.
    static const flat_object* for_file(const std::vector<flat_object>& objects, const std::string& name) {
        for (const auto& o : objects) {
            const std::string* f = text_field(o, "file");
            if (f && fs::path(*f).filename() == name) return &o;
        }
        return nullptr;
    }

    // Waits (bounded) until `path` holds at least `bytes` bytes.
    static bool wait_for_size(const fs::path& path, std::uint64_t bytes, std::chrono::seconds limit) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            std::error_code ec;
            auto n = fs::file_size(path, ec);
            if (!ec && n >= bytes) return true;
            // Watching another process's file: polling is the only way to see it grow.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    void expect_file_is_body(const std::string& name, std::uint64_t size) const {
        fs::path p = dir_ / name;
        ASSERT_TRUE(fs::exists(p)) << p;
        std::string got = read_file(p);
        ASSERT_EQ(got.size(), size) << p;
        EXPECT_TRUE(got == loopback_server::body(size)) << p << " differs from the server's bytes";
        EXPECT_FALSE(fs::exists(fs::path(p) += ".part")) << "a .part was left beside " << p;
    }

    // Interrupts a rate-limited download with `sig` once its .part has bytes,
    // then checks exit 130, the .part kept, and the report of what was left.
    // The download's URL is `target`: a .part is resumed only by the same URL,
    // so its first request stalls (the fault) and a later one runs at full speed.
    void interrupt_mid_download(int sig, std::uint64_t size, std::uint64_t& kept, std::string& target) {
        std::string name = std::to_string(size);
        target = "/bytes/" + name + "?stall_after=65536&faults=1&key=" + key();
        child_process child(command({url(target), url("/bytes/1000?rate=10")}));
        fs::path part = dir_ / (name + ".part");
        ASSERT_TRUE(wait_for_size(part, 1, std::chrono::seconds(30))) << "no bytes in " << part;
        child.send_signal(sig);
        process_result r = child.wait(std::chrono::seconds(30));
        ASSERT_EQ(r.exit_code, 130) << describe(r);
        ASSERT_TRUE(fs::exists(part)) << describe(r);
        kept = fs::file_size(part);
        EXPECT_GT(kept, 0u);
        EXPECT_LT(kept, size);
        EXPECT_FALSE(fs::exists(dir_ / name));
        EXPECT_NE(r.err.find("interrupted"), std::string::npos) << describe(r);
        EXPECT_NE(r.err.find(name + ".part"), std::string::npos) << "the report names what was kept\n" << describe(r);
        EXPECT_NE(r.err.find("1000"), std::string::npos) << "the report names the other item\n" << describe(r);
    }

    // Runs vow-get (without --overwrite) on `args`, a 2,000,000-byte item,
    // and puts a file at the item's name once its .part has bytes: the file
    // is not replaced, the item fails, and its download stays as a .part of
    // `kept` bytes.
    void expect_a_file_put_meanwhile_is_kept(std::vector<std::string> args, std::uint64_t kept) {
        child_process child(command(std::move(args)));
        const fs::path part = dir_ / "2000000.part";
        ASSERT_TRUE(wait_for_size(part, 1, std::chrono::seconds(30))) << "no bytes in " << part;
        std::ofstream(dir_ / "2000000") << "mine";
        process_result r = child.wait(std::chrono::seconds(60));
        EXPECT_EQ(r.exit_code, 1) << describe(r);
        EXPECT_EQ(read_file(dir_ / "2000000"), "mine");
        ASSERT_TRUE(fs::exists(part)) << describe(r);
        EXPECT_EQ(fs::file_size(part), kept) << describe(r);
        EXPECT_NE(r.err.find("not replaced"), std::string::npos) << describe(r);
    }

    static loopback_server* server_;
    static inline int keys_ = 0;
    fs::path dir_;
};

loopback_server* vow_get::server_ = nullptr;

TEST_F(vow_get, downloads_every_url_byte_exact_and_exits_0) {
    process_result r = vow_test::run(
        command({url("/bytes/1048576"), url("/bytes/300000?chunked=1"), url("/bytes/1")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("1048576", 1048576);
    expect_file_is_body("300000", 300000);
    expect_file_is_body("1", 1);
}

TEST_F(vow_get, reads_urls_from_a_file_and_skips_comments_and_blank_lines) {
    fs::path list = dir_ / "urls.txt";
    std::ofstream(list) << "# two files\n\n  " << url("/bytes/1234") << "  \n" << url("/bytes/4321") << "\n";
    process_result r = vow_test::run(command({"-i", list.string(), "-j", "1"}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("1234", 1234);
    expect_file_is_body("4321", 4321);
}

TEST_F(vow_get, a_name_used_twice_gets_a_numbered_suffix) {
    process_result r = vow_test::run(command({url("/bytes/777"), url("/bytes/777?chunked=1")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("777", 777);
    expect_file_is_body("777.1", 777);
}

TEST_F(vow_get, names_in_one_batch_never_collide_with_another_items_part_files) {
    process_result r = vow_test::run(command({url("/bytes/1000/x"), url("/bytes/2000/x.part"), url("/bytes/3000/x.part.meta")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("x", 1000);
    expect_file_is_body("x.part.1", 2000);
    expect_file_is_body("x.part.meta.1", 3000);
}

TEST_F(vow_get, a_part_name_first_in_the_batch_moves_the_plain_name_aside) {
    process_result r = vow_test::run(command({url("/bytes/2000/x.part"), url("/bytes/1000/x")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("x.part", 2000);
    expect_file_is_body("x.1", 1000);
}

TEST_F(vow_get, two_names_over_255_bytes_are_shortened_and_stay_distinct) {
    std::string stem(300, 'L');
    process_result r = vow_test::run(command({url("/bytes/1000/" + stem + "1"), url("/bytes/2000/" + stem + "2")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::vector<std::uint64_t> sizes;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        EXPECT_LE(entry.path().filename().string().size(), 255u);
        sizes.push_back(fs::file_size(entry.path()));
    }
    std::sort(sizes.begin(), sizes.end());
    EXPECT_EQ(sizes, (std::vector<std::uint64_t>{1000, 2000}));
}

TEST_F(vow_get, a_complete_file_already_there_is_skipped_and_reported_as_already_complete) {
    ASSERT_EQ(vow_test::run(command({url("/bytes/1000")})).exit_code, 0);
    process_result r = vow_test::run(command({"--json", url("/bytes/1000")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("1000", 1000);
    EXPECT_FALSE(fs::exists(dir_ / "1000.1")) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    EXPECT_EQ(bool_field(objects[0], "already_complete"), true) << describe(r);
    EXPECT_EQ(number_field(objects[0], "transferred"), 0.0);
    EXPECT_NE(r.err.find("already complete"), std::string::npos) << describe(r);
}

// Whether `dir` takes user extended attributes, where vow records a completed file's validator.
bool records_validators_in(const fs::path& dir) {
    fs::path probe = dir / ".xattr-probe";
    std::ofstream(probe) << "x";
    bool ok = ::setxattr(probe.c_str(), "user.vow.probe", "1", 1, 0) == 0;
    fs::remove(probe);
    return ok;
}

TEST_F(vow_get, a_file_completed_with_the_same_validator_and_size_is_skipped_as_already_complete) {
    if (!records_validators_in(dir_)) GTEST_SKIP() << "no user extended attributes on " << dir_;
    ASSERT_EQ(vow_test::run(command({url("/bytes/1000?etag=v1")})).exit_code, 0);
    process_result r = vow_test::run(command({"--json", url("/bytes/1000?etag=v1")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    EXPECT_EQ(bool_field(objects[0], "already_complete"), true) << describe(r);
    EXPECT_FALSE(fs::exists(dir_ / "1000.1")) << describe(r);
}

TEST_F(vow_get, a_complete_file_over_64_mib_is_checked_by_the_head_alone_and_skipped) {
    // Made by other means (no validator recorded) and sparse: the HEAD's
    // Content-Length decides, with no limit meant for bodies in memory.
    const std::uint64_t size = 70ull << 20;
    std::ofstream(dir_ / std::to_string(size)).close();
    fs::resize_file(dir_ / std::to_string(size), size);
    process_result r = vow_test::run(command({"--json", url("/bytes/" + std::to_string(size))}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    EXPECT_EQ(bool_field(objects[0], "already_complete"), true) << describe(r);
    EXPECT_FALSE(fs::exists(dir_ / (std::to_string(size) + ".1"))) << describe(r);
}

TEST_F(vow_get, a_file_of_the_same_size_whose_validator_changed_is_kept_and_the_download_saved_as_name_1) {
    if (!records_validators_in(dir_)) GTEST_SKIP() << "no user extended attributes on " << dir_;
    ASSERT_EQ(vow_test::run(command({url("/bytes/1000?etag=v1")})).exit_code, 0);
    const auto before = fs::last_write_time(dir_ / "1000");
    // The same size, another ETag: the file changed on the server.
    process_result r = vow_test::run(command({"--json", url("/bytes/1000?etag=v2")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    EXPECT_NE(bool_field(objects[0], "already_complete"), true) << describe(r);
    EXPECT_EQ(number_field(objects[0], "transferred"), 1000.0) << describe(r);
    expect_file_is_body("1000.1", 1000);
    EXPECT_EQ(fs::last_write_time(dir_ / "1000"), before) << "the first file is left as it was";
}

TEST_F(vow_get, another_file_already_at_the_name_is_kept_and_the_download_saved_as_name_1) {
    std::ofstream(dir_ / "1000") << "mine";
    process_result r = vow_test::run(command({"--json", url("/bytes/1000")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(read_file(dir_ / "1000"), "mine");
    expect_file_is_body("1000.1", 1000);
}

// From 16 URLs on, the names already taken come from one listing of the
// folder: files and a symlink found there are left alone as with a lookup,
// numbered names included.
TEST_F(vow_get, in_a_long_list_what_is_already_in_the_folder_is_left_alone) {
    std::vector<std::string> args;
    for (int n = 1001; n <= 1020; ++n) args.push_back(url("/bytes/" + std::to_string(n)));
    args.push_back(url("/bytes/1007"));  // 1007 twice: the second is 1007.1, which is taken, as is 1007.1.1
    args.push_back(url("/bytes/1030/x.part"));  // a name that looks like a .part is a name like any other
    std::ofstream(dir_ / "x.part") << "mine, named like a part";
    std::ofstream(dir_ / "1005") << "mine";
    std::ofstream(dir_ / "1005.1") << "mine too";
    std::ofstream(dir_ / "1007.1") << "mine as well";
    std::ofstream(dir_ / "1007.1.1") << "and mine";
    fs::path outside = dir_ / ".." / (dir_.filename().string() + "-outside");
    std::ofstream(outside) << "outside";
    fs::create_symlink(outside, dir_ / "1010");
    process_result r = vow_test::run(command(args));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(read_file(dir_ / "1005"), "mine");
    EXPECT_EQ(read_file(dir_ / "1005.1"), "mine too");
    expect_file_is_body("1005.2", 1005);
    expect_file_is_body("1007", 1007);
    EXPECT_EQ(read_file(dir_ / "1007.1"), "mine as well");
    EXPECT_EQ(read_file(dir_ / "1007.1.1"), "and mine");
    expect_file_is_body("1007.1.2", 1007);
    EXPECT_TRUE(fs::is_symlink(dir_ / "1010"));
    EXPECT_EQ(read_file(outside), "outside");
    expect_file_is_body("1010.1", 1010);
    EXPECT_EQ(read_file(dir_ / "x.part"), "mine, named like a part");
    expect_file_is_body("x.part.1", 1030);
    for (int n : {1001, 1009, 1011, 1020}) expect_file_is_body(std::to_string(n), static_cast<std::uint64_t>(n));
    fs::remove(outside);
}

TEST_F(vow_get, in_a_long_list_a_part_left_by_an_earlier_run_is_resumed) {
    // The listing of the folder keeps .part files too: a name listed without
    // one is not looked up again, one with one is continued.
    const std::string target = "/bytes/100000?short_after=40000&faults=1&key=" + key();
    process_result first = vow_test::run(command({"--retries", "0", url(target)}));
    ASSERT_EQ(first.exit_code, 1) << describe(first);
    ASSERT_TRUE(fs::exists(dir_ / "100000.part"));
    std::vector<std::string> args{"--json"};
    for (int n = 1001; n <= 1020; ++n) args.push_back(url("/bytes/" + std::to_string(n)));
    args.push_back(url(target));
    process_result r = vow_test::run(command(args));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("100000", 100000);
    EXPECT_FALSE(fs::exists(dir_ / "100000.part"));
    auto objects = json_lines(r.out);
    const flat_object* resumed = for_file(objects, "100000");
    ASSERT_NE(resumed, nullptr) << describe(r);
    EXPECT_EQ(number_field(*resumed, "resumed_from"), 40000.0) << describe(r);
    const flat_object* fresh = for_file(objects, "1001");
    ASSERT_NE(fresh, nullptr) << describe(r);
    EXPECT_EQ(number_field(*fresh, "resumed_from"), 0.0) << describe(r);
    expect_file_is_body("1001", 1001);
}

TEST_F(vow_get, overwrite_replaces_a_file_already_at_the_name) {
    std::ofstream(dir_ / "1000") << "mine";
    process_result r = vow_test::run(command({"--overwrite", url("/bytes/1000")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("1000", 1000);
    EXPECT_FALSE(fs::exists(dir_ / "1000.1"));
}

TEST_F(vow_get, a_symlink_at_the_name_is_left_alone_and_the_download_saved_as_name_1) {
    fs::path outside = dir_ / ".." / (dir_.filename().string() + "-outside");
    std::ofstream(outside) << "outside";
    fs::create_symlink(outside, dir_ / "1000");
    process_result r = vow_test::run(command({url("/bytes/1000")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(read_file(outside), "outside");
    EXPECT_TRUE(fs::is_symlink(dir_ / "1000"));
    expect_file_is_body("1000.1", 1000);
    fs::remove(outside);
}

TEST_F(vow_get, some_failures_exit_1_and_each_is_reported_with_its_typed_reason) {
    process_result r = vow_test::run(command({"--retries", "0", "--idle-timeout", "1", url("/bytes/2000"),
                                              url("/status/404"), url("/bytes/100000?stall_after=10")}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    expect_file_is_body("2000", 2000);
    EXPECT_NE(r.err.find("HTTP 404"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("timeout (idle)"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("2 of 3 failed"), std::string::npos) << describe(r);
    EXPECT_TRUE(fs::exists(dir_ / "100000.part")) << "a failed download keeps its .part";
}

TEST_F(vow_get, max_filesize_fails_a_body_that_grows_past_it) {
    process_result r = vow_test::run(
        command({"--retries", "0", "--max-filesize", "1k", url("/bytes/300000?chunked=1"), url("/bytes/1024")}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    expect_file_is_body("1024", 1024);
    EXPECT_NE(r.err.find("max_download_size (1024 bytes)"), std::string::npos) << describe(r);
    EXPECT_FALSE(fs::exists(dir_ / "300000"));
}

TEST_F(vow_get, split_fetches_a_large_file_as_ranges_over_several_connections) {
    const std::string k = key();
    process_result r = vow_test::run(command({"--split", "4", url("/bytes/4194304?key=" + k)}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("4194304", 4194304);
    EXPECT_EQ(server_->requests_with_key(k), 5u) << "a HEAD, then one GET per range";
    EXPECT_FALSE(fs::exists(dir_ / "4194304.part.meta"));
}

TEST_F(vow_get, an_interrupted_split_resumes_each_range_where_it_stopped) {
    const std::string k = key();
    // The first run's four ranges are cut after 400000 bytes each (request 1 is the HEAD).
    auto target = "/bytes/4194304?short_after=400000&faults=5&key=" + k;
    process_result first = vow_test::run(command({"--split", "4", "--retries", "0", url(target)}));
    ASSERT_EQ(first.exit_code, 1) << describe(first);
    ASSERT_TRUE(fs::exists(dir_ / "4194304.part.meta"));
    const auto served = server_->body_bytes_with_key(k);
    process_result again = vow_test::run(command({"--split", "4", url(target)}));
    ASSERT_EQ(again.exit_code, 0) << describe(again);
    expect_file_is_body("4194304", 4194304);
    EXPECT_EQ(server_->body_bytes_with_key(k) - served, 4194304u - 4 * 400000) << "only the missing bytes";
}

TEST_F(vow_get, split_refuses_counts_outside_1_to_64_naming_the_option) {
    for (const char* value : {"0", "65", "-1", "two", ""}) {
        process_result r = vow_test::run(command({"--split", value, url("/bytes/1")}));
        EXPECT_EQ(r.exit_code, 2) << value << "\n" << describe(r);
        EXPECT_NE(r.err.find("--split"), std::string::npos) << value << "\n" << describe(r);
    }
    EXPECT_FALSE(fs::exists(dir_ / "1"));
}

TEST_F(vow_get, limit_rate_caps_the_whole_run_not_each_download) {
    const auto started = std::chrono::steady_clock::now();
    process_result r = vow_test::run(
        command({"--limit-rate", "200K", "-j", "2", url("/bytes/150000"), url("/bytes/150001?chunked=1")}));
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("150000", 150000);
    expect_file_is_body("150001", 150001);
    // 300 kB at 200 KiB/s together: 1.46 s, less a first read of 20 KiB each
    // that may go at once. Each at 200 KiB/s on its own would take 0.73 s.
    EXPECT_GE(took, std::chrono::milliseconds(1200)) << describe(r);
}

TEST_F(vow_get, limit_rate_takes_curl_s_suffixes_and_refuses_anything_else_naming_the_option) {
    process_result fine = vow_test::run(command({"--limit-rate", "1g", "-O", "a", url("/bytes/1000")}));
    ASSERT_EQ(fine.exit_code, 0) << describe(fine);
    expect_file_is_body("a", 1000);
    process_result no_limit = vow_test::run(command({"--limit-rate", "0", "-O", "b", url("/bytes/1000")}));
    ASSERT_EQ(no_limit.exit_code, 0) << describe(no_limit);
    for (const char* value : {"fast", "1.5M", "-1", "", "10X", "5KB", "K", "99999999999999999999", "20000000000G"}) {
        process_result r = vow_test::run(command({"--limit-rate", value, url("/bytes/1")}));
        EXPECT_EQ(r.exit_code, 2) << value << "\n" << describe(r);
        EXPECT_NE(r.err.find("--limit-rate"), std::string::npos) << value << "\n" << describe(r);
    }
    EXPECT_FALSE(fs::exists(dir_ / "1"));
}

TEST_F(vow_get, compressed_asks_for_gzip_and_deflate_and_saves_the_decoded_body) {
    for (std::string coding : {"gzip", "deflate", "raw-deflate"}) {
        process_result r = vow_test::run(
            command({"--compressed", "-O", coding, url("/encoded/200000?chunked=1&coding=" + coding)}));
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        expect_file_is_body(coding, 200000);
        EXPECT_NE(r.err.find("195 KiB decoded in"), std::string::npos) << "sizes say they are decoded\n" << describe(r);
    }
    process_result sent = vow_test::run(command({"--compressed", url("/echo-headers")}));
    ASSERT_EQ(sent.exit_code, 0) << describe(sent);
    EXPECT_NE(read_file(dir_ / "echo-headers").find("Accept-Encoding: gzip, deflate\r\n"), std::string::npos);
    // Without it the body is saved as it came.
    process_result raw = vow_test::run(command({"-O", "raw", url("/encoded/1000?coding=gzip")}));
    ASSERT_EQ(raw.exit_code, 0) << describe(raw);
    EXPECT_EQ(read_file(dir_ / "raw").substr(0, 2), "\x1f\x8b");
}

TEST_F(vow_get, compressed_to_stdout_writes_the_decoded_body) {
    process_result r = vow_test::run(command({"--compressed", "-O", "-", url("/encoded/50000?coding=gzip")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(r.out == loopback_server::body(50000)) << r.out.size() << " bytes";
}

TEST_F(vow_get, compressed_bodies_that_are_corrupt_unknown_or_bombs_fail_and_leave_no_file) {
    process_result corrupt = vow_test::run(
        command({"--compressed", "--retries", "0", "-O", "c", url("/encoded/10000?corrupt=1&coding=gzip")}));
    EXPECT_EQ(corrupt.exit_code, 1) << describe(corrupt);
    EXPECT_NE(corrupt.err.find("corrupt"), std::string::npos) << describe(corrupt);
    process_result unknown =
        vow_test::run(command({"--compressed", "--retries", "0", "-O", "u", url("/encoded/100?coding=br")}));
    EXPECT_EQ(unknown.exit_code, 1) << describe(unknown);
    EXPECT_NE(unknown.err.find("Content-Encoding: br"), std::string::npos) << describe(unknown);
    process_result bomb = vow_test::run(command({"--compressed", "--retries", "0", "--max-filesize", "1M", "-O", "b",
                                                 url("/encoded/67108864?zeros=1&coding=gzip")}));
    EXPECT_EQ(bomb.exit_code, 1) << describe(bomb);
    EXPECT_NE(bomb.err.find("max_download_size"), std::string::npos) << describe(bomb);
    for (const char* name : {"c", "u", "b"}) EXPECT_FALSE(fs::exists(dir_ / name)) << name;
}

TEST_F(vow_get, speed_limit_fails_a_body_that_trickles) {
    process_result r = vow_test::run(command(
        {"--retries", "0", "--speed-limit", "100", "--speed-time", "0.3", url("/bytes/1000?rate=1"), url("/bytes/10")}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    expect_file_is_body("10", 10);
    EXPECT_NE(r.err.find("timeout (speed)"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("low speed"), std::string::npos) << describe(r);
}

TEST_F(vow_get, a_refused_connection_is_reported_as_a_connect_error) {
    std::string dead = "http://127.0.0.1:" + std::to_string(closed_port()) + "/file.bin";
    process_result r = vow_test::run(command({"--json", "--retries", "0", dead}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    EXPECT_EQ(bool_field(objects[0], "ok"), false);
    ASSERT_NE(text_field(objects[0], "error"), nullptr);
    EXPECT_EQ(*text_field(objects[0], "error"), "connect") << describe(r);
}

TEST_F(vow_get, usage_errors_exit_2) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {},
             {"--no-such-option", url("/bytes/1")},
             {"-j", "0", url("/bytes/1")},
             {"--retries", "many", url("/bytes/1")},
             {"--sha256", "xyz", url("/bytes/1")},
             {"--sha256", std::string(64, 'a'), url("/bytes/1"), url("/bytes/2")},
             {"-i", (dir_ / "missing-list.txt").string()},
             {"--demo", url("/bytes/1")},
             {"--max-filesize", "1x", url("/bytes/1")},
             {"--speed-time", "0", url("/bytes/1")},
             {"--speed-limit", "-5", url("/bytes/1")},
             {"--max-filesize", "-1", url("/bytes/1")},
         }) {
        std::vector<std::string> argv{VOW_GET_PATH};
        argv.insert(argv.end(), args.begin(), args.end());
        process_result r = vow_test::run(argv);
        std::string shown;
        for (const auto& a : args) shown += a + " ";
        EXPECT_EQ(r.exit_code, 2) << "vow-get " << shown << "\n" << describe(r);
        EXPECT_FALSE(r.err.empty()) << "a usage error says what was wrong: vow-get " << shown;
    }
}

TEST_F(vow_get, timeouts_that_are_not_finite_and_positive_are_usage_errors_naming_the_option) {
    for (const char* option : {"--timeout", "--connect-timeout", "--idle-timeout"}) {
        for (const char* value : {"nan", "inf", "-1", "0", "1e999", "soon"}) {
            process_result r = vow_test::run({VOW_GET_PATH, option, value, url("/bytes/1")});
            EXPECT_EQ(r.exit_code, 2) << option << " " << value << "\n" << describe(r);
            EXPECT_NE(r.err.find(option), std::string::npos) << option << " " << value << "\n" << describe(r);
        }
    }
}

TEST_F(vow_get, a_huge_timeout_saturates_instead_of_failing_at_once) {
    process_result r = vow_test::run(
        command({"--timeout", "1e30", "--connect-timeout", "1e30", "--idle-timeout", "1e300", url("/bytes/1000")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("1000", 1000);
}

TEST_F(vow_get, a_retry_after_too_large_for_a_duration_waits_the_capped_delay_not_a_negative_one) {
    // 10000000000 s overflows nanoseconds; the policy caps it at 30 s, and the
    // message must say so (not "retrying in -8446744073710 ms"). The run is
    // cut off after 3 s, well before the 30 s backoff is over.
    process_result r = vow_test::run(
        command({"--retries", "1", url("/bytes/10?fail=5&status=503&retry_after=10000000000&key=" + key())}),
        std::chrono::seconds(3));
    EXPECT_TRUE(r.timed_out) << "it waits the capped 30 s instead of retrying at once\n" << describe(r);
    EXPECT_NE(r.err.find("retrying in 30"), std::string::npos) << describe(r);
    EXPECT_EQ(r.err.find("in -"), std::string::npos) << describe(r);
}

TEST_F(vow_get, a_password_in_the_url_is_never_printed) {
    auto with_password = [](const std::string& target) {
        auto u = url(target);
        return u.replace(u.find("://") + 3, 0, "user:s3cr3t@");
    };
    process_result r = vow_test::run(command({"--json", "--retries", "0", with_password("/bytes/100"),
                                              with_password("/status/404")}));
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_EQ(r.out.find("s3cr3t"), std::string::npos) << describe(r);
    EXPECT_EQ(r.err.find("s3cr3t"), std::string::npos) << describe(r);
    EXPECT_NE(r.out.find("user:***@"), std::string::npos) << describe(r);
    expect_file_is_body("100", 100);
}

TEST_F(vow_get, c1_controls_in_a_reason_phrase_never_reach_the_output) {
    // 0x9b is CSI to an 8-bit terminal, U+009B (c2 9b) to a UTF-8 one.
    process_result r = vow_test::run(command(
        {"--json", "--retries", "0", url("/status/500?reason=A%9B31mB%C2%9B32mC%C3%A9")}));
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    for (const std::string* text : {&r.out, &r.err}) {
        EXPECT_EQ(text->find('\x9b'), std::string::npos) << describe(r);
        EXPECT_EQ(text->find("\xc2\x9b"), std::string::npos) << describe(r);
    }
    EXPECT_NE(r.err.find("A?31mB?32mC\xc3\xa9"), std::string::npos) << "controls replaced, other UTF-8 kept\n"
                                                                    << describe(r);
    EXPECT_NE(r.out.find("\\u009b"), std::string::npos) << "--json escapes the encoded C1\n" << describe(r);
}

TEST_F(vow_get, help_and_version_exit_0) {
    process_result help = vow_test::run({VOW_GET_PATH, "--help"});
    EXPECT_EQ(help.exit_code, 0) << describe(help);
    for (const char* option : {"--output-dir", "--input-file", "--jobs", "--per-host", "--retries", "--timeout",
                               "--connect-timeout", "--idle-timeout", "--sha256", "--ca-file", "--insecure",
                               "--no-resume", "--quiet", "--json", "--demo", "--version"}) {
        EXPECT_NE(help.out.find(option), std::string::npos) << option << " missing from --help";
    }
    process_result version = vow_test::run({VOW_GET_PATH, "--version"});
    EXPECT_EQ(version.exit_code, 0) << describe(version);
    EXPECT_NE(version.out.find(VOW_GET_EXPECTED_VERSION), std::string::npos) << describe(version);
}

// Downloads that fail before they begin (a URL the client refuses) end
// inside the launch that started them, here on the callbacks' pool after
// one download ended: each is reported once and the run ends.
TEST_F(vow_get, downloads_that_fail_at_once_after_one_that_ended_are_each_reported_once) {
    std::vector<std::string> args{"--json", "-j", "1", url("/bytes/1000")};
    for (int i = 0; i < 30; ++i) args.push_back("ftp://127.0.0.1/f" + std::to_string(i));
    process_result r = vow_test::run(command(args));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    expect_file_is_body("1000", 1000);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 31u) << describe(r);
    for (int i = 0; i < 30; ++i) {
        const flat_object* failed = for_file(objects, "f" + std::to_string(i));
        ASSERT_NE(failed, nullptr) << i << "\n" << describe(r);
        EXPECT_EQ(bool_field(*failed, "ok"), false);
    }
    EXPECT_NE(r.err.find("30 of 31 failed"), std::string::npos) << describe(r);
}

TEST_F(vow_get, json_prints_one_parsable_object_per_item) {
    std::string flaky = url("/bytes/5000?fail=1&status=503&retry_after=1&key=" + key());
    process_result r = vow_test::run(command({"--json", url("/bytes/65536"), url("/status/404"), flaky}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 3u) << describe(r);

    const flat_object* ok = for_file(objects, "65536");
    ASSERT_NE(ok, nullptr) << describe(r);
    EXPECT_EQ(bool_field(*ok, "ok"), true);
    EXPECT_EQ(number_field(*ok, "size"), 65536.0);
    EXPECT_EQ(number_field(*ok, "status"), 200.0);
    EXPECT_EQ(number_field(*ok, "retries"), 0.0);
    ASSERT_NE(text_field(*ok, "url"), nullptr);
    EXPECT_EQ(*text_field(*ok, "url"), url("/bytes/65536"));
    EXPECT_TRUE(number_field(*ok, "seconds").has_value());

    const flat_object* missing = for_file(objects, "404");
    ASSERT_NE(missing, nullptr) << describe(r);
    EXPECT_EQ(bool_field(*missing, "ok"), false);
    ASSERT_NE(text_field(*missing, "error"), nullptr);
    EXPECT_EQ(*text_field(*missing, "error"), "http");
    EXPECT_EQ(number_field(*missing, "http_status"), 404.0);
    EXPECT_EQ(number_field(*missing, "retries"), 0.0) << "a 404 is not worth retrying";

    const flat_object* retried = for_file(objects, "5000");
    ASSERT_NE(retried, nullptr) << describe(r);
    EXPECT_EQ(bool_field(*retried, "ok"), true);
    EXPECT_EQ(number_field(*retried, "retries"), 1.0);
    ASSERT_NE(text_field(*retried, "url"), nullptr);
    EXPECT_EQ(*text_field(*retried, "url"), flaky) << "the & and = of the URL survive escaping";
    expect_file_is_body("5000", 5000);
}

TEST_F(vow_get, sha256_accepts_the_right_digest_and_rejects_a_wrong_one) {
    std::string right = sha256_hex(loopback_server::body(100000));
    process_result good = vow_test::run(command({"--json", "--sha256", right, url("/bytes/100000")}));
    ASSERT_EQ(good.exit_code, 0) << describe(good);
    expect_file_is_body("100000", 100000);
    auto objects = json_lines(good.out);
    ASSERT_EQ(objects.size(), 1u);
    ASSERT_NE(text_field(objects[0], "sha256"), nullptr) << describe(good);
    EXPECT_EQ(*text_field(objects[0], "sha256"), right);

    std::string wrong(64, '0');
    process_result bad = vow_test::run(command({"--json", "--sha256", wrong, url("/bytes/5555")}));
    ASSERT_EQ(bad.exit_code, 1) << describe(bad);
    objects = json_lines(bad.out);
    ASSERT_EQ(objects.size(), 1u) << describe(bad);
    ASSERT_NE(text_field(objects[0], "error"), nullptr);
    EXPECT_EQ(*text_field(objects[0], "error"), "checksum");
    EXPECT_FALSE(fs::exists(dir_ / "5555"));
    EXPECT_FALSE(fs::exists(dir_ / "5555.part")) << "a .part with the wrong bytes can never be resumed";
}

TEST_F(vow_get, sigint_mid_download_keeps_the_part_and_a_second_run_resumes_it) {
    constexpr std::uint64_t size = 4 << 20;
    std::uint64_t kept = 0;
    std::string target;
    interrupt_mid_download(SIGINT, size, kept, target);
    if (HasFatalFailure()) return;

    std::string name = std::to_string(size);
    process_result r = vow_test::run(command({"--json", url(target)}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body(name, size);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    auto resumed_from = number_field(objects[0], "resumed_from");
    ASSERT_TRUE(resumed_from.has_value()) << describe(r);
    EXPECT_GE(*resumed_from, static_cast<double>(kept)) << "the second run continued the .part";
    EXPECT_EQ(number_field(objects[0], "status"), 206.0);
}

TEST_F(vow_get, sigint_mid_split_keeps_the_part_and_its_ranges_and_a_second_run_resumes_them) {
    constexpr std::uint64_t size = 4 << 20;
    const std::string name = std::to_string(size);
    const std::string target = "/bytes/" + name + "?rate=1048576&key=" + key();
    {
        child_process child(command({"--split", "4", url(target)}));
        ASSERT_TRUE(wait_for_size(dir_ / (name + ".part"), 1, std::chrono::seconds(30)));
        child.send_signal(SIGINT);
        process_result r = child.wait(std::chrono::seconds(30));
        ASSERT_EQ(r.exit_code, 130) << describe(r);
    }
    const std::string meta = read_file(dir_ / (name + ".part.meta"));
    ASSERT_EQ(meta.rfind("vow-part-meta 2\n", 0), 0u) << meta;
    process_result r = vow_test::run(command({"--split", "4", "--json", url(target)}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body(name, size);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    EXPECT_GT(number_field(objects[0], "resumed_from").value_or(0), 0.0) << describe(r);
    EXPECT_EQ(number_field(objects[0], "status"), 206.0);
}

// Ctrl-C in a batch longer than -j: the downloads in flight (started on
// the client's threads as others ended) are cancelled, no other starts, and
// the report lists those never started.
TEST_F(vow_get, sigint_in_a_long_batch_cancels_what_is_in_flight_and_starts_nothing_more) {
    std::vector<std::string> args{"-j", "2"};
    for (int i = 0; i < 2; ++i) args.push_back(url("/bytes/" + std::to_string(1000 + i)));
    const std::string stalled = "/bytes/2000000?stall_after=65536&key=" + key();
    args.push_back(url(stalled));
    for (int i = 0; i < 8; ++i) args.push_back(url("/bytes/" + std::to_string(3000 + i) + "?rate=10"));
    child_process child(command(args));
    ASSERT_TRUE(wait_for_size(dir_ / "2000000.part", 1, std::chrono::seconds(30)));
    child.send_signal(SIGINT);
    process_result r = child.wait(std::chrono::seconds(30));
    ASSERT_EQ(r.exit_code, 130) << describe(r);
    expect_file_is_body("1000", 1000);
    expect_file_is_body("1001", 1001);
    EXPECT_TRUE(fs::exists(dir_ / "2000000.part"));
    int started = 0;
    for (int i = 0; i < 8; ++i) {
        const std::string name = std::to_string(3000 + i);
        started += r.err.find("  " + name + ": not started") == std::string::npos;
        EXPECT_FALSE(fs::exists(dir_ / name)) << name << "\n" << describe(r);
    }
    EXPECT_LE(started, 1) << "-j 2: one slot beside the stalled download\n" << describe(r);
}

TEST_F(vow_get, sigterm_also_cancels_and_exits_130) {
    std::uint64_t kept = 0;
    std::string target;
    interrupt_mid_download(SIGTERM, 3 << 20, kept, target);
}

TEST_F(vow_get, no_resume_starts_over_instead_of_continuing_a_part) {
    std::string name = "20000";
    fs::path part = dir_ / (name + ".part");
    std::ofstream(part, std::ios::binary) << std::string(5000, 'X');  // not the server's bytes
    process_result r = vow_test::run(command({"--json", "--no-resume", url("/bytes/" + name)}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body(name, 20000);
}

TEST_F(vow_get, plain_output_has_one_line_per_event_and_no_control_characters) {
    std::string flaky = url("/bytes/3000?fail=1&status=503&retry_after=1&key=" + key());
    process_result r = vow_test::run(command({url("/bytes/200000?rate=200000"), flaky, url("/status/404")}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_FALSE(has_control_characters(r.out)) << describe(r);
    EXPECT_FALSE(has_control_characters(r.err)) << describe(r);
    for (const char* event : {"start  200000", "done   200000", "retry  3000", "HTTP 503", "retrying in",
                              "done   3000", "failed 404"}) {
        EXPECT_NE(r.err.find(event), std::string::npos) << "no '" << event << "' line\n" << describe(r);
    }
}

TEST_F(vow_get, quiet_prints_nothing_on_success) {
    process_result r = vow_test::run(command({"-q", url("/bytes/1000")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
    expect_file_is_body("1000", 1000);
}

TEST_F(vow_get, https_works_with_the_servers_ca_file_and_fails_as_tls_without_it) {
    fs::path ca = dir_ / "ca.pem";
    std::ofstream(ca) << server_->ca_pem();
    std::string target = server_->https_url("/bytes/70000");
    process_result good = vow_test::run(command({"--ca-file", ca.string(), target}));
    ASSERT_EQ(good.exit_code, 0) << describe(good);
    expect_file_is_body("70000", 70000);
    fs::remove(dir_ / "70000");

    process_result bad = vow_test::run(command({"--json", "--retries", "0", target}));
    ASSERT_EQ(bad.exit_code, 1) << describe(bad);
    auto objects = json_lines(bad.out);
    ASSERT_EQ(objects.size(), 1u) << describe(bad);
    ASSERT_NE(text_field(objects[0], "error"), nullptr);
    EXPECT_EQ(*text_field(objects[0], "error"), "tls") << describe(bad);

    process_result insecure = vow_test::run(command({"--insecure", target}));
    ASSERT_EQ(insecure.exit_code, 0) << describe(insecure);
    expect_file_is_body("70000", 70000);
}

TEST_F(vow_get, the_proxy_variables_are_read_as_curl_reads_them) {
    vow_test::tinyproxy proxy;
    const std::string port = std::to_string(server_->http_port());
    {
        scoped_env env(env_vars{{"http_proxy", proxy.url()}});
        process_result r = vow_test::run(command({url("/bytes/1234")}));
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        expect_file_is_body("1234", 1234);
        EXPECT_TRUE(proxy.wait_for_log("GET http://127.0.0.1:" + port + "/bytes/1234 HTTP/1.1")) << proxy.log();
    }
    {
        // https:// goes through CONNECT; the origin's certificate is still checked.
        fs::path ca = dir_ / "ca.pem";
        std::ofstream(ca) << server_->ca_pem();
        scoped_env env(env_vars{{"HTTPS_PROXY", proxy.url()}});
        process_result r = vow_test::run(command({"--ca-file", ca.string(), server_->https_url("/bytes/2345")}));
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        expect_file_is_body("2345", 2345);
        EXPECT_TRUE(proxy.wait_for_log("CONNECT 127.0.0.1:" + std::to_string(server_->https_port()))) << proxy.log();
    }
    const std::string dead = "http://127.0.0.1:" + std::to_string(closed_port());
    {
        // Uppercase HTTP_PROXY is ignored (a CGI program's request can set it).
        scoped_env env(env_vars{{"HTTP_PROXY", dead}});
        process_result r = vow_test::run(command({"--retries", "0", url("/bytes/3456")}));
        ASSERT_EQ(r.exit_code, 0) << describe(r);
    }
    for (const char* no_proxy : {"127.0.0.1", "localhost, .example.com, 127.0.0.1", "*", "127.0.0.1:" }) {
        // A dead proxy: the download only succeeds if no_proxy keeps it away.
        std::string list = no_proxy;
        if (list.ends_with(":")) list += port;  // an entry with the origin's port
        scoped_env env(env_vars{{"http_proxy", dead}, {"NO_PROXY", list}});
        process_result r = vow_test::run(command({"--retries", "0", url("/bytes/4567")}));
        ASSERT_EQ(r.exit_code, 0) << "NO_PROXY=" << list << "\n" << describe(r);
        fs::remove(dir_ / "4567");
    }
    {
        scoped_env env(env_vars{{"ALL_PROXY", dead}, {"no_proxy", "example.com"}});
        process_result r = vow_test::run(command({"--json", "--retries", "0", url("/bytes/10")}));
        ASSERT_EQ(r.exit_code, 1) << describe(r);
        auto objects = json_lines(r.out);
        ASSERT_EQ(objects.size(), 1u) << describe(r);
        ASSERT_NE(text_field(objects[0], "message"), nullptr);
        EXPECT_NE(text_field(objects[0], "message")->find("proxy " + dead), std::string::npos) << describe(r);
    }
}

TEST_F(vow_get, proxy_and_noproxy_options_win_over_the_environment) {
    vow_test::tinyproxy proxy;
    const std::string dead = "http://127.0.0.1:" + std::to_string(closed_port());
    scoped_env env(env_vars{{"http_proxy", dead}, {"no_proxy", "127.0.0.1"}});
    // --proxy replaces http_proxy, --noproxy '' replaces no_proxy.
    process_result through = vow_test::run(command({"--proxy", proxy.url(), "--noproxy", "", url("/bytes/111")}));
    ASSERT_EQ(through.exit_code, 0) << describe(through);
    EXPECT_TRUE(proxy.wait_for_log("/bytes/111 HTTP/1.1")) << proxy.log();
    // --proxy '' turns proxies off altogether.
    process_result direct =
        vow_test::run(command({"--proxy", "", "--noproxy", "", "--retries", "0", url("/bytes/222")}));
    ASSERT_EQ(direct.exit_code, 0) << describe(direct);
    // --noproxy keeps the given hosts away from the (dead) proxy.
    process_result bypass = vow_test::run(command({"--proxy", dead, "--noproxy", "localhost,127.0.0.1",
                                                   "--retries", "0", url("/bytes/333")}));
    ASSERT_EQ(bypass.exit_code, 0) << describe(bypass);
}

TEST_F(vow_get, a_proxy_refusing_connect_or_the_credentials_is_a_proxy_error_never_retried_nor_showing_the_password) {
    fs::path ca = dir_ / "ca.pem";
    std::ofstream(ca) << server_->ca_pem();
    vow_test::tinyproxy refusing({"ConnectPort 443"});
    process_result r = vow_test::run(command({"--json", "--ca-file", ca.string(), "--proxy", refusing.url(),
                                              server_->https_url("/bytes/10")}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    ASSERT_NE(text_field(objects[0], "error"), nullptr);
    EXPECT_EQ(*text_field(objects[0], "error"), "proxy") << describe(r);
    EXPECT_NE(text_field(objects[0], "message")->find("proxy " + refusing.url() + " answered 403"), std::string::npos)
        << describe(r);
    EXPECT_EQ(r.err.find("retry"), std::string::npos) << "a refusal is not retried\n" << describe(r);

    vow_test::tinyproxy guarded({"BasicAuth user s3cret-pw"});
    process_result good = vow_test::run(command(
        {"--ca-file", ca.string(), "--proxy", guarded.url_with("user:s3cret-pw"), server_->https_url("/bytes/4321")}));
    ASSERT_EQ(good.exit_code, 0) << describe(good);
    expect_file_is_body("4321", 4321);
    process_result bad = vow_test::run(command(
        {"--ca-file", ca.string(), "--proxy", guarded.url_with("user:wrong-pw"), server_->https_url("/bytes/10")}));
    ASSERT_EQ(bad.exit_code, 1) << describe(bad);
    EXPECT_NE(bad.err.find("proxy authentication failed"), std::string::npos) << describe(bad);
    EXPECT_EQ(bad.err.find("wrong-pw"), std::string::npos) << describe(bad);
    EXPECT_EQ(bad.out.find("wrong-pw"), std::string::npos) << describe(bad);
}

TEST_F(vow_get, bad_proxy_values_are_usage_errors_naming_the_option_or_the_variable) {
    for (const char* value : {"socks5://127.0.0.1:1080", "https://127.0.0.1:3128", "http://", "http://h:99999",
                              "http://[::1"}) {
        process_result r = vow_test::run({VOW_GET_PATH, "--proxy", value, url("/bytes/1")});
        EXPECT_EQ(r.exit_code, 2) << value << "\n" << describe(r);
        EXPECT_NE(r.err.find("--proxy"), std::string::npos) << value << "\n" << describe(r);
    }
    scoped_env env(env_vars{{"https_proxy", "socks5h://user:pw-in-env@127.0.0.1:1080"}});
    process_result r = vow_test::run({VOW_GET_PATH, url("/bytes/1")});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("https_proxy"), std::string::npos) << describe(r);
    EXPECT_EQ(r.err.find("pw-in-env"), std::string::npos) << describe(r);
}

TEST_F(vow_get, a_rejected_certificate_names_the_reason_hints_at_ca_file_and_is_not_retried) {
    process_result r = vow_test::run(command({"--json", "--retries", "3", server_->https_url("/bytes/100")}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    const std::string* message = text_field(objects[0], "message");
    ASSERT_NE(message, nullptr) << describe(r);
    EXPECT_NE(message->find("self"), std::string::npos) << "names the reason: self-signed\n" << describe(r);
    EXPECT_NE(message->find("--ca-file"), std::string::npos) << describe(r);
    EXPECT_EQ(number_field(objects[0], "retries"), 0.0) << describe(r);
}

TEST_F(vow_get, an_expired_certificate_is_named_as_expired_exits_1_and_is_not_retried) {
    using namespace std::chrono_literals;
    loopback_server expired(loopback_server::options{
        .certificate = {.signed_by_separate_ca = true, .not_before = -48h, .not_after = -24h}});
    fs::path ca = dir_ / "ca.pem";
    std::ofstream(ca) << expired.ca_pem();
    process_result r = vow_test::run(
        command({"--json", "--retries", "3", "--ca-file", ca.string(), expired.https_url("/bytes/100")}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    auto objects = json_lines(r.out);
    ASSERT_EQ(objects.size(), 1u) << describe(r);
    ASSERT_NE(text_field(objects[0], "error"), nullptr) << describe(r);
    EXPECT_EQ(*text_field(objects[0], "error"), "tls") << describe(r);
    const std::string* message = text_field(objects[0], "message");
    ASSERT_NE(message, nullptr) << describe(r);
    EXPECT_NE(message->find("certificate has expired"), std::string::npos) << describe(r);
    EXPECT_NE(message->find("--ca-file"), std::string::npos) << describe(r);
    EXPECT_EQ(number_field(objects[0], "retries"), 0.0) << describe(r);
    EXPECT_EQ(r.err.find("retrying"), std::string::npos) << describe(r);
    EXPECT_FALSE(fs::exists(dir_ / "100"));
}

TEST_F(vow_get, a_certificate_from_an_untrusted_ca_names_the_unknown_issuer_and_is_not_retried) {
    loopback_server other_ca(loopback_server::options{.certificate = {.signed_by_separate_ca = true}});
    process_result r = vow_test::run(command({"--retries", "3", other_ca.https_url("/bytes/100")}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_NE(r.err.find("unable to get local issuer certificate"), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("--ca-file"), std::string::npos) << describe(r);
    EXPECT_EQ(r.err.find("retrying"), std::string::npos) << describe(r);
}

TEST_F(vow_get, insecure_prints_one_warning_line) {
    process_result r = vow_test::run(command({"--insecure", server_->https_url("/bytes/100")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto first = r.err.find("warning: --insecure");
    ASSERT_NE(first, std::string::npos) << describe(r);
    EXPECT_EQ(r.err.find("warning: --insecure", first + 1), std::string::npos) << describe(r);
}

TEST_F(vow_get, tls_to_a_plain_http_port_says_the_handshake_failed) {
    auto target = url("/bytes/100");
    target.replace(0, 4, "https");
    process_result r = vow_test::run(command({"--retries", "0", target}));
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_NE(r.err.find("handshake failed"), std::string::npos) << describe(r);
    EXPECT_EQ(r.err.find("connect timeout"), std::string::npos) << describe(r);
}

TEST_F(vow_get, running_out_of_file_descriptors_says_too_many_open_files) {
#if defined(__SANITIZE_ADDRESS__)
    // Under ASan+UBSan, UBSan's vptr checks in Boost.System and Beast fail
    // ("does not point to an object of type error_category") once the process
    // has no descriptor left: the runtime's own type lookup needs some.
    GTEST_SKIP() << "the ASan+UBSan runtime misreports type checks without free descriptors";
#endif
    // A shell lowers the limit for vow-get alone; 30 downloads at once need more.
    std::string line = "ulimit -n 14; exec '" + std::string(VOW_GET_PATH) + "' --retries 0 -j 30 -o '" + dir_.string() + "'";
    for (int i = 0; i < 30; ++i) line += " '" + url("/bytes/1000?n=" + std::to_string(i)) + "'";
    process_result r = vow_test::run({"/bin/sh", "-c", line});
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_NE(r.err.find("Too many open files"), std::string::npos) << describe(r);
    EXPECT_EQ(r.err.find("Operation canceled"), std::string::npos) << describe(r);
}

TEST_F(vow_get, output_saves_the_single_url_under_the_given_name) {
    process_result r = vow_test::run(command({"-O", "chosen.bin", url("/bytes/300000")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("chosen.bin", 300000);
    EXPECT_FALSE(fs::exists(dir_ / "300000"));
}

TEST_F(vow_get, output_dash_writes_the_body_to_stdout_and_progress_to_stderr) {
    process_result r = vow_test::run({VOW_GET_PATH, "-O", "-", url("/bytes/300000?chunked=1")});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(r.out == loopback_server::body(300000)) << "stdout holds " << r.out.size() << " bytes";
    EXPECT_NE(r.err.find("done"), std::string::npos) << describe(r);
}

TEST_F(vow_get, output_dash_retries_a_failure_before_the_first_byte) {
    process_result r = vow_test::run(
        {VOW_GET_PATH, "-O", "-", url("/bytes/5000?fail=1&status=503&key=" + key())});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(r.out == loopback_server::body(5000)) << "stdout holds " << r.out.size() << " bytes";
}

TEST_F(vow_get, output_dash_never_retries_once_bytes_were_written) {
    process_result r = vow_test::run(
        {VOW_GET_PATH, "-O", "-", url("/bytes/100000?reset_after=20000&faults=1&key=" + key())});
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_LT(r.out.size(), 100000u);
    EXPECT_TRUE(r.out == loopback_server::body(r.out.size())) << "stdout is the body's start, never repeated";
}

TEST_F(vow_get, output_is_a_usage_error_with_several_urls_or_with_json_to_stdout) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"-O", "x", url("/bytes/1"), url("/bytes/2")},
             {"--output", "", url("/bytes/1")},
             {"-O", "-", "--json", url("/bytes/1")},
         }) {
        std::vector<std::string> argv{VOW_GET_PATH};
        argv.insert(argv.end(), args.begin(), args.end());
        process_result r = vow_test::run(argv);
        EXPECT_EQ(r.exit_code, 2) << describe(r);
        EXPECT_NE(r.err.find("--output"), std::string::npos) << describe(r);
    }
    EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(vow_get, header_sends_each_given_field_and_a_url_may_follow_it) {
    process_result r = vow_test::run(
        command({"-H", "X-One: 1", "--header", "X-Two:  two words ", url("/echo-headers")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::string sent = read_file(dir_ / "echo-headers");
    EXPECT_NE(sent.find("X-One: 1\r\n"), std::string::npos) << sent;
    EXPECT_NE(sent.find("X-Two: two words\r\n"), std::string::npos) << sent;
}

TEST_F(vow_get, header_given_twice_sends_both_and_one_vow_get_sets_replaces_its_own) {
    process_result r = vow_test::run(command(
        {"-H", "X-Tag: a", "-H", "X-Tag: b", "-H", "User-Agent: one", "-H", "User-Agent: two", url("/echo-headers")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::string sent = read_file(dir_ / "echo-headers");
    EXPECT_NE(sent.find("X-Tag: a\r\nX-Tag: b\r\n"), std::string::npos) << sent;
    EXPECT_NE(sent.find("User-Agent: two\r\n"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("User-Agent: one"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("vow-get/"), std::string::npos) << sent;
}

TEST_F(vow_get, user_agent_replaces_the_default_one) {
    process_result r = vow_test::run(command({"-A", "tester/1.0 (e2e)", url("/echo-headers")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::string sent = read_file(dir_ / "echo-headers");
    EXPECT_NE(sent.find("User-Agent: tester/1.0 (e2e)\r\n"), std::string::npos) << sent;
    EXPECT_EQ(sent.find("vow-get/"), std::string::npos) << sent;
}

TEST_F(vow_get, user_sends_basic_authentication_and_never_prints_the_password) {
    process_result r = vow_test::run(command({"--user", "alice:s3cret:x", "--json", url("/echo-headers")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::string sent = read_file(dir_ / "echo-headers");
    // base64("alice:s3cret:x"): the password is everything after the first ':'.
    EXPECT_NE(sent.find("Authorization: Basic YWxpY2U6czNjcmV0Ong=\r\n"), std::string::npos) << sent;
    EXPECT_EQ((r.out + r.err).find("s3cret"), std::string::npos) << describe(r);

    process_result no_password = vow_test::run(command({"--user", "bob", "-O", "bob.txt", url("/echo-headers")}));
    ASSERT_EQ(no_password.exit_code, 0) << describe(no_password);
    // base64("bob:"): no prompt, an empty password.
    EXPECT_NE(read_file(dir_ / "bob.txt").find("Authorization: Basic Ym9iOg==\r\n"), std::string::npos);
}

TEST_F(vow_get, max_redirects_limits_the_redirects_followed) {
    process_result within = vow_test::run(command({"--max-redirects", "3", "-O", "a", url("/redirect/2")}));
    ASSERT_EQ(within.exit_code, 0) << describe(within);
    expect_file_is_body("a", 16);
    process_result beyond = vow_test::run(command({"--max-redirects", "2", "-O", "b", url("/redirect/2")}));
    EXPECT_EQ(beyond.exit_code, 1) << describe(beyond);
    EXPECT_NE(beyond.err.find("redirects"), std::string::npos) << describe(beyond);
    EXPECT_FALSE(fs::exists(dir_ / "b"));
}

TEST_F(vow_get, bad_request_shaping_values_are_usage_errors_naming_the_option) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"-H", "NoColon"},
             {"-H", "Bad Name: x"},
             {"-H", ": empty name"},
             {"-H", "X-Split: a\r\nInjected: b"},
             {"-H", "Range: bytes=0-"},
             {"--header", "content-length: 5"},
             {"-A", "two\nlines"},
             {"--user", ""},
             {"--max-redirects", "-1"},
             {"--max-redirects", "many"},
         }) {
        std::vector<std::string> argv{VOW_GET_PATH};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(url("/bytes/1"));
        process_result r = vow_test::run(argv);
        std::string option = args[0] == "-H" ? "--header" : args[0] == "-A" ? "--user-agent" : args[0];
        EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << "\n" << describe(r);
        EXPECT_NE(r.err.find(option), std::string::npos) << args[0] << " " << args[1] << "\n" << describe(r);
    }
}

TEST_F(vow_get, input_file_option_lines_apply_to_their_url_only) {
    fs::path list = dir_ / "urls.txt";
    std::ofstream(list) << url("/bytes/1000") << "\n"
                        << "  out=first.bin\n"
                        << "  checksum=sha-256=" << sha256_hex(loopback_server::body(1000)) << "\n"
                        << "# a comment between\n"
                        << "\t header=X-Item: one\n"
                        << url("/echo-headers") << "\n"
                        << "\tout=second.txt\n"
                        << "\theader=X-Item: two\n"
                        << "\theader=X-Over: own\n"
                        << url("/echo-headers") << "\n";
    process_result r = vow_test::run(
        command({"-i", list.string(), "-H", "X-All: yes", "-H", "X-Over: cli", "-H", "X-Over: cli2", "--json"}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("first.bin", 1000);
    auto lines = json_lines(r.out);
    const flat_object* first = for_file(lines, "first.bin");
    ASSERT_NE(first, nullptr) << r.out;
    EXPECT_EQ(text_field(*first, "sha256") ? *text_field(*first, "sha256") : "", sha256_hex(loopback_server::body(1000)));
    std::string second = read_file(dir_ / "second.txt");
    EXPECT_NE(second.find("X-Item: two\r\n"), std::string::npos) << second;
    EXPECT_NE(second.find("X-All: yes\r\n"), std::string::npos) << second;
    EXPECT_NE(second.find("X-Over: own\r\n"), std::string::npos) << second;
    EXPECT_EQ(second.find("X-Over: cli"), std::string::npos) << "header= replaces the -H of its name: " << second;
    std::string third = read_file(dir_ / "echo-headers");
    EXPECT_EQ(third.find("X-Item"), std::string::npos) << "another URL's header= leaked: " << third;
    EXPECT_NE(third.find("X-All: yes\r\n"), std::string::npos) << third;
    EXPECT_NE(third.find("X-Over: cli\r\nX-Over: cli2\r\n"), std::string::npos) << third;
}

TEST_F(vow_get, input_file_checksums_are_checked_per_url) {
    fs::path list = dir_ / "urls.txt";
    std::ofstream(list) << url("/bytes/2000") << "\n  checksum=sha-256=" << sha256_hex(loopback_server::body(2000))
                        << "\n" << url("/bytes/3000") << "\n  checksum=sha-256=" << std::string(64, '0') << "\n";
    process_result r = vow_test::run(command({"-i", list.string()}));
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    expect_file_is_body("2000", 2000);
    EXPECT_FALSE(fs::exists(dir_ / "3000"));
    EXPECT_NE(r.err.find("3000"), std::string::npos) << describe(r);
}

TEST_F(vow_get, a_bad_input_file_line_is_a_usage_error_naming_its_line_and_nothing_is_downloaded) {
    struct bad_file {
        std::string text;
        std::string line;
    };
    const std::string u = url("/bytes/10");
    for (const auto& bad : std::vector<bad_file>{
             {"  out=x\n" + u + "\n", "line 1"},
             {u + "\n  out=a/b\n", "line 2"},
             {u + "\n  out=..\n", "line 2"},
             {u + "\n  out=\n", "line 2"},
             {u + "\n  out=a\n  out=b\n", "line 3"},
             {u + "\n\n  checksum=md5=abc\n", "line 3"},
             {u + "\n  checksum=sha-256=12ab\n", "line 2"},
             {u + "\n  header=No colon\n", "line 2"},
             {u + "\n  header=Range: bytes=1-\n", "line 2"},
             {u + "\n  split=4\n", "line 2"},
         }) {
        fs::path list = dir_ / "urls.txt";
        std::ofstream(list) << bad.text;
        process_result r = vow_test::run(command({"-i", list.string()}));
        EXPECT_EQ(r.exit_code, 2) << bad.text << describe(r);
        EXPECT_NE(r.err.find("--input-file"), std::string::npos) << bad.text << describe(r);
        EXPECT_NE(r.err.find(bad.line + ":"), std::string::npos) << bad.text << describe(r);
        EXPECT_FALSE(fs::exists(dir_ / "10")) << bad.text;
    }
}

TEST_F(vow_get, output_to_stdout_with_a_checksum_is_a_usage_error) {
    process_result r = vow_test::run({VOW_GET_PATH, "-O", "-", "--sha256", std::string(64, 'a'), url("/bytes/1")});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE(r.err.find("--output"), std::string::npos) << describe(r);
}

TEST_F(vow_get, on_a_terminal_progress_bars_render_and_finish) {
    child_process child(command({url("/bytes/1048576?rate=700000"), url("/bytes/65536")}),
                        child_process::io::terminal, 100);
    process_result r = child.wait(std::chrono::seconds(60));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("\x1b["), std::string::npos) << "no escape sequences: " << describe(r);
    EXPECT_NE(r.out.find("\x1b[?25l"), std::string::npos) << "the cursor is hidden while drawing";
    EXPECT_NE(r.out.find("\x1b[?25h"), std::string::npos) << "and shown again at the end";
    EXPECT_NE(r.out.find("%"), std::string::npos) << "no percentage: " << describe(r);
    EXPECT_NE(r.out.find("[#"), std::string::npos) << "no bar: " << describe(r);
    EXPECT_NE(r.out.find("total: 2/2 done"), std::string::npos) << describe(r);
    expect_file_is_body("1048576", 1048576);
    expect_file_is_body("65536", 65536);
}

// Without --overwrite, a file put at the item's name while it downloads is
// not replaced. Here the file comes while the first request stalls (until
// --idle-timeout), and the retry looks first: it fails at once, without
// fetching the rest.
TEST_F(vow_get, without_overwrite_a_file_put_at_the_name_before_a_retry_stops_it) {
    const std::string target = "/bytes/2000000?stall_after=65536&faults=1&key=" + key();
    expect_a_file_put_meanwhile_is_kept({"--idle-timeout", "1", "--retries", "1", url(target)}, 65536);
}

// The same when the file comes during the one attempt (the server sends at
// 2 MB/s, so it has 1 s): the download completes, and its last step does not
// replace the file.
TEST_F(vow_get, without_overwrite_a_file_put_at_the_name_meanwhile_is_not_replaced) {
    expect_a_file_put_meanwhile_is_kept({url("/bytes/2000000?rate=2000000")}, 2000000);
}

// A /bytes/N URL whose response carries Content-Disposition: `disposition`.
std::string disposition_target(std::uint64_t n, const std::string& disposition) {
    std::string encoded;
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : disposition) {
        if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
            encoded += static_cast<char>(c);
        } else {
            encoded += '%';
            encoded += hex[c >> 4];
            encoded += hex[c & 0xf];
        }
    }
    return "/bytes/" + std::to_string(n) + "?disposition=" + encoded;
}

TEST_F(vow_get, content_disposition_names_the_file_after_the_servers_filename) {
    process_result r = vow_test::run(command({"--content-disposition", "--json",
                                              url(disposition_target(1000, "attachment; filename=\"report.pdf\""))}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("report.pdf", 1000);
    EXPECT_FALSE(fs::exists(dir_ / "1000"));
    auto lines = json_lines(r.out);
    EXPECT_NE(for_file(lines, "report.pdf"), nullptr) << r.out;
}

TEST_F(vow_get, content_disposition_prefers_the_utf8_filename_star_percent_decoded) {
    process_result r = vow_test::run(command(
        {"--content-disposition",
         url(disposition_target(1000, "attachment; filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt"))}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("\xe2\x82\xac rates.txt", 1000);
}

TEST_F(vow_get, content_disposition_reads_iso_8859_1_language_tags_and_quoted_escapes) {
    process_result latin = vow_test::run(command(
        {"--content-disposition", url(disposition_target(1000, "attachment; filename*=iso-8859-1'en'%A3%20rates.txt"))}));
    ASSERT_EQ(latin.exit_code, 0) << describe(latin);
    expect_file_is_body("\xc2\xa3 rates.txt", 1000);
    process_result quoted = vow_test::run(command(
        {"--content-disposition", url(disposition_target(2000, "inline; size=2000; filename=\"say \\\"hi\\\".txt\""))}));
    ASSERT_EQ(quoted.exit_code, 0) << describe(quoted);
    expect_file_is_body("say \"hi\".txt", 2000);
}

TEST_F(vow_get, content_disposition_is_reduced_to_a_safe_base_name) {
    struct named {
        std::string disposition;
        std::string file;
    };
    int n = 100;
    for (const auto& c : std::vector<named>{
             {"attachment; filename=\"../../etc/passwd\"", "passwd"},
             {"attachment; filename=\"..\\\\win\\\\evil.bat\"", "evil.bat"},
             {"attachment; filename=\".bashrc\"", "bashrc"},
             {"attachment; filename*=UTF-8''a%0Ab%1B%5Bc.txt", "ab[c.txt"},
             {"attachment; filename=\"..\"", std::to_string(n + 4)},     // nothing left: the URL's name
             {"attachment", std::to_string(n + 5)},                       // no filename
             {"attachment; filename*=KOI8-R''x.txt", std::to_string(n + 6)},  // a charset not supported
         }) {
        process_result r = vow_test::run(command({"--content-disposition", url(disposition_target(n, c.disposition))}));
        ASSERT_EQ(r.exit_code, 0) << c.disposition << describe(r);
        expect_file_is_body(c.file, static_cast<std::uint64_t>(n)) ;
        EXPECT_FALSE(has_control_characters(r.err)) << describe(r);
        ++n;
    }
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        (void)entry;
        ++files;
    }
    EXPECT_EQ(files, 7u) << "every file stays in the output folder";
}

TEST_F(vow_get, content_disposition_never_replaces_a_file_already_there_nor_another_items) {
    std::ofstream(dir_ / "same.bin") << "mine";
    process_result r = vow_test::run(command({"--content-disposition",
                                              url(disposition_target(1000, "attachment; filename=same.bin")),
                                              url(disposition_target(2000, "attachment; filename=2000"))}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(read_file(dir_ / "same.bin"), "mine");
    expect_file_is_body("same.bin.1", 1000);
    expect_file_is_body("2000", 2000);
}

// A name the server suggests may be another item's .part: that item would
// take the finished file for its own leftover and replace it.
TEST_F(vow_get, content_disposition_never_renames_onto_another_items_part) {
    process_result r = vow_test::run(command({"--content-disposition", "-j", "1",
                                              url(disposition_target(1000, "attachment; filename=2000.part")),
                                              url(disposition_target(2000, "attachment; filename=2000.part.meta"))}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("2000.part.1", 1000);
    expect_file_is_body("2000.part.meta.1", 2000);
    EXPECT_FALSE(fs::exists(dir_ / "2000.part"));
    EXPECT_FALSE(fs::exists(dir_ / "2000.part.meta"));
}

TEST_F(vow_get, content_disposition_leaves_a_name_given_with_output_alone) {
    process_result r = vow_test::run(command({"--content-disposition", "-O", "mine.bin",
                                              url(disposition_target(1000, "attachment; filename=theirs.bin"))}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    expect_file_is_body("mine.bin", 1000);
    EXPECT_FALSE(fs::exists(dir_ / "theirs.bin"));
}

TEST_F(vow_get, with_many_downloads_in_flight_bars_are_drawn_for_eight_at_most) {
    std::vector<std::string> args{"-j", "40"};
    for (int i = 0; i < 40; ++i) args.push_back(url("/bytes/" + std::to_string(150000 + i) + "?rate=150000"));
    child_process child(command(args), child_process::io::terminal, 100);
    process_result r = child.wait(std::chrono::seconds(60));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    // Each frame moves the cursor up over the last one: bars plus the total line.
    std::size_t highest = 0;
    for (std::size_t at = r.out.find("\x1b["); at != std::string::npos; at = r.out.find("\x1b[", at + 1)) {
        std::size_t end = r.out.find_first_not_of("0123456789", at + 2);
        if (end != std::string::npos && end > at + 2 && r.out[end] == 'A')
            highest = std::max<std::size_t>(highest, std::stoul(r.out.substr(at + 2, end - at - 2)));
    }
    EXPECT_GT(highest, 1u) << "no bars were drawn";
    EXPECT_LE(highest, 9u) << "more than 8 bars in one frame";
    EXPECT_NE(r.out.find("(8 shown)"), std::string::npos) << "the total line says how many bars it shows";
    EXPECT_NE(r.out.find("all 40 done: "), std::string::npos);
}

TEST_F(vow_get, a_finished_run_says_how_many_files_bytes_time_and_average_rate) {
    process_result r = vow_test::run(command({url("/bytes/1048576"), url("/bytes/1048576?chunked=1")}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.err.find("all 2 done: 2.00 MiB in "), std::string::npos) << describe(r);
    EXPECT_NE(r.err.find("/s average)"), std::string::npos) << describe(r);
}

// Columns a captured line takes: its code points (the test's text is ASCII
// and "…").
std::size_t columns_of(const std::string& line) {
    std::size_t n = 0;
    for (unsigned char c : line) n += (c & 0xc0) != 0x80;
    return n;
}

// What a tmux pane of `columns` x 30 shows after `shell_command` ran in it: a
// tmux server of the test's own (its own socket), ended afterwards. Lines
// tmux wrapped come back joined (-J), so a wrapped line is a long line.
std::vector<std::string> tmux_screen(const std::string& shell_command, unsigned columns) {
    const std::string socket = "vow-get-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(columns);
    const std::string signal = "finished-" + socket;
    const std::vector<std::string> tmux{"/usr/bin/tmux", "-L", socket, "-f", "/dev/null"};
    auto with = [&](std::vector<std::string> args) {
        std::vector<std::string> argv = tmux;
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    };
    process_result started = vow_test::run(with({"new-session", "-d", "-x", std::to_string(columns), "-y", "30",
                                                shell_command + "; tmux -L " + socket + " wait-for -S " + signal +
                                                    "; sleep 60"}));
    EXPECT_EQ(started.exit_code, 0) << describe(started);
    process_result waited = vow_test::run(with({"wait-for", signal}), std::chrono::seconds(90));
    EXPECT_EQ(waited.exit_code, 0) << describe(waited);
    process_result captured = vow_test::run(with({"capture-pane", "-p", "-J", "-S", "-"}));
    vow_test::run(with({"kill-server"}));
    std::vector<std::string> lines;
    std::istringstream in(captured.out);
    for (std::string line; std::getline(in, line);) {
        while (!line.empty() && line.back() == ' ') line.pop_back();
        lines.push_back(line);
    }
    return lines;
}

TEST_F(vow_get, in_tmux_at_60_and_120_columns_no_line_wraps_or_is_garbled) {
    if (!fs::exists("/usr/bin/tmux")) GTEST_SKIP() << "tmux is not installed (build.sh installs it)";
    const std::string long_name(90, 'n');
    fs::path list = dir_ / "urls.txt";
    {
        std::ofstream out(list);
        for (int i = 0; i < 12; ++i)
            out << url("/bytes/" + std::to_string(300000 + i) + "/" + long_name + std::to_string(i) + ".bin?rate=600000")
                << "\n";
        out << url("/status/404?" + std::string(120, 'q')) << "\n  out=" << long_name << "-missing.bin\n";
    }
    for (unsigned columns : {60u, 120u}) {
        fs::path out_dir = dir_ / ("c" + std::to_string(columns));
        std::string command_line = std::string(VOW_GET_PATH) + " -o " + out_dir.string() + " -j 6 --retries 0 -i " +
                                   list.string() + "; echo EXIT=$?";
        std::vector<std::string> screen = tmux_screen(command_line, columns);
        std::string shown;
        for (const auto& line : screen) shown += line + "\n";
        EXPECT_NE(shown.find("EXIT=1"), std::string::npos) << shown;
        EXPECT_NE(shown.find("1 of 13 failed:"), std::string::npos) << shown;
        for (const auto& line : screen) {
            EXPECT_LE(columns_of(line), columns - 1) << "a line as wide as the pane, or wrapped, at " << columns
                                                     << " columns:\n" << line << "\n--- screen ---\n" << shown;
            // A garbled line is a redraw written over the rest of a wrapped one:
            // a bar or the total line that does not start the line.
            auto total = line.find("total: ");
            EXPECT_TRUE(total == std::string::npos || total == 0) << line << "\n--- screen ---\n" << shown;
            auto bar = line.find(" [");
            EXPECT_TRUE(bar == std::string::npos || line.rfind("nnnn", 0) == 0 || line.rfind("done", 0) == 0 ||
                        line.rfind("failed", 0) == 0 || line.rfind("retry", 0) == 0 || line.rfind("  nnnn", 0) == 0)
                << line << "\n--- screen ---\n" << shown;
        }
    }
}

TEST_F(vow_get, in_tmux_the_width_is_read_again_when_the_pane_shrinks) {
    if (!fs::exists("/usr/bin/tmux")) GTEST_SKIP() << "tmux is not installed (build.sh installs it)";
    const std::string name(70, 'w');
    const fs::path part = dir_ / (name + ".part");
    const std::string socket = "vow-get-e2e-" + std::to_string(::getpid()) + "-resize";
    // In the pane: start a 3 s download, shrink the window from 120 to 50
    // columns once its .part exists (SIGWINCH), and let it finish.
    std::string command_line = std::string(VOW_GET_PATH) + " -o " + dir_.string() + " '" +
                               url("/bytes/3000000/" + name + "?rate=1000000") + "' & p=$!; " +
                               "while [ ! -e " + part.string() + " ]; do sleep 0.05; done; " +
                               "tmux -L " + socket + " resize-window -x 50; wait $p; echo EXIT=$?";
    const std::vector<std::string> tmux{"/usr/bin/tmux", "-L", socket, "-f", "/dev/null"};
    auto with = [&](std::vector<std::string> args) {
        std::vector<std::string> argv = tmux;
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    };
    process_result started = vow_test::run(with({"new-session", "-d", "-x", "120", "-y", "30",
                                                command_line + "; tmux -L " + socket + " wait-for -S done-" + socket +
                                                    "; sleep 60"}));
    ASSERT_EQ(started.exit_code, 0) << describe(started);
    process_result waited = vow_test::run(with({"wait-for", "done-" + socket}), std::chrono::seconds(60));
    process_result captured = vow_test::run(with({"capture-pane", "-p", "-J", "-S", "-"}));
    vow_test::run(with({"kill-server"}));
    ASSERT_EQ(waited.exit_code, 0) << describe(waited);
    EXPECT_NE(captured.out.find("EXIT=0"), std::string::npos) << captured.out;
    // From the "done" line of the long name on, everything was written after
    // the resize: within 49 columns (the name alone is 70).
    std::istringstream in(captured.out);
    bool after_done = false;
    std::size_t checked = 0;
    for (std::string line; std::getline(in, line);) {
        while (!line.empty() && line.back() == ' ') line.pop_back();
        after_done = after_done || line.rfind("done   www", 0) == 0;
        if (!after_done || line.empty()) continue;
        ++checked;
        EXPECT_LE(columns_of(line), 49u) << line << "\n--- screen ---\n" << captured.out;
    }
    EXPECT_GE(checked, 3u) << "the done, total and summary lines\n" << captured.out;
    expect_file_is_body(name, 3000000);
}

TEST_F(vow_get, every_option_of_help_is_in_the_manual_the_completion_and_the_docs) {
    process_result help = vow_test::run({VOW_GET_PATH, "--help"});
    ASSERT_EQ(help.exit_code, 0) << describe(help);
    const fs::path source = VOW_SOURCE_DIR;
    const std::string manual = read_file(source / "tools/vow-get/share/vow-get.1");
    const std::string completion = read_file(source / "tools/vow-get/share/vow-get.bash-completion");
    const std::string docs = read_file(source / "docs/vow-get.md");
    ASSERT_FALSE(manual.empty());
    ASSERT_FALSE(completion.empty());
    // Long options as --help prints them: "--name" up to a blank, ',' or end.
    std::vector<std::string> options;
    const std::size_t options_section = help.out.find("Options:");
    ASSERT_NE(options_section, std::string::npos) << help.out;
    for (std::size_t at = help.out.find("--", options_section); at != std::string::npos;
         at = help.out.find("--", at + 2)) {
        std::size_t end = help.out.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-", at + 2);
        std::string option = help.out.substr(at, end - at);
        if (option.size() > 2 && std::find(options.begin(), options.end(), option) == options.end())
            options.push_back(option);
    }
    ASSERT_GE(options.size(), 20u);
    for (const auto& option : options) {
        std::string in_roff;  // a manual page writes '-' as "\-"
        for (char c : option) in_roff += c == '-' ? std::string("\\-") : std::string(1, c);
        EXPECT_NE(manual.find(in_roff), std::string::npos) << option << " is not in the manual page";
        // As a whole word: "--output" must not be found in "--output-dir".
        bool completed = false;
        for (std::size_t at = completion.find(option); at != std::string::npos && !completed;
             at = completion.find(option, at + 1)) {
            char next = at + option.size() < completion.size() ? completion[at + option.size()] : ' ';
            completed = !std::isalnum(static_cast<unsigned char>(next)) && next != '-';
        }
        EXPECT_TRUE(completed) << option << " is not completed";
        EXPECT_NE(docs.find(option), std::string::npos) << option << " is not in docs/vow-get.md";
    }
}

TEST_F(vow_get, demo_shows_every_case_as_expected) {
    auto started = std::chrono::steady_clock::now();
    process_result r = vow_test::run({VOW_GET_PATH, "--demo"}, std::chrono::seconds(90));
    auto took = std::chrono::steady_clock::now() - started;
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_FALSE(has_control_characters(r.err)) << describe(r);
    EXPECT_NE(r.err.find("every case behaved as expected"), std::string::npos) << describe(r);
    EXPECT_LT(took, std::chrono::seconds(30)) << describe(r);
}

}  // namespace
