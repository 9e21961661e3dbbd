// A 4-byte mutex for per-timer state (std::mutex is 40 bytes and a timer object must stay small
// at ten million armed timers). Three states, futex-style through C++20 atomic wait/notify:
// 0 free, 1 held, 2 held with possible waiters. Critical sections under it are a few stores.
#pragma once

#include <atomic>
#include <cstdint>

namespace hourglass::timers {

class TinyLock {
 public:
  void lock() noexcept {
    uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) return;
    for (int spin = 0; spin < 64; ++spin) {  // short sections: a brief spin usually wins
      expected = 0;
      if (state_.compare_exchange_weak(expected, 1, std::memory_order_acquire)) return;
    }
    while (state_.exchange(2, std::memory_order_acquire) != 0) state_.wait(2);
  }
  void unlock() noexcept {
    if (state_.exchange(0, std::memory_order_release) == 2) state_.notify_one();
  }

 private:
  std::atomic<uint32_t> state_{0};
};

class TinyLockGuard {
 public:
  explicit TinyLockGuard(TinyLock& lock) noexcept : lock_(lock) { lock_.lock(); }
  ~TinyLockGuard() { lock_.unlock(); }
  TinyLockGuard(const TinyLockGuard&) = delete;
  TinyLockGuard& operator=(const TinyLockGuard&) = delete;

 private:
  TinyLock& lock_;
};

}  // namespace hourglass::timers
