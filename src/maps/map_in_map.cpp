// array_of_maps and hash_of_maps: slots holding inner maps. Programs only look up (and get the
// inner Map* itself); the application fills slots with update_inner_map() and reads back inner
// map ids.
//
// A slot holds a plain reference on its inner map (kernel bpf_map_inc, not a user reference), so
// closing the inner map's last user handle still runs its uref release (timers die) while the
// outer map keeps it reachable. Replacing or deleting a slot drops that reference at once: an
// inner map freed that way is itself retired through the epoch reclaimer (Map::release), so a
// program that looked it up just before still holds valid memory until its guard ends.
#include <cerrno>
#include <cstring>

#include "maps/epoch.h"
#include "maps/fd_slots.h"
#include "maps/hash_table.h"

namespace hourglass::maps::detail {

bool inner_map_matches(const MapAttr& inner_template, const MapAttr& inner) {
  if (inner.type != inner_template.type || inner.key_size != inner_template.key_size ||
      inner.value_size != inner_template.value_size ||
      inner.map_flags != inner_template.map_flags || !(inner.record == inner_template.record))
    return false;
  return (inner_template.map_flags & kFlagInnerMap) ||
         inner.max_entries == inner_template.max_entries;
}

namespace {

long write_inner_id(const Map* inner, void* value_out) {
  uint32_t id = inner->id();
  std::memcpy(value_out, &id, sizeof(id));
  return 0;
}

class ArrayOfMaps final : public SlotArrayMap {
 public:
  explicit ArrayOfMaps(const MapAttr& attr) : SlotArrayMap(attr) {}

  long user_lookup(const void* key, void* value_out) override {
    EpochGuard guard;
    auto* inner = static_cast<Map*>(lookup(key));
    if (inner == nullptr) return -ENOENT;
    return write_inner_id(inner, value_out);
  }
  long update_inner_map(const void* key, Map* inner, uint64_t flags) override {
    if (flags != kAny) return -EINVAL;
    if (!index_in_range(key)) return -E2BIG;
    if (inner == nullptr || !inner_map_matches(*attr_.inner_template, inner->attr()))
      return -EINVAL;
    inner->acquire();
    return replace_slot(key, inner);
  }

 protected:
  void drop_slot(void* inner) noexcept override { static_cast<Map*>(inner)->release(); }
  void release_contents() noexcept override { clear_all(); }
};

// hash_of_maps: a hash table whose 8-byte value area holds the inner Map*.
class HashOfMaps final : public HashTable {
 public:
  explicit HashOfMaps(const MapAttr& attr) : HashTable(attr) {}

  void* lookup(const void* key) override {
    void* slot = HashTable::lookup(key);
    return slot ? read_inner(slot) : nullptr;
  }
  long update(const void*, const void*, uint64_t) override { return -EOPNOTSUPP; }
  long for_each(const std::function<long(const void*, void*)>&) override { return -EOPNOTSUPP; }
  long user_lookup(const void* key, void* value_out) override {
    EpochGuard guard;
    Map* inner = static_cast<Map*>(lookup(key));
    if (inner == nullptr) return -ENOENT;
    return write_inner_id(inner, value_out);
  }
  long user_update(const void*, const void*, uint64_t) override { return -EINVAL; }
  long update_inner_map(const void* key, Map* inner, uint64_t flags) override {
    if (flags > kExist) return -EINVAL;
    if (inner == nullptr || !inner_map_matches(*attr_.inner_template, inner->attr()))
      return -EINVAL;
    inner->acquire();
    EpochGuard guard;
    long err = upsert(
        key, flags, [&](uint8_t* value) { std::memcpy(value, &inner, sizeof(inner)); }, nullptr);
    if (err != 0) inner->release();
    return err;
  }

 protected:
  void element_died(void* value) noexcept override {
    if (Map* inner = read_inner(value)) inner->release();
  }

 private:
  static Map* read_inner(const void* value) {
    Map* inner;
    std::memcpy(&inner, value, sizeof(inner));
    return inner;
  }
};

}  // namespace

Map* make_array_of_maps(const MapAttr& attr) { return make_slot_array_map<ArrayOfMaps>(attr); }

Map* make_hash_of_maps(const MapAttr& attr) {
  return make_hash_table(attr, new (std::nothrow) HashOfMaps(attr));
}

}  // namespace hourglass::maps::detail
