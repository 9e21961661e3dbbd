// create_map(): BPF_MAP_CREATE's attribute checks, then dispatch to the family's factory.
// Checks follow the kernel's *_alloc_check functions and map_check_btf, in that order.
#include <cerrno>
#include <string>

#include "maps/map.h"
#include "maps/map_internal.h"

namespace hourglass::maps {

namespace {

using detail::kKmallocMaxSize;
using detail::kMaxKeySize;
using detail::kMaxMapBytes;
using detail::kPercpuMaxValueSize;
using detail::round_up8;

constexpr uint32_t kAccessFlags = kFlagRdonly | kFlagWronly | kFlagRdonlyProg | kFlagWronlyProg;
constexpr uint32_t kArrayFlags =
    kFlagNumaNode | kFlagMmapable | kAccessFlags | kFlagPreserveElems | kFlagInnerMap;
constexpr uint32_t kHashFlags =
    kFlagNoPrealloc | kFlagNoCommonLru | kFlagNumaNode | kAccessFlags | kFlagZeroSeed;
constexpr uint32_t kQueueStackFlags = kFlagNumaNode | kAccessFlags;

Error fail(int code, const MapAttr& attr, const std::string& why) {
  return make_error(code, "map '" + attr.name + "' (" + map_type_name(attr.type) + "): " + why);
}

// Kernel bpf_map_flags_access_ok: read-only and write-only together make no sense.
bool access_flags_ok(uint32_t flags) {
  return !((flags & kFlagRdonly) && (flags & kFlagWronly)) &&
         !((flags & kFlagRdonlyProg) && (flags & kFlagWronlyProg));
}

Status check_array(const MapAttr& attr) {
  const bool percpu = attr.type == MapType::PercpuArray;
  if ((attr.map_flags & ~kArrayFlags) || !access_flags_ok(attr.map_flags))
    return fail(EINVAL, attr, "unknown or conflicting map flags");
  if (attr.type != MapType::Array && (attr.map_flags & (kFlagMmapable | kFlagInnerMap)))
    return fail(EINVAL, attr, "BPF_F_MMAPABLE and BPF_F_INNER_MAP are for plain arrays only");
  if (attr.map_flags & kFlagPreserveElems)
    return fail(EINVAL, attr, "BPF_F_PRESERVE_ELEMS is for perf event arrays only");
  if (attr.key_size != 4 || attr.value_size == 0 || attr.max_entries == 0)
    return fail(EINVAL, attr, "needs key_size 4, value_size > 0 and max_entries > 0");
  if (attr.value_size > kKmallocMaxSize) return fail(E2BIG, attr, "value_size too large");
  if (percpu && round_up8(attr.value_size) > kPercpuMaxValueSize)
    return fail(E2BIG, attr, "per-CPU value_size too large");
  uint64_t slots = percpu ? uint64_t{attr.ncpus} : 1;
  if (round_up8(attr.value_size) * slots * attr.max_entries > kMaxMapBytes)
    return fail(E2BIG, attr, "storage exceeds the map size cap");
  return {};
}

Status check_fd_array(const MapAttr& attr) {
  if (attr.value_size != 4) return fail(EINVAL, attr, "value_size must be 4 (an fd/id)");
  if (attr.type == MapType::ProgArray && (attr.map_flags & (kFlagRdonlyProg | kFlagWronlyProg)))
    return fail(EINVAL, attr, "program access flags are not allowed");
  return check_array(attr);
}

Status check_hash(const MapAttr& attr) {
  const bool lru = attr.type == MapType::LruHash || attr.type == MapType::LruPercpuHash;
  const bool percpu = attr.type == MapType::PercpuHash || attr.type == MapType::LruPercpuHash;
  const bool prealloc = !(attr.map_flags & kFlagNoPrealloc);
  if ((attr.map_flags & ~kHashFlags) || !access_flags_ok(attr.map_flags))
    return fail(EINVAL, attr, "unknown or conflicting map flags");
  if (!lru && (attr.map_flags & kFlagNoCommonLru))
    return fail(EINVAL, attr, "BPF_F_NO_COMMON_LRU needs an LRU map");
  // The kernel answers -ENOTSUPP (524, not a user errno) here; we answer -EINVAL.
  if (lru && !prealloc) return fail(EINVAL, attr, "LRU maps cannot use BPF_F_NO_PREALLOC");
  if (attr.max_entries == 0 || attr.key_size == 0 || attr.value_size == 0)
    return fail(EINVAL, attr, "needs key_size, value_size and max_entries > 0");
  if (attr.key_size > kMaxKeySize) return fail(E2BIG, attr, "key_size above the BPF stack size");
  if (uint64_t{attr.key_size} + attr.value_size >= kKmallocMaxSize - 64)
    return fail(E2BIG, attr, "key_size + value_size too large");
  if (percpu && round_up8(attr.value_size) > kPercpuMaxValueSize)
    return fail(E2BIG, attr, "per-CPU value_size too large");
  uint64_t buckets = 1;
  while (buckets < attr.max_entries) buckets <<= 1;
  if (buckets * 16 > kMaxMapBytes) return fail(E2BIG, attr, "too many entries");
  uint64_t value_bytes = round_up8(attr.value_size) * (percpu ? attr.ncpus : 1);
  if (prealloc && (round_up8(attr.key_size) + value_bytes + 64) * attr.max_entries > kMaxMapBytes)
    return fail(E2BIG, attr, "preallocated storage exceeds the map size cap");
  return {};
}

Status check_queue_stack(const MapAttr& attr) {
  if (attr.key_size != 0 || attr.value_size == 0 || attr.max_entries == 0 ||
      (attr.map_flags & ~kQueueStackFlags) || !access_flags_ok(attr.map_flags))
    return fail(EINVAL, attr, "needs key_size 0, value_size > 0, max_entries > 0, known flags");
  if (attr.value_size > kKmallocMaxSize) return fail(E2BIG, attr, "value_size too large");
  if (uint64_t{attr.value_size} * (uint64_t{attr.max_entries} + 1) > kMaxMapBytes)
    return fail(E2BIG, attr, "storage exceeds the map size cap");
  return {};
}

Status check_inner_template(const MapAttr& attr) {
  if (!attr.inner_template) return fail(EINVAL, attr, "map-in-map needs an inner map template");
  MapType inner = attr.inner_template->type;
  if (inner == MapType::ArrayOfMaps || inner == MapType::HashOfMaps)
    return fail(EINVAL, attr, "only one level of map-in-map is supported");
  return {};
}

// map_check_btf: where special fields may live, and that they fit the value.
Status check_record(const MapAttr& attr) {
  const FieldRecord& record = attr.record;
  if (record.empty()) return {};
  auto fits = [&](int32_t off, uint32_t size, uint32_t align) {
    return off < 0 || (uint64_t(off) + size <= attr.value_size && off % align == 0);
  };
  if (!fits(record.timer_off, 16, 8) || !fits(record.wq_off, 16, 8) ||
      !fits(record.spin_lock_off, 4, 4))
    return fail(EINVAL, attr, "special field outside the value or misaligned");
  if (record.has_async()) {
    if (attr.type != MapType::Array && attr.type != MapType::Hash && attr.type != MapType::LruHash)
      return fail(EOPNOTSUPP, attr, "bpf_timer/bpf_wq only live in array, hash and lru_hash");
    if (attr.map_flags & kFlagRdonlyProg)
      return fail(EACCES, attr, "bpf_timer/bpf_wq in a map read-only to programs");
  }
  if (record.spin_lock_off >= 0 && attr.type != MapType::Array && attr.type != MapType::Hash)
    return fail(EINVAL, attr, "bpf_spin_lock only lives in array and hash maps");
  return {};
}

}  // namespace

Result<Map*> create_map(const MapAttr& attr) {
  if (attr.ncpus == 0) return fail(EINVAL, attr, "ncpus must be at least 1");
  Status status;
  Map* (*factory)(const MapAttr&) = nullptr;
  switch (attr.type) {
    case MapType::Array:
      status = check_array(attr);
      factory = detail::make_array;
      break;
    case MapType::PercpuArray:
      status = check_array(attr);
      factory = detail::make_percpu_array;
      break;
    case MapType::Hash:
    case MapType::PercpuHash:
    case MapType::LruHash:
    case MapType::LruPercpuHash:
      status = check_hash(attr);
      factory = detail::make_hash;
      break;
    case MapType::ProgArray:
      status = check_fd_array(attr);
      factory = detail::make_prog_array;
      break;
    case MapType::ArrayOfMaps:
      status = check_inner_template(attr);
      if (status) status = check_fd_array(attr);
      factory = detail::make_array_of_maps;
      break;
    case MapType::HashOfMaps:
      status = check_inner_template(attr);
      if (status && attr.value_size != 4)
        status = fail(EINVAL, attr, "value_size must be 4 (an fd/id)");
      if (status) status = check_hash(attr);
      factory = detail::make_hash_of_maps;
      break;
    case MapType::Queue:
    case MapType::Stack:
      status = check_queue_stack(attr);
      factory = detail::make_queue_stack;
      break;
    case MapType::PerfEventArray:
    case MapType::StackTrace:
    case MapType::CgroupArray:
    case MapType::LpmTrie:
    case MapType::RingBuf:
      return fail(EOPNOTSUPP, attr, "map type not supported by hourglass");
    default:
      return make_error(EINVAL, "map '" + attr.name + "': unknown map type " +
                                    std::to_string(static_cast<uint32_t>(attr.type)));
  }
  if (!status) return status.take_error();
  if (status = check_record(attr); !status) return status.take_error();
  Map* map = factory(attr);
  if (map == nullptr) return fail(ENOMEM, attr, "out of memory");
  return map;
}

}  // namespace hourglass::maps
