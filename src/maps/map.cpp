// The Map base class: ids, reference counts, the hidden-field copy rules and the default
// application-side paths (copy out/in through the program-side operations).
#include "common/relaxed_copy.h"
#include "maps/map.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "maps/epoch.h"
#include "maps/map_internal.h"

namespace hourglass::maps {

namespace {

std::atomic<uint32_t> next_map_id{1};

struct HiddenRange {
  uint32_t off;
  uint32_t size;
};

// The record's hidden ranges sorted by offset (at most three).
size_t hidden_ranges(const FieldRecord& record, std::array<HiddenRange, 3>& out) {
  size_t n = 0;
  if (record.timer_off >= 0) out[n++] = {static_cast<uint32_t>(record.timer_off), 16};
  if (record.wq_off >= 0) out[n++] = {static_cast<uint32_t>(record.wq_off), 16};
  if (record.spin_lock_off >= 0) out[n++] = {static_cast<uint32_t>(record.spin_lock_off), 4};
  std::sort(out.begin(), out.begin() + n,
            [](const HiddenRange& a, const HiddenRange& b) { return a.off < b.off; });
  return n;
}

}  // namespace

const char* map_type_name(MapType type) {
  switch (type) {
    case MapType::Unspec:
      return "unspec";
    case MapType::Hash:
      return "hash";
    case MapType::Array:
      return "array";
    case MapType::ProgArray:
      return "prog_array";
    case MapType::PerfEventArray:
      return "perf_event_array";
    case MapType::PercpuHash:
      return "percpu_hash";
    case MapType::PercpuArray:
      return "percpu_array";
    case MapType::StackTrace:
      return "stack_trace";
    case MapType::CgroupArray:
      return "cgroup_array";
    case MapType::LruHash:
      return "lru_hash";
    case MapType::LruPercpuHash:
      return "lru_percpu_hash";
    case MapType::LpmTrie:
      return "lpm_trie";
    case MapType::ArrayOfMaps:
      return "array_of_maps";
    case MapType::HashOfMaps:
      return "hash_of_maps";
    case MapType::Queue:
      return "queue";
    case MapType::Stack:
      return "stack";
    case MapType::RingBuf:
      return "ringbuf";
  }
  return "unknown";
}

bool FieldRecord::overlaps_hidden(uint32_t off, uint32_t size) const {
  std::array<HiddenRange, 3> ranges;
  size_t n = hidden_ranges(*this, ranges);
  uint64_t end = uint64_t{off} + size;
  for (size_t i = 0; i < n; ++i) {
    if (off < uint64_t{ranges[i].off} + ranges[i].size && ranges[i].off < end) return true;
  }
  return false;
}

void copy_value(const FieldRecord& record, void* dst, const void* src, uint32_t size) {
  auto* out = static_cast<uint8_t*>(dst);
  auto* in = static_cast<const uint8_t*>(src);
  std::array<HiddenRange, 3> ranges;
  size_t n = hidden_ranges(record, ranges);
  uint32_t pos = 0;
  for (size_t i = 0; i < n && pos < size; ++i) {
    uint32_t gap_end = std::min(ranges[i].off, size);
    if (gap_end > pos) relaxed_copy(out + pos, in + pos, gap_end - pos);
    pos = std::max(pos, ranges[i].off + ranges[i].size);
  }
  if (pos < size) relaxed_copy(out + pos, in + pos, size - pos);
}

void zero_hidden(const FieldRecord& record, void* value) {
  auto* bytes = static_cast<uint8_t*>(value);
  if (record.timer_off >= 0) std::memset(bytes + record.timer_off, 0, 16);
  if (record.wq_off >= 0) std::memset(bytes + record.wq_off, 0, 16);
  if (record.spin_lock_off >= 0) std::memset(bytes + record.spin_lock_off, 0, 4);
}

namespace detail {

void lock_value(const FieldRecord& record, void* value) noexcept {
  auto* word = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(value) + record.spin_lock_off);
  unsigned spins = 0;
  while (__atomic_exchange_n(word, 1u, __ATOMIC_ACQUIRE) != 0) {
    while (__atomic_load_n(word, __ATOMIC_RELAXED) != 0) {
      if (++spins > 64) std::this_thread::yield();
    }
  }
}

void unlock_value(const FieldRecord& record, void* value) noexcept {
  auto* word = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(value) + record.spin_lock_off);
  __atomic_store_n(word, 0u, __ATOMIC_RELEASE);
}

void copy_value_locked(const FieldRecord& record, void* dst, const void* src, uint32_t size) {
  lock_value(record, dst);
  copy_value(record, dst, src, size);
  unlock_value(record, dst);
}

bool is_percpu(MapType type) {
  return type == MapType::PercpuArray || type == MapType::PercpuHash ||
         type == MapType::LruPercpuHash;
}

}  // namespace detail

Map::Map(MapAttr attr)
    : attr_(std::move(attr)), id_(next_map_id.fetch_add(1, std::memory_order_relaxed)) {}

Map::~Map() = default;

// offsetof on a class with virtual functions is only "conditionally supported" by the standard;
// GCC and clang give the member's offset for any class without virtual bases, which Map has not.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
size_t Map::inline_lookup_offset() { return offsetof(Map, inline_lookup_); }
#pragma GCC diagnostic pop

long Map::push(const void*, uint64_t) { return -EOPNOTSUPP; }
long Map::pop(void*) { return -EOPNOTSUPP; }
long Map::peek(void*) { return -EOPNOTSUPP; }

long Map::user_lookup(const void* key, void* value_out) {
  EpochGuard guard;
  const void* value = lookup(key);
  if (value == nullptr) return -ENOENT;
  // Hidden fields are never read (timer_init may be publishing into them right now): the
  // output starts zeroed and only the visible bytes are copied.
  std::memset(value_out, 0, attr_.value_size);
  copy_value(attr_.record, value_out, value, attr_.value_size);
  return 0;
}

long Map::user_update(const void* key, const void* value, uint64_t flags) {
  EpochGuard guard;
  return update(key, value, flags);
}

long Map::user_delete(const void* key) {
  EpochGuard guard;
  return remove(key);
}

uint32_t Map::user_value_size() const {
  if (detail::is_percpu(attr_.type)) {
    return static_cast<uint32_t>(detail::round_up8(attr_.value_size) * attr_.ncpus);
  }
  return attr_.value_size;
}

long Map::update_inner_map(const void*, Map*, uint64_t) { return -EINVAL; }
long Map::update_program(const void*, ProgramRef*, uint64_t) { return -EINVAL; }

void Map::release() noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  release_contents();
  // Programs may still hold pointers into this map (an inner map looked up just before the outer
  // slot was cleared): free the storage only after every current guard has ended.
  retire(this, [](void* map) { delete static_cast<Map*>(map); });
}

void Map::acquire_user() noexcept { user_refs_.fetch_add(1, std::memory_order_acq_rel); }

void Map::release_user() noexcept {
  if (user_refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) release_user_refs();
}

void Map::release_user_refs() noexcept {}

void Map::free_special_fields(void* value) noexcept {
  if (attr_.hooks != nullptr && attr_.record.has_async()) {
    attr_.hooks->free_special_fields(*this, value);
  }
}

}  // namespace hourglass::maps
