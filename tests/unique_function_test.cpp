#include "vow/unique_function.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <type_traits>

#include "counted.hpp"

// ---- allocation counting ----------------------------------------------------
// The global allocation functions are replaced (every form that is paired, so
// sanitizers still see matching malloc/free) to count allocations made by the
// current thread while a test is looking.

namespace {
thread_local long allocations = 0;

// Out of line so g++ does not see free() applied to the result of `new` once it
// inlines a delete below (-Wmismatched-new-delete).
[[gnu::noinline]] void release(void* p) noexcept { std::free(p); }
}  // namespace

void* operator new(std::size_t n) {
    ++allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    ++allocations;
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t a) {
    ++allocations;
    const auto align = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

namespace {

using vow::unique_function;
using vow_test::counters;
using vow_test::make_counted;

// Allocations made by this thread since construction.
class allocation_counter {
public:
    allocation_counter() : start_(allocations) {}
    long count() const { return allocations - start_; }

private:
    long start_;
};

using task = unique_function<void()>;

// A callable of exactly the inline capacity: four pointers.
struct four_pointers {
    int* a;
    int* b;
    int* c;
    int* d;
    void operator()() const { ++*a; ++*b; ++*c; ++*d; }
};

struct too_big {
    std::array<char, task::inline_size + 1> bytes{};
    int* hits;
    void operator()() const { ++*hits; }
};

struct alignas(2 * alignof(std::max_align_t)) over_aligned {
    int* hits;
    void operator()() const { ++*hits; }
};

struct throwing_move {
    int* hits;
    throwing_move(int* h) : hits(h) {}
    throwing_move(const throwing_move&) = default;
    throwing_move(throwing_move&& o) noexcept(false) : hits(o.hits) {}
    void operator()() const { ++*hits; }
};

// Counts how often it was moved; the heap path must move a large callable once
// (into its allocation) and never again when the unique_function moves.
struct move_counting_big {
    std::array<void*, 8> padding{};
    int* moves;
    int* hits;
    move_counting_big(int* m, int* h) : moves(m), hits(h) {}
    move_counting_big(move_counting_big&& o) noexcept : padding(o.padding), moves(o.moves), hits(o.hits) { ++*moves; }
    void operator()() { ++*hits; }
};

TEST(unique_function, a_default_constructed_function_is_empty_and_throws_bad_function_call) {
    task f;
    EXPECT_FALSE(f);
    EXPECT_THROW(f(), std::bad_function_call);
    task g = nullptr;
    EXPECT_FALSE(g);
}

TEST(unique_function, null_function_pointers_and_empty_std_functions_make_an_empty_function) {
    void (*null_fp)() = nullptr;
    task from_fp(null_fp);
    EXPECT_FALSE(from_fp);
    task from_std(std::function<void()>{});
    EXPECT_FALSE(from_std);
}

TEST(unique_function, calls_the_callable_with_its_arguments_and_returns_its_result) {
    unique_function<int(int, int)> add = [](int a, int b) { return a + b; };
    ASSERT_TRUE(add);
    EXPECT_EQ(add(2, 3), 5);

    unique_function<std::string(std::string&&)> take = [](std::string&& s) { return s + "!"; };
    EXPECT_EQ(take(std::string("hi")), "hi!");

    int x = 1;
    unique_function<void(int&)> by_ref = [](int& r) { r = 42; };
    by_ref(x);
    EXPECT_EQ(x, 42);
}

TEST(unique_function, a_plain_function_pointer_is_callable) {
    static int calls = 0;
    calls = 0;
    task f = +[] { ++calls; };
    f();
    f();
    EXPECT_EQ(calls, 2);
}

TEST(unique_function, a_callable_of_four_pointers_is_stored_inline_and_never_allocates) {
    static_assert(task::stored_inline<four_pointers>);
    int a = 0, b = 0, c = 0, d = 0;
    allocation_counter allocs;
    {
        task f = four_pointers{&a, &b, &c, &d};
        task g = std::move(f);
        task h;
        h = std::move(g);
        h();
    }
    EXPECT_EQ(allocs.count(), 0);
    EXPECT_EQ(a + b + c + d, 4);
}

TEST(unique_function, a_lambda_capturing_a_few_pointers_never_allocates) {
    int x = 0;
    int* p = &x;
    auto small = [p, q = p, r = p] { *p += 1; *q += 1; *r += 1; };
    static_assert(task::stored_inline<decltype(small)>);
    allocation_counter allocs;
    {
        task f = small;
        task g = std::move(f);
        g();
    }
    EXPECT_EQ(allocs.count(), 0);
    EXPECT_EQ(x, 3);
}

TEST(unique_function, a_callable_larger_than_the_buffer_lives_on_the_heap_with_one_allocation) {
    static_assert(!task::stored_inline<too_big>);
    int hits = 0;
    allocation_counter allocs;
    {
        task f = too_big{{}, &hits};
        EXPECT_EQ(allocs.count(), 1);
        task g = std::move(f);  // moves the pointer, not the callable
        task h;
        h = std::move(g);
        h();
        EXPECT_FALSE(f);
        EXPECT_FALSE(g);
    }
    EXPECT_EQ(allocs.count(), 1);
    EXPECT_EQ(hits, 1);
}

TEST(unique_function, moving_a_heap_stored_callable_does_not_move_the_callable_again) {
    int moves = 0, hits = 0;
    task f = move_counting_big(&moves, &hits);
    int after_construction = moves;
    task g = std::move(f);
    task h;
    h = std::move(g);
    h();
    EXPECT_EQ(moves, after_construction);
    EXPECT_EQ(hits, 1);
}

TEST(unique_function, over_aligned_and_throwing_move_callables_go_to_the_heap_and_still_work) {
    static_assert(!task::stored_inline<over_aligned>);
    static_assert(!task::stored_inline<throwing_move>);
    int hits = 0;
    allocation_counter allocs;
    {
        task a = over_aligned{&hits};
        task b = throwing_move{&hits};
        task a2 = std::move(a);
        task b2 = std::move(b);
        a2();
        b2();
    }
    EXPECT_EQ(allocs.count(), 2);
    EXPECT_EQ(hits, 2);
}

TEST(unique_function, holds_move_only_callables) {
    auto owned = std::make_unique<int>(7);
    unique_function<int()> f = [p = std::move(owned)] { return *p; };
    static_assert(!std::is_copy_constructible_v<unique_function<int()>>);
    static_assert(!std::is_copy_assignable_v<unique_function<int()>>);
    static_assert(std::is_nothrow_move_constructible_v<unique_function<int()>>);
    unique_function<int()> g = std::move(f);
    EXPECT_FALSE(f);
    ASSERT_TRUE(g);
    EXPECT_EQ(g(), 7);
}

TEST(unique_function, a_move_only_callable_may_be_called_several_times_and_keeps_its_state) {
    unique_function<int()> next = [n = std::make_unique<int>(0)]() mutable { return ++*n; };
    EXPECT_EQ(next(), 1);
    EXPECT_EQ(next(), 2);
    EXPECT_EQ(next(), 3);
}

TEST(unique_function, an_inline_callable_is_destroyed_exactly_once_through_moves) {
    counters c;
    {
        auto callable = make_counted(c);
        static_assert(task::stored_inline<decltype(callable)>);
        task f = std::move(callable);
        task g = std::move(f);
        task h;
        h = std::move(g);
        h();
        EXPECT_EQ(c.destroyed.load(), 0);
    }
    EXPECT_TRUE(c.ran_once());
}

TEST(unique_function, a_heap_callable_is_destroyed_exactly_once_through_moves) {
    counters c;
    {
        task f = make_counted(c, [pad = std::array<void*, 8>{}] { (void)pad; });
        task g = std::move(f);
        g();
        EXPECT_EQ(c.destroyed.load(), 0);
    }
    EXPECT_TRUE(c.ran_once());
}

TEST(unique_function, reset_and_null_assignment_destroy_the_callable_unrun) {
    counters inline_c, heap_c;
    task f = make_counted(inline_c);
    task g = make_counted(heap_c, [pad = std::array<void*, 8>{}] { (void)pad; });
    f.reset();
    g = nullptr;
    EXPECT_FALSE(f);
    EXPECT_FALSE(g);
    EXPECT_TRUE(inline_c.destroyed_unrun());
    EXPECT_TRUE(heap_c.destroyed_unrun());
    f.reset();  // resetting an empty function does nothing
    EXPECT_EQ(inline_c.destroyed.load(), 1);
}

TEST(unique_function, move_assignment_destroys_the_old_callable_once) {
    counters old_c, new_c;
    task f = make_counted(old_c);
    task g = make_counted(new_c);
    f = std::move(g);
    EXPECT_TRUE(old_c.destroyed_unrun());
    EXPECT_EQ(new_c.destroyed.load(), 0);
    f();
    f = task{};
    EXPECT_TRUE(new_c.ran_once());
}

TEST(unique_function, self_move_assignment_keeps_the_callable) {
    counters c;
    task f = make_counted(c);
    task& alias = f;
    f = std::move(alias);
    ASSERT_TRUE(f);
    f();
    f.reset();
    EXPECT_TRUE(c.ran_once());
}

TEST(unique_function, the_result_is_converted_to_the_declared_return_type) {
    unique_function<long()> f = [] { return 3; };
    EXPECT_EQ(f(), 3L);
}

TEST(unique_function, a_void_signature_accepts_a_callable_that_returns_a_value_and_discards_it) {
    // Any task an executor takes may be a lambda that happens to return something.
    int hits = 0;
    unique_function<void()> small = [&hits] { return ++hits; };
    unique_function<void()> big = [&hits, pad = std::array<void*, 8>{}] { (void)pad; return ++hits; };
    small();
    big();
    EXPECT_EQ(hits, 2);
}

}  // namespace
