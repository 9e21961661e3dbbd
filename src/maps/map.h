// The face of maps/: one abstract Map with kernel semantics, created by create_map().
//
// Two access paths, as in the kernel:
//  - program side (helpers, called with an epoch guard held by the running program): lookup()
//    returns a pointer into the map's storage that stays valid until the guard is dropped, even
//    if another thread deletes the element meanwhile (deleted elements are retired to the epoch
//    reclaimer, never freed in place);
//  - application side (user_*): copies in and out; hidden special fields (bpf_timer, bpf_wq,
//    bpf_spin_lock) read as zeros and are never overwritten; per-CPU values span every vCPU, each
//    slot rounded up to 8 bytes, as the bpf() syscall does.
// Error returns are the kernel's negative errno values (-ENOENT, -EEXIST, -E2BIG, -EINVAL, ...).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/program_ref.h"
#include "hourglass/result.h"

namespace hourglass::maps {

// Kernel enum bpf_map_type values.
enum class MapType : uint32_t {
  Unspec = 0,
  Hash = 1,
  Array = 2,
  ProgArray = 3,
  PerfEventArray = 4,
  PercpuHash = 5,
  PercpuArray = 6,
  StackTrace = 7,
  CgroupArray = 8,
  LruHash = 9,
  LruPercpuHash = 10,
  LpmTrie = 11,
  ArrayOfMaps = 12,
  HashOfMaps = 13,
  Queue = 22,
  Stack = 23,
  RingBuf = 27,
};
const char* map_type_name(MapType type);  // "hash", "array", ... as bpftool prints them

// Update flags (kernel UAPI).
inline constexpr uint64_t kAny = 0, kNoExist = 1, kExist = 2, kLock = 4;
// Map creation flags (kernel UAPI).
inline constexpr uint32_t kFlagNoPrealloc = 1u << 0, kFlagRdonlyProg = 1u << 7,
                          kFlagWronlyProg = 1u << 8, kFlagMmapable = 1u << 10;
inline constexpr uint32_t kFlagNoCommonLru = 1u << 1, kFlagNumaNode = 1u << 2,
                          kFlagRdonly = 1u << 3, kFlagWronly = 1u << 4, kFlagZeroSeed = 1u << 6,
                          kFlagPreserveElems = 1u << 11, kFlagInnerMap = 1u << 12;

// Where a value's hidden fields sit, found once from the value's BTF (object/) and read by the
// verifier, every copy path and the timer engine. -1 = absent.
struct FieldRecord {
  int32_t timer_off = -1;      // struct bpf_timer, 16 bytes
  int32_t wq_off = -1;         // struct bpf_wq, 16 bytes
  int32_t spin_lock_off = -1;  // struct bpf_spin_lock, 4 bytes
  bool has_timer() const { return timer_off >= 0; }
  bool has_async() const { return timer_off >= 0 || wq_off >= 0; }
  bool empty() const { return timer_off < 0 && wq_off < 0 && spin_lock_off < 0; }
  // True if [off, off+size) touches a field no program or application may access directly.
  bool overlaps_hidden(uint32_t off, uint32_t size) const;
  bool operator==(const FieldRecord&) const = default;
};

// Copies `size` bytes of a value from src to dst, leaving dst's hidden fields untouched.
void copy_value(const FieldRecord& record, void* dst, const void* src, uint32_t size);
// Zeroes the hidden fields of a value copied out to the application.
void zero_hidden(const FieldRecord& record, void* value);

class Map;

// Installed by a higher part (timers/) so that maps can release what lives in a value's special
// fields without including it. Maps call free_special_fields() after unlinking an element (delete,
// update replacing it, LRU eviction), for every element when the last user reference goes away,
// and at destruction -- always outside the map's own locks (kernel bug class 10 in the spec).
class SpecialFieldHooks {
 public:
  virtual void free_special_fields(Map& map, void* value) noexcept = 0;

