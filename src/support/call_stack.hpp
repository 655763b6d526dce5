// A per-thread stack of "which executor is running a task on this thread",
// behind every executor's running_in_this_thread().
#pragma once

namespace vow::detail {

class call_stack {
public:
    // Marks `key` as running on this thread for the lifetime of the frame.
    class frame {
    public:
        explicit frame(const void* key) noexcept : key_(key), next_(top_) { top_ = this; }
        ~frame() { top_ = next_; }
        frame(const frame&) = delete;
        frame& operator=(const frame&) = delete;

    private:
        friend class call_stack;
        const void* key_;
        frame* next_;
    };

    static bool contains(const void* key) noexcept {
        for (const frame* f = top_; f != nullptr; f = f->next_)
            if (f->key_ == key) return true;
        return false;
    }

private:
    static inline thread_local frame* top_ = nullptr;
};

}  // namespace vow::detail
