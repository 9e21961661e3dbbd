// hash, percpu_hash, lru_hash, lru_percpu_hash: see hash_table.h for layout, locking and
// reclamation. Update semantics follow the kernel's htab_map_update_elem family:
//  - hash/lru_hash: an update always links a fresh element in place of the old one (the old
//    one's timer dies with it), except BPF_F_LOCK on an existing key, which copies in place under
//    the value's spin lock and leaves the timer alone;
//  - per-CPU maps update an existing element in place (this vCPU's slot from programs, every slot
//    from the application);
//  - non-LRU maps refuse a new key when max_entries are linked (-E2BIG); LRU maps evict instead.
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "common/run_context.h"
#include "common/relaxed_copy.h"
#include "maps/epoch.h"
#include "maps/hash_table.h"
#include "maps/zeroed_block.h"

namespace hourglass::maps::detail {

// ---- ElemPool ----

bool ElemPool::fill(uint32_t count) {
  const size_t bytes = elem_size_ * count;
  block_ = static_cast<uint8_t*>(allocate_zeroed_block(bytes));
  if (block_ == nullptr) return false;
  block_bytes_ = bytes;
  free_elems_.reserve(count);
  // Pushed from the back, so that a fresh map hands out its elements in address order.
  for (uint32_t i = count; i-- > 0;) {
    auto* elem = new (block_ + i * elem_size_) HashElem();
    elem->pool = this;
    free_elems_.push_back(elem);
  }
  return true;
}

HashElem* ElemPool::take() {
  LockHolder<SpinLock> hold(lock_);
  if (free_elems_.empty()) return nullptr;
  HashElem* elem = free_elems_.back();
  free_elems_.pop_back();
  return elem;
}

void ElemPool::give_back(HashElem* elem) {
  LockHolder<SpinLock> hold(lock_);
  free_elems_.push_back(elem);
}

void ElemPool::release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

ElemPool::~ElemPool() {
  for (HashElem* elem : free_elems_)
    if (!in_block(elem)) std::free(elem);
  free_zeroed_block(block_, block_bytes_);
}

// ---- HashTable ----

HashTable::HashTable(const MapAttr& attr)
    : Map(attr),
      percpu_(attr.type == MapType::PercpuHash || attr.type == MapType::LruPercpuHash),
      lru_(attr.type == MapType::LruHash || attr.type == MapType::LruPercpuHash),
      prealloc_(!(attr.map_flags & kFlagNoPrealloc)),
      header_size_(static_cast<uint32_t>(round_up8(sizeof(HashElem)))),
      key_area_(static_cast<uint32_t>(round_up8(attr.key_size))),
      slot_size_(static_cast<uint32_t>(round_up8(attr.value_size))),
      value_area_(slot_size_ * (percpu_ ? attr.ncpus : 1)),
      seed_((attr.map_flags & kFlagZeroSeed) ? 0u : 0x9e3779b9u) {}

bool HashTable::init() {
  n_buckets_ = 1;
  while (n_buckets_ < attr_.max_entries) n_buckets_ <<= 1;
  // Zeroed storage, huge-page advised when large: a random lookup in a big map then costs the
  // bucket's and the element's cache misses, not page walks too.
  void* storage = allocate_zeroed_block(n_buckets_ * sizeof(Bucket));
  if (storage == nullptr) return false;
  buckets_ = new (storage) Bucket[n_buckets_];  // trivially destructible: freed as a block
  if (prealloc_) {
    pool_ = new (std::nothrow) ElemPool(header_size_ + key_area_ + value_area_);
    if (pool_ == nullptr || !pool_->fill(attr_.max_entries)) return false;
  }
  return true;
}

HashTable::~HashTable() {
  // Runs after the grace period that followed release_contents(): no reader remains.
  if (buckets_) {
    for (uint32_t i = 0; i < n_buckets_; ++i) {
      HashElem* elem = buckets_[i].head.load(std::memory_order_relaxed);
      while (elem) {
        HashElem* next = elem->next.load(std::memory_order_relaxed);
        free_elem_memory(elem);
        elem = next;
      }
    }
    free_zeroed_block(buckets_, n_buckets_ * sizeof(Bucket));
  }
  if (pool_) pool_->release();
}

void HashTable::free_elem_memory(HashElem* elem) {
  if (elem->pool)
    elem->pool->give_back(elem);
  else
    std::free(elem);
}

namespace {
inline uint32_t fnv1a(const uint8_t* bytes, uint32_t size, uint32_t h) {
  for (uint32_t i = 0; i < size; ++i) h = (h ^ bytes[i]) * 16777619u;
  return h;
}

HashElem* elem_of(RetireNode* node) {
  return reinterpret_cast<HashElem*>(reinterpret_cast<uint8_t*>(node) -
                                     offsetof(HashElem, retire_node));
}

template <class Word>
bool same_word(const void* a, const void* b) {
  Word x, y;
  std::memcpy(&x, a, sizeof x);
  std::memcpy(&y, b, sizeof y);
  return x == y;
}
}  // namespace

uint32_t HashTable::hash_key(const void* key) const {
  // FNV-1a then a murmur3 finalizer, so that low bits (the bucket index) mix well. The common
  // key sizes get a loop of known length (unrolled; same result).
  auto* bytes = static_cast<const uint8_t*>(key);
  uint32_t h = 2166136261u ^ seed_;
  switch (attr_.key_size) {
    case 4: h = fnv1a(bytes, 4, h); break;
    case 8: h = fnv1a(bytes, 8, h); break;
    default: h = fnv1a(bytes, attr_.key_size, h);
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

bool HashTable::key_matches(const HashElem* elem, uint32_t hash, const void* key) const {
  if (elem->hash != hash) return false;
  switch (attr_.key_size) {
    case 4: return same_word<uint32_t>(key_of(elem), key);
    case 8: return same_word<uint64_t>(key_of(elem), key);
    default: return std::memcmp(key_of(elem), key, attr_.key_size) == 0;
  }
}

HashElem* HashTable::find_in_chain(const Bucket& bucket, uint32_t hash, const void* key) const {
  for (HashElem* elem = bucket.head.load(std::memory_order_acquire); elem != nullptr;
       elem = elem->next.load(std::memory_order_acquire)) {
    if (key_matches(elem, hash, key)) return elem;
  }
  return nullptr;
}

HashElem* HashTable::find(const void* key) const {
  uint32_t hash = hash_key(key);
  return find_in_chain(bucket_for(hash), hash, key);
}

uint32_t HashTable::this_cpu() const { return percpu_ ? current_vcpu() % attr_.ncpus : 0; }

HashElem* HashTable::allocate_elem() {
  HashElem* elem = nullptr;
  if (pool_) {
    elem = pool_->take();
    // Dry while replaced elements wait for their grace period: hand back those whose period has
    // passed (this thread may do that, see retire_elem) before going to the heap.
    if (elem == nullptr && reclaim_inline_safe()) elem = pool_->take();
  }
  void* memory = elem;
  if (memory == nullptr) {
    // NO_PREALLOC, or a prealloc pool whose deleted elements still wait for their grace period.
    memory = std::malloc(header_size_ + key_area_ + value_area_);
    if (memory == nullptr) return nullptr;
  }
  elem = new (memory) HashElem();  // memory is private here: nobody else can see it
  elem->pool = pool_;
  return elem;
}

void HashTable::discard_unpublished(HashElem* elem) { free_elem_memory(elem); }

// The retirement record lives in the element (no allocation per update). Giving an element back
// to its pool takes only the pool's lock, so the pool's own allocator may run it inline
// (FreeContext::InlineSafe); heap elements go through the reclaimer as before.
void HashTable::retire_elem(HashElem* elem) {
  if (elem->pool) {
    elem->pool->acquire();  // dropped when the element is back in the pool
    elem->retire_node.free_fn = [](RetireNode* node) {
      HashElem* dead = elem_of(node);
      ElemPool* pool = dead->pool;
      pool->give_back(dead);
      pool->release();
    };
    retire(&elem->retire_node, FreeContext::InlineSafe);
  } else {
    elem->retire_node.free_fn = [](RetireNode* node) {
      std::free(elem_of(node));
    };
    retire(&elem->retire_node, FreeContext::Deferred);
  }
}

void HashTable::unlinked(HashElem* elem) {
  element_died(value_of(elem));  // outside every lock (spec bug class 10)
  retire_elem(elem);
}

void* HashTable::lookup(const void* key) {
  HashElem* elem = find(key);
  if (elem == nullptr) return nullptr;
  if (lru_) LruList::mark_referenced(elem);
  return value_of(elem) + uint64_t{this_cpu()} * slot_size_;
}

long HashTable::upsert(const void* key, uint64_t flags, const ValueWriter& write_value,
                       const InPlaceWriter& write_in_place) {
  const uint64_t mode = flags & ~kLock;
  const uint32_t hash = hash_key(key);
  Bucket& bucket = bucket_for(hash);

  // Build the candidate element before taking the lock; explicitly zero the value so hidden
  // fields start clear even in reused memory (spec §7 bug 3).
  HashElem* fresh = allocate_elem();
  if (fresh == nullptr) return -ENOMEM;
  fresh->hash = hash;
  std::memcpy(reinterpret_cast<uint8_t*>(fresh) + header_size_, key, attr_.key_size);
  std::memset(value_of(fresh), 0, value_area_);
  write_value(value_of(fresh));

  HashElem* old = nullptr;
  long err = 0;
  bool published = false;
  {
    LockHolder<SpinLock> hold(bucket.lock);
    std::atomic<HashElem*>* link = &bucket.head;
    for (HashElem* elem = link->load(std::memory_order_relaxed); elem != nullptr;
         elem = link->load(std::memory_order_relaxed)) {
      if (key_matches(elem, hash, key)) {
        old = elem;
        break;
      }
      link = &elem->next;
    }
    if (old && mode == kNoExist) {
      err = -EEXIST;
    } else if (!old && mode == kExist) {
      err = -ENOENT;
    } else if (old && write_in_place && write_in_place(old)) {
      // updated in place; the candidate is not needed
    } else if (old) {
      fresh->next.store(old->next.load(std::memory_order_relaxed), std::memory_order_relaxed);
      link->store(fresh, std::memory_order_release);
      if (lru_) {
        lru_list_.remove(old);
        lru_list_.add(fresh);
      }
      published = true;
    } else if (!lru_ && count_.fetch_add(1, std::memory_order_relaxed) >= attr_.max_entries) {
      count_.fetch_sub(1, std::memory_order_relaxed);
      err = -E2BIG;
    } else {
      if (lru_) count_.fetch_add(1, std::memory_order_relaxed);
      fresh->next.store(bucket.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
      bucket.head.store(fresh, std::memory_order_release);
      if (lru_) lru_list_.add(fresh);
      published = true;
    }
  }
  if (!published) {
    discard_unpublished(fresh);
    return err;
  }
  if (old) unlinked(old);
  if (lru_ && count_.load(std::memory_order_relaxed) > attr_.max_entries) evict_until_bounded();
  return 0;
}

long HashTable::percpu_update(const void* key, const void* value, uint64_t flags, bool all_cpus) {
  auto* in = static_cast<const uint8_t*>(value);
  auto write_slots = [&](uint8_t* dst) {
    if (all_cpus) {
      for (uint32_t cpu = 0; cpu < attr_.ncpus; ++cpu)
        copy_value(attr_.record, dst + cpu * slot_size_, in + cpu * slot_size_, attr_.value_size);
    } else {
      copy_value(attr_.record, dst + this_cpu() * slot_size_, in, attr_.value_size);
    }
  };
  return upsert(key, flags, write_slots, [&](HashElem* existing) {
    write_slots(value_of(existing));
    if (lru_) LruList::mark_referenced(existing);
    return true;
  });
}

long HashTable::update(const void* key, const void* value, uint64_t flags) {
  if ((flags & ~kLock) > kExist) return -EINVAL;
  if ((flags & kLock) && attr_.record.spin_lock_off < 0) return -EINVAL;
  EpochGuard guard;
  if (percpu_) return percpu_update(key, value, flags, /*all_cpus=*/false);
  auto write_new = [&](uint8_t* dst) { copy_value(attr_.record, dst, value, attr_.value_size); };
  if (!(flags & kLock)) return upsert(key, flags, write_new, nullptr);
  // BPF_F_LOCK on an existing element copies in place under its spin lock; the timer survives.
  if (HashElem* existing = find(key)) {
    if ((flags & ~kLock) == kNoExist) return -EEXIST;
    copy_value_locked(attr_.record, value_of(existing), value, attr_.value_size);
    return 0;
  }
  return upsert(key, flags, write_new, [&](HashElem* existing) {
    copy_value_locked(attr_.record, value_of(existing), value, attr_.value_size);
    return true;
  });
}

long HashTable::user_update(const void* key, const void* value, uint64_t flags) {
  if (!percpu_) return Map::user_update(key, value, flags);
  if ((flags & ~kLock) > kExist || (flags & kLock)) return -EINVAL;  // no spin lock per-CPU
  EpochGuard guard;
  return percpu_update(key, value, flags, /*all_cpus=*/true);
}

long HashTable::remove(const void* key) {
  EpochGuard guard;
  const uint32_t hash = hash_key(key);
  Bucket& bucket = bucket_for(hash);
  HashElem* victim = nullptr;
  {
    LockHolder<SpinLock> hold(bucket.lock);
    std::atomic<HashElem*>* link = &bucket.head;
    for (HashElem* elem = link->load(std::memory_order_relaxed); elem != nullptr;
         elem = link->load(std::memory_order_relaxed)) {
      if (key_matches(elem, hash, key)) {
        victim = elem;
        // The victim keeps its next pointer: a reader standing on it walks on.
        link->store(elem->next.load(std::memory_order_relaxed), std::memory_order_release);
        count_.fetch_sub(1, std::memory_order_relaxed);
        if (lru_) lru_list_.remove(elem);
        break;
      }
      link = &elem->next;
    }
  }
  if (victim == nullptr) return -ENOENT;
  unlinked(victim);
  return 0;
}

void HashTable::evict_until_bounded() {
  EpochGuard guard;  // the victim may be unlinked and retired by a racing delete
  for (int attempts = 0; attempts < 64; ++attempts) {
    if (count_.load(std::memory_order_relaxed) <= attr_.max_entries) return;
    HashElem* victim = lru_list_.pop_victim();
    if (victim == nullptr) return;
    Bucket& bucket = bucket_for(victim->hash);
    bool unlinked_here = false;
    {
      LockHolder<SpinLock> hold(bucket.lock);
      std::atomic<HashElem*>* link = &bucket.head;
      for (HashElem* elem = link->load(std::memory_order_relaxed); elem != nullptr;
           elem = link->load(std::memory_order_relaxed)) {
        if (elem == victim) {
          link->store(elem->next.load(std::memory_order_relaxed), std::memory_order_release);
          count_.fetch_sub(1, std::memory_order_relaxed);
          unlinked_here = true;
          break;
        }
        link = &elem->next;
      }
    }
    // Not found: a racing delete/replace unlinked it and will free it.
    if (unlinked_here) unlinked(victim);
  }
}

void HashTable::for_each_element(const std::function<bool(HashElem*)>& fn) const {
  for (uint32_t i = 0; i < n_buckets_; ++i) {
    for (HashElem* elem = buckets_[i].head.load(std::memory_order_acquire); elem != nullptr;
         elem = elem->next.load(std::memory_order_acquire)) {
      if (!fn(elem)) return;
    }
  }
}

long HashTable::for_each(const std::function<long(const void*, void*)>& fn) {
  EpochGuard guard;
  long visited = 0;
  const uint64_t slot_offset = uint64_t{this_cpu()} * slot_size_;
  for_each_element([&](HashElem* elem) {
    ++visited;
    return fn(key_of(elem), value_of(elem) + slot_offset) == 0;
  });
  return visited;
}

const void* HashTable::key_of_value(const void* value, uint32_t*) const {
  // Per-CPU values are this vCPU's slot (the only kind a program holds).
  const uint64_t slot_offset = uint64_t{this_cpu()} * slot_size_;
  return static_cast<const uint8_t*>(value) - slot_offset - key_area_;
}

long HashTable::user_lookup(const void* key, void* value_out) {
  EpochGuard guard;
  HashElem* elem = find(key);  // the application side does not mark LRU references
  if (elem == nullptr) return -ENOENT;
  auto* out = static_cast<uint8_t*>(value_out);
  if (!percpu_) {
    // Never read the hidden fields (a timer may be published there concurrently).
    std::memset(out, 0, attr_.value_size);
    copy_value(attr_.record, out, value_of(elem), attr_.value_size);
    return 0;
  }
  for (uint32_t cpu = 0; cpu < attr_.ncpus; ++cpu) {
    relaxed_copy(out + cpu * slot_size_, value_of(elem) + cpu * slot_size_, slot_size_);
    zero_hidden(attr_.record, out + cpu * slot_size_);
  }
  return 0;
}

long HashTable::get_next_key(const void* key, void* next_key_out) {
  EpochGuard guard;
  uint32_t first_bucket = 0;
  if (key != nullptr) {
    const uint32_t hash = hash_key(key);
    if (HashElem* elem = find_in_chain(bucket_for(hash), hash, key)) {
      if (HashElem* next = elem->next.load(std::memory_order_acquire)) {
        std::memcpy(next_key_out, key_of(next), attr_.key_size);
        return 0;
      }
      first_bucket = (hash & (n_buckets_ - 1)) + 1;
    }
    // A key that is not in the map restarts from the first element, as the kernel does.
  }
  for (uint32_t i = first_bucket; i < n_buckets_; ++i) {
    if (HashElem* head = buckets_[i].head.load(std::memory_order_acquire)) {
      std::memcpy(next_key_out, key_of(head), attr_.key_size);
      return 0;
    }
  }
  return -ENOENT;
}

void HashTable::free_all_async_fields() noexcept {
  if (!attr_.record.has_async()) return;
  EpochGuard guard;
  for_each_element([&](HashElem* elem) {
    free_special_fields(value_of(elem));
    return true;
  });
}

void HashTable::release_user_refs() noexcept { free_all_async_fields(); }

void HashTable::release_contents() noexcept {
  EpochGuard guard;
  for_each_element([&](HashElem* elem) {
    element_died(value_of(elem));
    return true;
  });
}

Map* make_hash_table(const MapAttr&, HashTable* table) {
  if (table == nullptr) return nullptr;
  if (!table->init()) {
    delete table;
    return nullptr;
  }
  return table;
}

Map* make_hash(const MapAttr& attr) {
  return make_hash_table(attr, new (std::nothrow) HashTable(attr));
}

}  // namespace hourglass::maps::detail
