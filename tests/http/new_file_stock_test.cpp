// new_file_stock (src/http/new_file_stock.hpp): unnamed files made ahead in
// one folder, taken by part_file, and client::make_files_ahead, which keeps
// one for a batch.
#include "../../src/http/new_file_stock.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../src/http/part_file.hpp"
#include "http_test_support.hpp"
#include "vow/http/client.hpp"
#include "vow/http/loopback_server.hpp"

namespace {

namespace fs = std::filesystem;
using vow::http::detail::new_file_stock;
using vow::http::detail::new_file_stocks;
using vow::http::detail::part_file;
using vow::http::detail::part_meta;

// Descriptors open on files in `folder` (an unnamed one reads "folder/#N (deleted)").
// Only those: the loopback server's threads open and close sockets meanwhile.
int open_in(const fs::path& folder) {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        auto target = fs::read_symlink(e.path(), ec);
        n += !ec && target.string().rfind(folder.string() + "/", 0) == 0;
    }
    return n;
}

int entries_in(const fs::path& folder) {
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(folder)) ++n;
    return n;
}

class new_file_stock_test : public ::testing::Test {
protected:
    void SetUp() override {
        static std::atomic<int> counter{0};
        dir_ = fs::temp_directory_path() /
               ("vow_new_file_stock_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(new_file_stock_test, gives_unnamed_files_in_its_folder_and_no_more_than_its_count) {
    new_file_stock stock(dir_, 3, 2);
    struct stat folder {};
    ASSERT_EQ(::stat(dir_.c_str(), &folder), 0);
    for (int i = 0; i < 3; ++i) {
        const int fd = stock.take();
        ASSERT_GE(fd, 0) << "take " << i;
        struct stat st {};
        ASSERT_EQ(::fstat(fd, &st), 0);
        EXPECT_EQ(st.st_nlink, 0u) << "an unnamed file";
        EXPECT_EQ(st.st_dev, folder.st_dev) << "on the folder's file system";
        ::close(fd);
    }
    EXPECT_EQ(stock.take(), -1) << "the count is spent: the caller makes its own";
    EXPECT_EQ(entries_in(dir_), 0) << "nothing shows in the folder";
}

TEST_F(new_file_stock_test, files_not_taken_are_closed_when_it_stops) {
    int taken = -1;
    {
        new_file_stock stock(dir_, 100, 8);
        taken = stock.take();
        ASSERT_GE(taken, 0);
        stock.stop();
        EXPECT_EQ(open_in(dir_), 1) << "only the file taken stays open";
        EXPECT_EQ(stock.take(), -1) << "a take after stop gets none";
    }
    ::close(taken);
    EXPECT_EQ(open_in(dir_), 0);
}

TEST_F(new_file_stock_test, never_holds_more_than_its_ahead_open) {
    new_file_stock stock(dir_, 200, 4);
    for (int i = 0; i < 200; ++i) {
        const int fd = stock.take();
        ASSERT_GE(fd, 0);
        // The taken one, at most 4 ready, and the one the maker may be making.
        EXPECT_LE(open_in(dir_), 1 + 4 + 1) << "take " << i;
        ::close(fd);
    }
}

TEST_F(new_file_stock_test, a_folder_where_no_file_can_be_made_gives_none) {
    new_file_stock stock(dir_ / "missing", 5, 2);
    EXPECT_EQ(stock.take(), -1);
    EXPECT_EQ(stock.take(), -1);
}

TEST_F(new_file_stock_test, takers_on_several_threads_share_the_count_without_a_file_given_twice) {
    constexpr int count = 300;
    new_file_stock stock(dir_, count, 8);
    std::vector<std::vector<int>> got(4);
    std::vector<std::thread> takers;
    for (auto& mine : got)
        takers.emplace_back([&stock, &mine] {
            for (int fd; (fd = stock.take()) >= 0;) mine.push_back(fd);
        });
    for (auto& t : takers) t.join();
    std::set<int> all;
    std::size_t total = 0;
    for (const auto& mine : got) {
        total += mine.size();
        all.insert(mine.begin(), mine.end());
    }
    EXPECT_EQ(total, static_cast<std::size_t>(count));
    EXPECT_EQ(all.size(), total) << "each descriptor went to one taker";
    for (int fd : all) ::close(fd);
}

TEST_F(new_file_stock_test, a_part_file_takes_its_new_file_from_the_stock_and_links_it_in) {
    auto stock = std::make_shared<new_file_stock>(dir_, 1, 1);
    part_file file(dir_ / "f.bin");
    file.take_new_files_from(stock);
    file.known_absent();
    file.open(false, part_meta{"http://example/f.bin", std::nullopt, 5, {}}, false, 5);
    EXPECT_EQ(stock->take(), -1) << "the stock's one file went to the part_file";
    file.write("hello", 5);
    file.commit();
    EXPECT_EQ(vow_http_test::read_file(dir_ / "f.bin"), "hello");
    EXPECT_EQ(entries_in(dir_), 1);
}

TEST_F(new_file_stock_test, a_part_file_makes_its_own_when_the_stock_has_none_left) {
    auto stock = std::make_shared<new_file_stock>(dir_, 0, 1);
    part_file file(dir_ / "f.bin");
    file.take_new_files_from(stock);
    file.known_absent();
    file.open(false, part_meta{"http://example/f.bin", std::nullopt, 5, {}}, false, 5);
    file.write("hello", 5);
    file.commit();
    EXPECT_EQ(vow_http_test::read_file(dir_ / "f.bin"), "hello");
}

TEST(new_file_stocks, finds_a_stock_by_its_folder_however_the_path_is_spelt) {
    new_file_stocks stocks;
    auto out = std::make_shared<new_file_stock>("some/out/", 0, 1);
    auto here = std::make_shared<new_file_stock>("", 0, 1);
    stocks.add(out);
    stocks.add(here);
    EXPECT_EQ(stocks.find(fs::path("some/out/x.bin").parent_path()), out);
    EXPECT_EQ(stocks.find("./some/out"), out);
    EXPECT_EQ(stocks.find(fs::path("x.bin").parent_path()), here);
    EXPECT_EQ(stocks.find("some"), nullptr);
    stocks.remove(out.get());
    EXPECT_EQ(stocks.find("some/out"), nullptr);
    EXPECT_EQ(stocks.find("."), here);
}

// --- client::make_files_ahead ------------------------------------------------

vow::http::loopback_server& server() {
    static vow::http::loopback_server s(vow::http::loopback_server::options{.tls = false});
    return s;
}

TEST_F(new_file_stock_test, a_batch_made_ahead_downloads_every_file_and_dropping_it_closes_what_was_not_taken) {
    vow::http::client client;
    std::vector<vow::http::batch_item> items;
    for (int i = 0; i < 20; ++i) items.push_back({server().http_url("/bytes/" + std::to_string(1000 + i)), ""});
    {
        auto ahead = client.make_files_ahead(dir_, 40);  // more than will be taken
        EXPECT_TRUE(ahead.active());
        std::vector<vow::future<vow::http::download_result>> downloads;
        for (int i = 0; i < 20; ++i)
            downloads.push_back(client.download(items[i].url, dir_ / ("f" + std::to_string(i))));
        for (int i = 0; i < 20; ++i) {
            vow_http_test::get_within(std::move(downloads[i]));
            EXPECT_EQ(vow_http_test::read_file(dir_ / ("f" + std::to_string(i))),
                      vow::http::loopback_server::body(1000 + i));
        }
    }
    EXPECT_EQ(entries_in(dir_), 20) << "no .part, nothing else";
    EXPECT_EQ(open_in(dir_), 0) << "the files made and not taken are closed";
}

TEST_F(new_file_stock_test, a_batch_of_fewer_than_16_files_is_not_made_ahead) {
    vow::http::client client;
    EXPECT_FALSE(client.make_files_ahead(dir_, 15).active());
    EXPECT_TRUE(client.make_files_ahead(dir_, 16).active());
}

TEST_F(new_file_stock_test, download_all_makes_its_folders_files_ahead_and_gets_them_all) {
    vow::http::client client;
    std::vector<vow::http::batch_item> items;
    for (int i = 0; i < 40; ++i)
        items.push_back({server().http_url("/bytes/" + std::to_string(2000 + i)), "g" + std::to_string(i)});
    auto results = vow_http_test::get_within(client.download_all(items, dir_, {}));
    ASSERT_EQ(results.size(), 40u);
    for (int i = 0; i < 40; ++i) {
        ASSERT_TRUE(results[i].has_value()) << i;
        EXPECT_EQ(vow_http_test::read_file(dir_ / ("g" + std::to_string(i))),
                  vow::http::loopback_server::body(2000 + i));
    }
    EXPECT_EQ(entries_in(dir_), 40);
}

}  // namespace
