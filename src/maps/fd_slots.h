// Private to maps/: the slot array shared by prog_array and array_of_maps. Each slot holds a
// counted reference to an object (program or inner map) or null.
//
// Concurrency: slots are atomics swapped with exchange, no lock. A pointer a program read from a
// slot stays usable until its guard ends: the reference a slot held is dropped only after an
// epoch grace period (programs), or the object itself is retired at its last reference (maps).
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "maps/map.h"

namespace hourglass::maps::detail {

class FdSlots {
 public:
  bool init(uint32_t count) {
    slots_.reset(new (std::nothrow) std::atomic<void*>[count]);
    if (!slots_) return false;
    for (uint32_t i = 0; i < count; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
    count_ = count;
    return true;
  }
  static uint32_t read_index(const void* key) {
    uint32_t index;
    std::memcpy(&index, key, sizeof(index));
    return index;
  }
  void* load(uint32_t index) const { return slots_[index].load(std::memory_order_acquire); }
  void* exchange(uint32_t index, void* object) {
    return slots_[index].exchange(object, std::memory_order_acq_rel);
  }
  uint32_t size() const { return count_; }

  // Array-style iteration shared by both users: null/out-of-range key gives index 0.
  long get_next_key(const void* key, void* next_key_out) const {
    uint32_t index = key ? read_index(key) : count_;
    uint32_t next = index >= count_ ? 0 : index + 1;
    if (next >= count_) return -ENOENT;
    std::memcpy(next_key_out, &next, sizeof(next));
    return 0;
  }

 private:
  std::unique_ptr<std::atomic<void*>[]> slots_;
  uint32_t count_ = 0;
};

// Kernel bpf_map_meta_equal plus the max_entries rule of bpf_map_fd_get_ptr.
bool inner_map_matches(const MapAttr& inner_template, const MapAttr& inner);

}  // namespace hourglass::maps::detail
