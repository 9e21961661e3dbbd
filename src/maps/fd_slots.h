// Private to maps/: the slot array shared by prog_array and array_of_maps, and their common Map
// face. Each slot holds a
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
#include <functional>
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

// The Map face shared by prog_array and array_of_maps: a fixed array of FdSlots that programs
// only read, the application fills through the type's own update_* call, and whose entries are
// dropped by drop_slot() — the one thing the two types do differently (a program reference goes
// after a grace period, an inner map reference at once).
class SlotArrayMap : public Map {
 public:
  explicit SlotArrayMap(const MapAttr& attr) : Map(attr) {}
  bool init() { return slots_.init(attr_.max_entries); }

  void* lookup(const void* key) override {
    uint32_t index = FdSlots::read_index(key);
    return index < slots_.size() ? slots_.load(index) : nullptr;
  }
  long update(const void*, const void*, uint64_t) override { return -EOPNOTSUPP; }
  long remove(const void* key) override {
    uint32_t index = FdSlots::read_index(key);
    if (index >= slots_.size()) return -E2BIG;
    void* old = slots_.exchange(index, nullptr);
    if (old == nullptr) return -ENOENT;
    drop_slot(old);
    return 0;
  }
  long for_each(const std::function<long(const void*, void*)>&) override { return -EOPNOTSUPP; }
  const void* key_of_value(const void*, uint32_t* index_scratch) const override {
    *index_scratch = 0;  // slots hold no values with timers
    return index_scratch;
  }
  long user_update(const void*, const void*, uint64_t) override { return -EINVAL; }
  long user_delete(const void* key) override { return remove(key); }
  long get_next_key(const void* key, void* next_key_out) override {
    return slots_.get_next_key(key, next_key_out);
  }
  uint32_t element_count() const override { return attr_.max_entries; }

 protected:
  // Drops the reference a slot held; `object` is never null.
  virtual void drop_slot(void* object) noexcept = 0;

  // Stores `object` (already referenced by the caller) at the key's slot and drops what was
  // there. -E2BIG for an index past the end.
  long replace_slot(const void* key, void* object) {
    uint32_t index = FdSlots::read_index(key);
    if (index >= slots_.size()) return -E2BIG;
    if (void* old = slots_.exchange(index, object)) drop_slot(old);
    return 0;
  }
  bool index_in_range(const void* key) const { return FdSlots::read_index(key) < slots_.size(); }
  void clear_all() noexcept {
    for (uint32_t i = 0; i < slots_.size(); ++i) {
      if (void* old = slots_.exchange(i, nullptr)) drop_slot(old);
    }
  }

  FdSlots slots_;
};

// Makes a slot array map of type T (constructor from MapAttr, init()), or null without memory.
template <typename T>
Map* make_slot_array_map(const MapAttr& attr) {
  auto* map = new (std::nothrow) T(attr);
  if (map && !map->init()) {
    delete map;
    return nullptr;
  }
  return map;
}

// Kernel bpf_map_meta_equal plus the max_entries rule of bpf_map_fd_get_ptr.
bool inner_map_matches(const MapAttr& inner_template, const MapAttr& inner);

}  // namespace hourglass::maps::detail
