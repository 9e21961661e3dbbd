#pragma once
// A sequentially consistent fence that ThreadSanitizer understands.
//
// The epoch guard and the timers' publish-then-recheck need a StoreLoad barrier: a store (the
// announced epoch, the published timer pointer) must be visible before a later load (a map slot,
// the map's user count). std::atomic_thread_fence(seq_cst) is that barrier, but TSan does not
// model fences (GCC warns -Wtsan and TSan may then report races the fence rules out). Under TSan
// the fence becomes a seq_cst read-modify-write of one shared word: every two full_fence() calls
// are ordered and synchronise, which is at least what two SC fences give, so TSan sees the same
// happens-before edges the real fence provides (slightly more: it cannot hide a race between
// code that never fences).
#include <atomic>

#if defined(__SANITIZE_THREAD__)
#define HOURGLASS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HOURGLASS_TSAN 1
#endif
#endif

namespace hourglass {

inline void full_fence() noexcept {
#if defined(HOURGLASS_TSAN)
  static std::atomic<unsigned> fence_word{0};
  fence_word.fetch_add(1, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace hourglass
