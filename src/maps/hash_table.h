// Private to maps/: the hash table behind hash, percpu_hash, lru_hash, lru_percpu_hash and
// hash_of_maps.
//
// Layout: a power-of-two bucket array; each bucket is a singly linked chain of HashElem with an
// atomic head and atomic next pointers, plus a SpinLock for writers.
// Element: [HashElem header][key, rounded up to 8][value: value_size rounded up to 8, times ncpus
// for per-CPU maps].
//
// Concurrency and lifetimes:
//  - readers (lookup, for_each, get_next_key, user copies) take no lock: they walk chains with
//    acquire loads under an EpochGuard;
//  - writers hold the bucket's lock to link/unlink; a published element's key never changes, and
//    an unlinked element keeps its next pointer so a reader standing on it can walk on;
//  - an unlinked element first has its special fields freed through the hooks (outside every
//    lock), then is retired to the epoch reclaimer; only after the grace period does its memory
//    go back to the pool (prealloc) or to the heap (BPF_F_NO_PREALLOC);
//  - LRU maps also keep every linked element on a clock list (lru_hash.cpp). Lock order: bucket
//    lock, then LRU lock; the evictor takes the LRU lock alone, then the victim's bucket lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "maps/epoch.h"
#include "maps/map.h"
#include "maps/map_internal.h"

namespace hourglass::maps::detail {

class ElemPool;

struct HashElem {
  HashElem() noexcept : lru{nullptr, nullptr} {}
  std::atomic<HashElem*> next{nullptr};     // bucket chain; written under the bucket lock
  uint32_t hash = 0;                        // immutable once published
  std::atomic<bool> lru_referenced{false};  // LRU second-chance bit, set by program lookups
  bool on_lru_list = false;                 // protected by the LRU lock
  ElemPool* pool = nullptr;  // prealloc maps: where the memory goes back after the grace period
  // The LRU links are dead once the element is off the list, which it is before it is retired;
  // the retirement record reuses their bytes (a 48-byte header instead of 64).
  union {
    struct {
      HashElem* prev;  // protected by the LRU lock
      HashElem* next;
    } lru;
    RetireNode retire_node;
  };
};

// The free list of a preallocated map: max_entries elements carved from one zeroed block (huge-
// page advised when large, so random lookups in a big map miss the TLB rarely). Reference counted
// because retired elements come back after the grace period, possibly after the map itself is
// gone: the map holds one reference and every element in flight to the reclaimer holds one.
// Elements allocated from the heap while the block's were all waiting for a grace period join the
// free list too and are freed with the pool.
class ElemPool {
 public:
  explicit ElemPool(size_t elem_size) : elem_size_(elem_size) {}
  bool fill(uint32_t count);
  HashElem* take();  // null when empty (the caller then allocates from the heap)
  void give_back(HashElem* elem);
  void acquire() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release();

 private:
  ~ElemPool();
  bool in_block(const HashElem* elem) const {
    auto* byte = reinterpret_cast<const uint8_t*>(elem);
    return byte >= block_ && byte < block_ + block_bytes_;
  }
  const size_t elem_size_;
  uint8_t* block_ = nullptr;  // set once by fill()
  size_t block_bytes_ = 0;
  SpinLock lock_;  // protects free_elems_ (held for a push or pop only)
  std::vector<HashElem*> free_elems_;
  std::atomic<uint64_t> refs_{1};
};

class LruList {
 public:
  // All calls except mark_referenced need the LRU lock (held inside).
  void add(HashElem* elem);
  void remove(HashElem* elem);
  // Clock/second chance: takes the coldest element off the list (null if empty).
  HashElem* pop_victim();
  static void mark_referenced(HashElem* elem) {
    if (!elem->lru_referenced.load(std::memory_order_relaxed))
      elem->lru_referenced.store(true, std::memory_order_relaxed);
  }

