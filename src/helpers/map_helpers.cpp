// Map helpers. The verifier guarantees `map` is a Map* from an ld_imm64 (or an inner-map
// lookup) and that keys/values point at memory of the map's sizes.
#include <cerrno>

#include "common/program_ref.h"
#include "helpers/impl.h"
#include "maps/map.h"

namespace hourglass::helpers::impl {

namespace {
maps::Map* as_map(u64 map) { return reinterpret_cast<maps::Map*>(map); }
const void* as_ptr(u64 p) { return reinterpret_cast<const void*>(p); }
}  // namespace

u64 map_lookup_elem(u64 map, u64 key, u64, u64, u64) {
  return reinterpret_cast<u64>(as_map(map)->lookup(as_ptr(key)));
}

u64 map_update_elem(u64 map, u64 key, u64 value, u64 flags, u64) {
  return static_cast<u64>(as_map(map)->update(as_ptr(key), as_ptr(value), flags));
}

u64 map_delete_elem(u64 map, u64 key, u64, u64, u64) {
  return static_cast<u64>(as_map(map)->remove(as_ptr(key)));
}

u64 map_push_elem(u64 map, u64 value, u64 flags, u64, u64) {
  return static_cast<u64>(as_map(map)->push(as_ptr(value), flags));
}

u64 map_pop_elem(u64 map, u64 value, u64, u64, u64) {
  return static_cast<u64>(as_map(map)->pop(reinterpret_cast<void*>(value)));
}

u64 map_peek_elem(u64 map, u64 value, u64, u64, u64) {
  return static_cast<u64>(as_map(map)->peek(reinterpret_cast<void*>(value)));
}

// bpf_for_each_map_elem(map, callback(map, key, value, ctx), ctx, flags): the callback returns 0
// to continue and 1 to stop; the result is the number of elements visited.
u64 for_each_map_elem(u64 map, u64 callback, u64 callback_ctx, u64 flags, u64) {
  if (flags != 0) return static_cast<u64>(-EINVAL);
  auto* target = reinterpret_cast<const CallbackTarget*>(callback);
  return static_cast<u64>(as_map(map)->for_each([&](const void* key, void* value) -> long {
    return static_cast<long>(target->invoke(target, map, reinterpret_cast<u64>(key),
                                            reinterpret_cast<u64>(value), callback_ctx, 0));
  }));
}

// bpf_tail_call never reaches the table: the vm implements it because it replaces the running
// program. Reaching this means an engine bypassed that path; fail the call like a missing slot.
u64 tail_call_unreachable(u64, u64, u64, u64, u64) { return static_cast<u64>(-EINVAL); }

}  // namespace hourglass::helpers::impl
