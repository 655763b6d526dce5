// Shape 3: the same with coroutines: co_await instead of callbacks, errors as
// exceptions, and co_await vow::resume_on(pool) to move work off the caller.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "vow/vow.hpp"

// [readme: co_await]
vow::future<int> parse_on(vow::executor& pool, std::string text) {
    co_await vow::resume_on(pool);  // from here on, running on a pool worker
    co_return std::stoi(text);
}

vow::future<int> sum_of(vow::executor& pool, std::string a, std::string b) {
    int x = co_await parse_on(pool, a);
    int y = co_await parse_on(pool, b);
    co_return x + y;
}
// [/readme]

int main() {
    vow::thread_pool pool(2, "coro");
    std::printf("sum: %d\n", sum_of(pool, "20", "22").get());
    try {
        sum_of(pool, "20", "twenty-two").get();
    } catch (const std::invalid_argument& e) {
        std::printf("error propagated through co_await: %s\n", e.what());
    }
    return 0;
}
