#include <atomic>
#include <cstdio>

#include <vow/vow.hpp>

int main() {
    std::atomic<int> ran{0};
    {
        vow::thread_pool pool(2);
        for (int i = 0; i < 100; ++i) pool.execute([&] { ran.fetch_add(1); });
    }  // the destructor drains
    std::printf("consumer ran %d tasks\n", ran.load());
    return ran.load() == 100 ? 0 : 1;
}
