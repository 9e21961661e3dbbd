// array and percpu_array: one contiguous, zeroed, preallocated block; elements always exist.
//
// Concurrency: no lock. Elements never move or die before the map, so a program-side pointer is
// valid for the map's lifetime; concurrent value writes race the way they do in the kernel
// (BPF_F_LOCK and bpf_spin_lock are how programs serialize them). Timers in array values are
// owned by the element and freed via the hooks on update, uref release and destruction.
#include <cerrno>
#include <cstring>
#include <new>

#include "common/run_context.h"
#include "maps/map.h"
#include "common/relaxed_copy.h"
#include "maps/map_internal.h"
#include "maps/zeroed_block.h"

namespace hourglass::maps::detail {

namespace {

class ArrayMap : public Map {
 public:
  // slots_per_elem: 1 for array, ncpus for percpu_array (slot c of element i at i*ncpus + c).
  ArrayMap(const MapAttr& attr, uint32_t slots_per_elem, uint64_t* storage)
      : Map(attr),
        slot_size_(round_up8(attr.value_size)),
        slots_per_elem_(slots_per_elem),
        storage_(reinterpret_cast<uint8_t*>(storage)) {
    // A plain array's lookup is storage_ + index * slot_size_ (see lookup()); per-CPU arrays
    // also depend on the calling thread's vCPU and keep calling lookup().
    if (slots_per_elem_ == 1) {
      inline_lookup_.kind = InlineLookup::kArray;
      inline_lookup_.max_entries = attr_.max_entries;
      inline_lookup_.value_stride = slot_size_;
      inline_lookup_.values = storage_;
    }
  }
  ~ArrayMap() override { free_zeroed_block(storage_, storage_bytes(attr_, slots_per_elem_)); }

  static uint64_t storage_bytes(const MapAttr& attr, uint32_t slots_per_elem) {
    return uint64_t{round_up8(attr.value_size)} * slots_per_elem * attr.max_entries;
  }
  // Zeroed: hidden fields start out clear.
  static uint64_t* allocate(const MapAttr& attr, uint32_t slots_per_elem) {
    return static_cast<uint64_t*>(allocate_zeroed_block(storage_bytes(attr, slots_per_elem)));
  }

  void* lookup(const void* key) override {
    uint32_t index = read_index(key);
    if (index >= attr_.max_entries) return nullptr;
    return slot(index, this_cpu());
  }

  long update(const void* key, const void* value, uint64_t flags) override {
    return update_slots(key, value, flags, /*all_cpus=*/false);
  }

  long remove(const void*) override { return -EINVAL; }  // array elements cannot be deleted

  long for_each(const std::function<long(const void*, void*)>& fn) override {
    long visited = 0;
    for (uint32_t index = 0; index < attr_.max_entries; ++index) {
      ++visited;
      uint32_t key = index;
      if (fn(&key, slot(index, this_cpu())) != 0) break;
    }
    return visited;
  }

  const void* key_of_value(const void* value, uint32_t* index_scratch) const override {
    uint64_t offset = static_cast<const uint8_t*>(value) - storage_;
    *index_scratch = static_cast<uint32_t>(offset / (slot_size_ * slots_per_elem_));
    return index_scratch;
  }

  void* direct_value_base() override {
    return (attr_.max_entries == 1 && slots_per_elem_ == 1) ? storage_ : nullptr;
  }

  long user_lookup(const void* key, void* value_out) override {
    uint32_t index = read_index(key);
    if (index >= attr_.max_entries) return -ENOENT;
    if (slots_per_elem_ == 1) return Map::user_lookup(key, value_out);
    auto* out = static_cast<uint8_t*>(value_out);
    for (uint32_t cpu = 0; cpu < slots_per_elem_; ++cpu) {
      relaxed_copy(out + cpu * slot_size_, slot(index, cpu), slot_size_);
      zero_hidden(attr_.record, out + cpu * slot_size_);
    }
    return 0;
  }

  long user_update(const void* key, const void* value, uint64_t flags) override {
    return update_slots(key, value, flags, /*all_cpus=*/slots_per_elem_ > 1);
  }

  long get_next_key(const void* key, void* next_key_out) override {
    uint32_t index = key ? read_index(key) : attr_.max_entries;
    uint32_t next = index >= attr_.max_entries ? 0 : index + 1;
    if (next >= attr_.max_entries) return -ENOENT;
    std::memcpy(next_key_out, &next, sizeof(next));
    return 0;
  }

  uint32_t element_count() const override { return attr_.max_entries; }

 protected:
  void release_user_refs() noexcept override { free_all_special_fields(); }
  void release_contents() noexcept override { free_all_special_fields(); }

 private:
  static uint32_t read_index(const void* key) {
    uint32_t index;
    std::memcpy(&index, key, sizeof(index));
    return index;
  }
  uint32_t this_cpu() const { return slots_per_elem_ == 1 ? 0 : current_vcpu() % slots_per_elem_; }
  uint8_t* slot(uint32_t index, uint32_t cpu) const {
    return storage_ + (uint64_t{index} * slots_per_elem_ + cpu) * slot_size_;
  }

  // Kernel array_map_update_elem: flag checks, then an in-place copy that skips hidden fields,
  // then the old timer/wq of the element is freed (the element now holds "new" contents).
  long update_slots(const void* key, const void* value, uint64_t flags, bool all_cpus) {
    if ((flags & ~kLock) > kExist) return -EINVAL;
    uint32_t index = read_index(key);
    if (index >= attr_.max_entries) return -E2BIG;
    if (flags & kNoExist) return -EEXIST;
    if ((flags & kLock) && attr_.record.spin_lock_off < 0) return -EINVAL;
    if (slots_per_elem_ > 1) {
      auto* in = static_cast<const uint8_t*>(value);
      if (all_cpus) {
        for (uint32_t cpu = 0; cpu < slots_per_elem_; ++cpu)
          copy_value(attr_.record, slot(index, cpu), in + cpu * slot_size_, attr_.value_size);
      } else {
        copy_value(attr_.record, slot(index, this_cpu()), in, attr_.value_size);
      }
      return 0;
    }
    uint8_t* dst = slot(index, 0);
    if (flags & kLock)
      copy_value_locked(attr_.record, dst, value, attr_.value_size);
    else
      copy_value(attr_.record, dst, value, attr_.value_size);
    free_special_fields(dst);
    return 0;
  }

  void free_all_special_fields() noexcept {
    if (!attr_.record.has_async() || slots_per_elem_ != 1) return;
    for (uint32_t index = 0; index < attr_.max_entries; ++index)
      free_special_fields(slot(index, 0));
  }

  const uint64_t slot_size_;
  const uint32_t slots_per_elem_;
  uint8_t* const storage_;  // owned; max_entries * slots_per_elem * slot_size bytes
};

Map* make_array_common(const MapAttr& attr, uint32_t slots_per_elem) {
  uint64_t* storage = ArrayMap::allocate(attr, slots_per_elem);
  if (storage == nullptr) return nullptr;
  Map* map = new (std::nothrow) ArrayMap(attr, slots_per_elem, storage);
  if (map == nullptr) free_zeroed_block(storage, ArrayMap::storage_bytes(attr, slots_per_elem));
  return map;
}

}  // namespace

Map* make_array(const MapAttr& attr) { return make_array_common(attr, 1); }
Map* make_percpu_array(const MapAttr& attr) { return make_array_common(attr, attr.ncpus); }

}  // namespace hourglass::maps::detail
