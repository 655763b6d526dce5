// unique_function<R(Args...)>: a move-only type-erased callable, like C++23's
// std::move_only_function. Callables of up to four pointers (and nothrow
// movable) live in an inline buffer, so a typical task never allocates.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace vow {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
public:
    static constexpr std::size_t inline_size = 4 * sizeof(void*);
    static constexpr std::size_t inline_align = alignof(std::max_align_t);

    unique_function() noexcept = default;
    unique_function(std::nullptr_t) noexcept {}

    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> &&
                 std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
    unique_function(F&& f) {
        using D = std::decay_t<F>;
        if constexpr (std::is_pointer_v<D> || std::is_member_pointer_v<D> ||
                      requires { f == nullptr; }) {
            if (f == nullptr) return;
        }
        if constexpr (stored_inline<D>) {
            ::new (static_cast<void*>(&buffer_)) D(std::forward<F>(f));
            ops_ = &inline_ops<D>;
        } else {
            ::new (static_cast<void*>(&buffer_)) D*(new D(std::forward<F>(f)));
            ops_ = &heap_ops<D>;
        }
    }

    unique_function(unique_function&& other) noexcept : ops_(other.ops_) {
        if (ops_) {
            ops_->relocate(&other.buffer_, &buffer_);
            other.ops_ = nullptr;
        }
    }

    unique_function& operator=(unique_function&& other) noexcept {
        if (this != &other) {
            reset();
            if (other.ops_) {
                other.ops_->relocate(&other.buffer_, &buffer_);
                ops_ = std::exchange(other.ops_, nullptr);
            }
        }
        return *this;
    }

    unique_function& operator=(std::nullptr_t) noexcept {
        reset();
        return *this;
    }

    unique_function(const unique_function&) = delete;
    unique_function& operator=(const unique_function&) = delete;

    ~unique_function() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    // Calling an empty unique_function throws std::bad_function_call.
    R operator()(Args... args) {
        if (!ops_) throw std::bad_function_call();
        return ops_->invoke(&buffer_, std::forward<Args>(args)...);
    }

    // Destroys the held callable (unrun); afterwards *this is empty.
    void reset() noexcept {
        if (ops_) std::exchange(ops_, nullptr)->destroy(&buffer_);
    }

    // True when a callable of type F would be stored without allocating.
    template <class F>
    static constexpr bool stored_inline = sizeof(F) <= inline_size && alignof(F) <= inline_align &&
                                          std::is_nothrow_move_constructible_v<F>;

private:
    struct operations {
        R (*invoke)(void*, Args&&...);
        void (*relocate)(void* from, void* to) noexcept;  // move-construct into `to`, destroy `from`
        void (*destroy)(void*) noexcept;
    };

    // std::invoke_r (C++23): a void signature discards whatever the callable returns.
    template <class D>
    static R call(D& f, Args&&... args) {
        if constexpr (std::is_void_v<R>) {
            std::invoke(f, std::forward<Args>(args)...);
        } else {
            return std::invoke(f, std::forward<Args>(args)...);
        }
    }

    template <class D>
    static constexpr operations inline_ops{
        [](void* p, Args&&... args) -> R { return call(*static_cast<D*>(p), std::forward<Args>(args)...); },
        [](void* from, void* to) noexcept {
            D* src = static_cast<D*>(from);
            ::new (to) D(std::move(*src));
            src->~D();
        },
        [](void* p) noexcept { static_cast<D*>(p)->~D(); },
    };

    template <class D>
    static constexpr operations heap_ops{
        [](void* p, Args&&... args) -> R { return call(**static_cast<D**>(p), std::forward<Args>(args)...); },
        [](void* from, void* to) noexcept { ::new (to) D*(*static_cast<D**>(from)); },
        [](void* p) noexcept { delete *static_cast<D**>(p); },
    };

    const operations* ops_ = nullptr;
    alignas(inline_align) std::byte buffer_[inline_size];
};

}  // namespace vow
