// Private to maps/: shared limits, the small spin lock used by buckets and queues, value-lock
// helpers for BPF_F_LOCK, and the per-family factories create_map() dispatches to.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "maps/map.h"

namespace hourglass::maps::detail {

// Kernel KMALLOC_MAX_SIZE on x86-64 (order-10 pages): the largest single value/element.
inline constexpr uint64_t kKmallocMaxSize = 4ull << 20;
// Kernel PCPU_MIN_UNIT_SIZE: the largest per-CPU value slot.
inline constexpr uint64_t kPercpuMaxValueSize = 32ull << 10;
// Kernel MAX_BPF_STACK: programs build keys on their stack.
inline constexpr uint64_t kMaxKeySize = 512;
// Our own cap (documented in docs/maps.md): storage a map may preallocate, and the bucket array.
inline constexpr uint64_t kMaxMapBytes = 4ull << 30;

inline constexpr uint64_t round_up8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// A test-and-test-and-set lock for short critical sections (bucket chains, queue ring). Yields
// after a while so that oversubscribed threads (2 cores, many threads) still make progress.
class SpinLock {
 public:
  void lock() noexcept {
    unsigned spins = 0;
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 64) {
#if defined(__x86_64__)
          __builtin_ia32_pause();
#endif
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

template <class Lock>
class LockHolder {
 public:
  explicit LockHolder(Lock& lock) : lock_(lock) { lock_.lock(); }
  ~LockHolder() { lock_.unlock(); }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

 private:
  Lock& lock_;
};

// The bpf_spin_lock word inside a value: 0 free, 1 held. Same protocol as the bpf_spin_lock
// helper (helpers/), so BPF_F_LOCK updates and programs exclude each other.
void lock_value(const FieldRecord& record, void* value) noexcept;
void unlock_value(const FieldRecord& record, void* value) noexcept;
// copy_value() while holding dst's bpf_spin_lock (kernel copy_map_value_locked).
void copy_value_locked(const FieldRecord& record, void* dst, const void* src, uint32_t size);

// Factories; attributes are already validated by create_map().
Map* make_array(const MapAttr& attr);
Map* make_percpu_array(const MapAttr& attr);
Map* make_hash(const MapAttr& attr);  // hash, percpu_hash, lru_hash, lru_percpu_hash
Map* make_prog_array(const MapAttr& attr);
Map* make_array_of_maps(const MapAttr& attr);
Map* make_hash_of_maps(const MapAttr& attr);
Map* make_queue_stack(const MapAttr& attr);

bool is_percpu(MapType type);

}  // namespace hourglass::maps::detail
