// The eviction list of lru_hash and lru_percpu_hash: an approximate LRU ("clock" / second
// chance) instead of the kernel's per-CPU active/inactive lists.
//
// Every linked element sits on one per-map list, newest at the head. Program lookups only set the
// element's reference bit (a relaxed store, no lock). When an insert pushes the map past
// max_entries, the evictor looks at the tail: a referenced element loses its bit and moves to the
// head (second chance); the first unreferenced one is evicted. The list lock nests inside bucket
// locks (insert/replace/delete keep the list in step with the chains); the evictor takes the list
// lock alone, then the victim's bucket lock. BPF_F_NO_COMMON_LRU is accepted and ignored.
#include "maps/hash_table.h"

namespace hourglass::maps::detail {

namespace {
// After this many second chances in one eviction, take the tail anyway: lookups racing with the
// evictor could otherwise keep every element referenced.
constexpr unsigned kMaxSecondChances = 4096;
}  // namespace

void LruList::add(HashElem* elem) {
  LockHolder<SpinLock> hold(lock_);
  elem->lru_referenced.store(false, std::memory_order_relaxed);
  elem->lru.prev = nullptr;
  elem->lru.next = head_;
  if (head_)
    head_->lru.prev = elem;
  else
    tail_ = elem;
  head_ = elem;
  elem->on_lru_list = true;
}

void LruList::remove(HashElem* elem) {
  LockHolder<SpinLock> hold(lock_);
  if (!elem->on_lru_list) return;  // already taken by the evictor
  if (elem->lru.prev)
    elem->lru.prev->lru.next = elem->lru.next;
  else
    head_ = elem->lru.next;
  if (elem->lru.next)
    elem->lru.next->lru.prev = elem->lru.prev;
  else
    tail_ = elem->lru.prev;
  elem->lru.prev = elem->lru.next = nullptr;
  elem->on_lru_list = false;
}

HashElem* LruList::pop_victim() {
  LockHolder<SpinLock> hold(lock_);
  for (unsigned chances = 0; tail_ != nullptr; ++chances) {
    HashElem* elem = tail_;
    // Unlink the tail.
    tail_ = elem->lru.prev;
    if (tail_)
      tail_->lru.next = nullptr;
    else
      head_ = nullptr;
    elem->lru.prev = nullptr;
    if (elem->lru_referenced.load(std::memory_order_relaxed) && chances < kMaxSecondChances &&
        head_ != nullptr) {
      // Second chance: clear the bit and move to the head.
      elem->lru_referenced.store(false, std::memory_order_relaxed);
      elem->lru.next = head_;
      head_->lru.prev = elem;
      head_ = elem;
      continue;
    }
    elem->lru.next = nullptr;
    elem->on_lru_list = false;
    return elem;
  }
  return nullptr;
}

}  // namespace hourglass::maps::detail