 private:
  SpinLock lock_;             // protects the list links and on_lru_list of every element
  HashElem* head_ = nullptr;  // most recently inserted or given a second chance
  HashElem* tail_ = nullptr;  // next candidate for eviction
};

class HashTable : public Map {
 public:
  explicit HashTable(const MapAttr& attr);
  ~HashTable() override;
  bool init();  // allocates buckets and, for prealloc maps, the pool; false on ENOMEM

  void* lookup(const void* key) override;
  long update(const void* key, const void* value, uint64_t flags) override;
  long remove(const void* key) override;
  long for_each(const std::function<long(const void*, void*)>& fn) override;
  const void* key_of_value(const void* value, uint32_t* index_scratch) const override;
  long user_lookup(const void* key, void* value_out) override;
  long user_update(const void* key, const void* value, uint64_t flags) override;
  long get_next_key(const void* key, void* next_key_out) override;
  uint32_t element_count() const override { return count_.load(std::memory_order_relaxed); }

 protected:
  void release_user_refs() noexcept override;
  void release_contents() noexcept override;
  // What dies with an element (hooks for special fields; hash_of_maps releases the inner map).
  // Called after the element is unlinked, outside every lock, before it is retired.
  virtual void element_died(void* value) noexcept { free_special_fields(value); }

  // The value of an element, per-CPU slot 0.
  uint8_t* value_of(HashElem* elem) const {
    return reinterpret_cast<uint8_t*>(elem) + header_size_ + key_area_;
  }
  const uint8_t* key_of(const HashElem* elem) const {
    return reinterpret_cast<const uint8_t*>(elem) + header_size_;
  }
  HashElem* find(const void* key) const;  // caller holds an EpochGuard
  // Insert or replace; `write_value` fills the fresh (zeroed) value area of a new element, and
  // `write_in_place` updates an existing element where the map type does that (per-CPU maps,
  // BPF_F_LOCK), returning false to ask for a replacing element instead.
  using ValueWriter = std::function<void(uint8_t* value)>;
  using InPlaceWriter = std::function<bool(HashElem* existing)>;  // null: always replace
  long upsert(const void* key, uint64_t flags, const ValueWriter& write_value,
              const InPlaceWriter& write_in_place);
  // Visits linked elements; caller holds an EpochGuard. Stops when fn returns false.
  void for_each_element(const std::function<bool(HashElem*)>& fn) const;

 private:
  struct Bucket {
    std::atomic<HashElem*> head{nullptr};  // chain; written under lock
    SpinLock lock;
  };

  uint32_t hash_key(const void* key) const;
  bool key_matches(const HashElem* elem, uint32_t hash, const void* key) const;
  Bucket& bucket_for(uint32_t hash) const { return buckets_[hash & (n_buckets_ - 1)]; }
  HashElem* find_in_chain(const Bucket& bucket, uint32_t hash, const void* key) const;
  HashElem* allocate_elem();
  static void free_elem_memory(HashElem* elem);  // unpublished or past its grace period
  void discard_unpublished(HashElem* elem);  // never seen by readers: reuse at once
  void retire_elem(HashElem* elem);
  void unlinked(HashElem* elem);  // element_died + retire
  uint32_t this_cpu() const;
  long percpu_update(const void* key, const void* value, uint64_t flags, bool all_cpus);
  void evict_until_bounded();
  void free_all_async_fields() noexcept;

  const bool percpu_;
  const bool lru_;
  const bool prealloc_;
  const uint32_t header_size_;
  const uint32_t key_area_;    // round_up(key_size, 8)
  const uint32_t slot_size_;   // round_up(value_size, 8)
  const uint32_t value_area_;  // slot_size * (percpu ? ncpus : 1)
  const uint32_t seed_;
  uint32_t n_buckets_ = 0;
  Bucket* buckets_ = nullptr;  // n_buckets_ of them in a zeroed block
  ElemPool* pool_ = nullptr;        // prealloc only; one reference held by the map
  std::atomic<uint32_t> count_{0};  // linked elements
  LruList lru_list_;                // LRU maps only
};

Map* make_hash_table(const MapAttr& attr, HashTable* table);

}  // namespace hourglass::maps::detail