 protected:
  ~SpecialFieldHooks() = default;
};

struct MapAttr {
  MapType type = MapType::Unspec;
  std::string name;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  FieldRecord record;
  bool has_value_btf = false;  // timers need it (verifier message names the map)
  uint32_t ncpus = 1;          // virtual CPUs, for per-CPU maps
  // For array_of_maps / hash_of_maps: the template inner maps must match (type, sizes, record).
  std::shared_ptr<const MapAttr> inner_template;
  SpecialFieldHooks* hooks = nullptr;  // may be null when the record has no async fields
};

class Map {
 public:
  explicit Map(MapAttr attr);
  virtual ~Map();
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  const MapAttr& attr() const { return attr_; }
  MapType type() const { return attr_.type; }
  const std::string& name() const { return attr_.name; }
  uint32_t id() const { return id_; }  // unique in the process, like a kernel map id

  // ---- program side (caller holds an EpochGuard) ----
  // Pointer to the value (this vCPU's slot for per-CPU maps); for *_of_maps the inner Map*
  // itself; for prog_array the ProgramRef*; null when absent.
  virtual void* lookup(const void* key) = 0;
  virtual long update(const void* key, const void* value, uint64_t flags) = 0;
  virtual long remove(const void* key) = 0;
  virtual long push(const void* value, uint64_t flags);  // queue/stack; -EOPNOTSUPP elsewhere
  virtual long pop(void* value);
  virtual long peek(void* value);
  // bpf_for_each_map_elem: calls fn(key, value) for each element until it returns non-zero;
  // returns the number of elements visited.
  virtual long for_each(const std::function<long(const void* key, void* value)>& fn) = 0;
  // The key a timer callback receives for the element holding `value` (array: pointer to a u32
  // index written into index_scratch; hash: the element's own key).
  virtual const void* key_of_value(const void* value, uint32_t* index_scratch) const = 0;
  // Base address and size of the single value of a one-element array (global data sections),
  // for ld_imm64 BPF_PSEUDO_MAP_VALUE; null for other maps.
  virtual void* direct_value_base() { return nullptr; }

  // ---- application side ----
  virtual long user_lookup(const void* key, void* value_out);
  virtual long user_update(const void* key, const void* value, uint64_t flags);
  virtual long user_delete(const void* key);
  virtual long get_next_key(const void* key /* null: first */, void* next_key_out) = 0;
  // Size of a value as the application sees it (per-CPU: round_up(value_size, 8) * ncpus).
  uint32_t user_value_size() const;
  // Map-in-map and prog_array slots hold objects, not bytes.
  virtual long update_inner_map(const void* key, Map* inner, uint64_t flags);
  virtual long update_program(const void* key, ProgramRef* prog, uint64_t flags);
  virtual uint32_t element_count() const = 0;

  // ---- lifetime (kernel: refcnt and usercnt) ----
  void acquire() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept;  // deletes the map at zero
  void acquire_user() noexcept;
  // At zero: release_user_refs() (cancels timers, empties prog_array).
  void release_user() noexcept;
  uint64_t user_refs() const noexcept { return user_refs_.load(std::memory_order_acquire); }

 protected:
  // Called once when the user count drops to zero (kernel map_release_uref).
  virtual void release_user_refs() noexcept;
  // Called once when the last reference goes away, before the map object is retired to the
  // epoch reclaimer (its destructor runs after a grace period): free every element's special
  // fields through the hooks, release held programs and inner maps. The destructor then only
  // frees memory and never calls hooks.
  virtual void release_contents() noexcept {}
  // Helper for implementations: free a value's special fields through the hooks, if any.
  void free_special_fields(void* value) noexcept;

  MapAttr attr_;

 private:
  uint32_t id_;
  std::atomic<uint64_t> refs_{1};
  std::atomic<uint64_t> user_refs_{0};
};

// Creates a map; rejects bad attributes the way BPF_MAP_CREATE does (-EINVAL for zero sizes or
// unknown flags, -EOPNOTSUPP for a bpf_timer in a map type that cannot hold one, -E2BIG, ...).
// The returned map has one reference and no user reference.
Result<Map*> create_map(const MapAttr& attr);

}  // namespace hourglass::maps
