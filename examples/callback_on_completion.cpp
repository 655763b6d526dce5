// Shape 1: "call me back when the long operation finishes" — the classic
// get_data(url, callback). With vow the operation returns a future, and the
// callback always runs: with the value, or with the typed error that stopped it.
#include <latch>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "vow/vow.hpp"

// A long operation: fetches a "document" on the pool; ids above 2 fail.
vow::future<std::string> fetch_document(vow::executor& ex, int id) {
    return vow::submit(ex, [id](std::stop_token stop) {
        for (int step = 0; step < 5; ++step) {
            if (stop.stop_requested()) throw vow::cancelled_error();
            volatile long spin = 0;
            for (long i = 0; i < 200'000; ++i) spin = spin + i;  // pretend to work
        }
        if (id > 2) throw std::runtime_error("document " + std::to_string(id) + " not found");
        return "document #" + std::to_string(id);
    });
}

int main() {
    vow::thread_pool pool(2, "fetch");
    vow::strand printer(pool);  // callbacks print one at a time, in order of completion
    std::latch done(3);

    for (int id = 1; id <= 3; ++id) {
        auto f = fetch_document(pool, id).via(printer);
        f.add_done_callback([id, &done](const vow::result<std::string>& r) {
            if (r.has_value()) {
                std::printf("callback %d: got %s\n", id, r.value().c_str());
            } else {
                try {
                    r.value();
                } catch (const std::exception& e) {
                    std::printf("callback %d: failed: %s\n", id, e.what());
                }
            }
            done.count_down();
        });
    }
    done.wait();
    return 0;
}
