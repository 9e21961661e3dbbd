// queue (FIFO) and stack (LIFO): a ring of max_entries + 1 value slots with head (next write)
// and tail (oldest) indices, as the kernel's queue_stack_maps.c. Values are copied in and out
// under the map's spin lock, so no pointer into the ring ever escapes and no reclamation is
// needed. A push on a full map fails with -E2BIG unless BPF_EXIST is given, which overwrites the
// oldest element (for both queue and stack).
//
// Application side: lookup = peek, update = push (as the bpf() syscall maps them).
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include "maps/map.h"
#include "maps/map_internal.h"

namespace hourglass::maps::detail {

namespace {

class QueueStack final : public Map {
 public:
  explicit QueueStack(const MapAttr& attr)
      : Map(attr), is_stack_(attr.type == MapType::Stack), ring_slots_(attr.max_entries + 1) {}
  bool init() {
    ring_.reset(new (std::nothrow) uint8_t[uint64_t{ring_slots_} * attr_.value_size]);
    return ring_ != nullptr;
  }

  void* lookup(const void*) override { return nullptr; }
  long update(const void*, const void*, uint64_t) override { return -EINVAL; }
  long remove(const void*) override { return -EINVAL; }

  long push(const void* value, uint64_t flags) override {
    if ((flags & kNoExist) || flags > kExist) return -EINVAL;
    LockHolder<SpinLock> hold(lock_);
    if (is_full()) {
      if (!(flags & kExist)) return -E2BIG;
      tail_ = advance(tail_);  // drop the oldest element
    }
    std::memcpy(slot(head_), value, attr_.value_size);
    head_ = advance(head_);
    return 0;
  }
  long pop(void* value) override { return take(value, /*remove=*/true); }
  long peek(void* value) override { return take(value, /*remove=*/false); }

  long for_each(const std::function<long(const void*, void*)>&) override { return -EOPNOTSUPP; }
  const void* key_of_value(const void*, uint32_t* index_scratch) const override {
    *index_scratch = 0;
    return index_scratch;
  }
  long user_lookup(const void*, void* value_out) override { return peek(value_out); }
  long user_update(const void*, const void* value, uint64_t flags) override {
    return push(value, flags);
  }
  long user_delete(const void*) override { return -EINVAL; }
  long get_next_key(const void*, void*) override { return -EINVAL; }
  uint32_t element_count() const override {
    LockHolder<SpinLock> hold(lock_);
    return (head_ + ring_slots_ - tail_) % ring_slots_;
  }

 private:
  uint32_t advance(uint32_t index) const { return index + 1 == ring_slots_ ? 0 : index + 1; }
  bool is_full() const { return advance(head_) == tail_; }
  uint8_t* slot(uint32_t index) const { return ring_.get() + uint64_t{index} * attr_.value_size; }

  long take(void* value, bool remove) {
    LockHolder<SpinLock> hold(lock_);
    if (head_ == tail_) {
      // The kernel clears the buffer of a pop/peek that finds nothing, and the verifier counts
      // the helper's argument as written: a program may read it.
      std::memset(value, 0, attr_.value_size);
      return -ENOENT;
    }
    uint32_t index;
    if (is_stack_) {
      index = head_ == 0 ? ring_slots_ - 1 : head_ - 1;
      if (remove) head_ = index;
    } else {
      index = tail_;
      if (remove) tail_ = advance(tail_);
    }
    std::memcpy(value, slot(index), attr_.value_size);
    return 0;
  }

  const bool is_stack_;
  const uint32_t ring_slots_;
  std::unique_ptr<uint8_t[]> ring_;
  mutable SpinLock lock_;  // protects head_, tail_ and the ring contents
  uint32_t head_ = 0;      // next slot to write
  uint32_t tail_ = 0;      // oldest element
};

}  // namespace

Map* make_queue_stack(const MapAttr& attr) {
  auto* map = new (std::nothrow) QueueStack(attr);
  if (map && !map->init()) {
    delete map;
    return nullptr;
  }
  return map;
}

}  // namespace hourglass::maps::detail
