// ThreadSanitizer suppressions built into the executor tests (TSan builds only).
//
// thread_pool queues tasks in moodycamel::ConcurrentQueue, which hands a slot
// from consumer back to producer through relaxed atomics plus
// std::atomic_thread_fence. TSan does not model fences (g++ says so with
// -Wtsan, and concurrentqueue.h's own comment warns of false reports), so it
// reports the producer constructing a task in a recycled slot as racing with
// the consumer that moved the previous task out. Only races with a
// moodycamel::ConcurrentQueue frame are silenced; a race in vow's own code or
// in a task body is still reported. Drop this once the pool uses a queue that
// TSan can see through (or the queue is swapped for a locked one under TSan).
//
// std::exception_ptr counts its references with atomics inside libstdc++.so,
// which is not instrumented: when the last reference to an exception is
// dropped on another thread than the one that read it (an error made on an
// I/O thread and caught by the test), TSan sees the delete but not the
// ordering. Only races whose stack holds exception_ptr's release are silenced.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
    return "race:moodycamel::ConcurrentQueue\n"
           "race:std::__exception_ptr::exception_ptr::_M_release\n";
}
#endif
