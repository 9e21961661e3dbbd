// prog_array: slots of programs for bpf_tail_call. lookup() returns the ProgramRef* (the vm's
// tail call reads it under the running program's guard). The application fills slots with
// update_program(); programs cannot update or delete slots.
//
// A slot owns one program reference. Replaced or cleared references are dropped after an epoch
// grace period, so a tail call that already read the slot can still enter the program. When the
// last user reference goes away every slot is cleared (kernel: prog_array_map_clear on uref
// release), which breaks program <-> prog_array reference cycles.
#include <cerrno>

#include "maps/epoch.h"
#include "maps/fd_slots.h"
#include "maps/map_internal.h"

namespace hourglass::maps::detail {

namespace {

void release_program_later(void* program) {
  if (program == nullptr) return;
  retire(program, [](void* object) { static_cast<ProgramRef*>(object)->release(); });
}

class ProgArray final : public Map {
 public:
  explicit ProgArray(const MapAttr& attr) : Map(attr) {}
  bool init() { return slots_.init(attr_.max_entries); }

  void* lookup(const void* key) override {
    uint32_t index = FdSlots::read_index(key);
    return index < slots_.size() ? slots_.load(index) : nullptr;
  }
  long update(const void*, const void*, uint64_t) override { return -EOPNOTSUPP; }
  long remove(const void* key) override {
    uint32_t index = FdSlots::read_index(key);
    if (index >= slots_.size()) return -E2BIG;
    void* old = slots_.exchange(index, nullptr);
    if (old == nullptr) return -ENOENT;
    release_program_later(old);
    return 0;
  }
  long for_each(const std::function<long(const void*, void*)>&) override { return -EOPNOTSUPP; }
  const void* key_of_value(const void*, uint32_t* index_scratch) const override {
    *index_scratch = 0;  // slots hold no values with timers
    return index_scratch;
  }
  // The kernel reports the program id; ProgramRef has none, so only presence can be asked.
  long user_lookup(const void* key, void*) override {
    uint32_t index = FdSlots::read_index(key);
    if (index >= slots_.size() || slots_.load(index) == nullptr) return -ENOENT;
    return -EOPNOTSUPP;
  }
  long user_update(const void*, const void*, uint64_t) override { return -EINVAL; }
  long user_delete(const void* key) override { return remove(key); }
  long get_next_key(const void* key, void* next_key_out) override {
    return slots_.get_next_key(key, next_key_out);
  }
  long update_program(const void* key, ProgramRef* program, uint64_t flags) override {
    if (flags != kAny) return -EINVAL;
    uint32_t index = FdSlots::read_index(key);
    if (index >= slots_.size()) return -E2BIG;
    if (program == nullptr) return -EINVAL;
    program->acquire();
    release_program_later(slots_.exchange(index, program));
    return 0;
  }
  uint32_t element_count() const override { return attr_.max_entries; }

 protected:
  void release_user_refs() noexcept override { clear_all(); }
  void release_contents() noexcept override { clear_all(); }

 private:
  void clear_all() noexcept {
    for (uint32_t i = 0; i < slots_.size(); ++i) release_program_later(slots_.exchange(i, nullptr));
  }
  FdSlots slots_;
};

}  // namespace

Map* make_prog_array(const MapAttr& attr) {
  auto* map = new (std::nothrow) ProgArray(attr);
  if (map && !map->init()) {
    delete map;
    return nullptr;
  }
  return map;
}

}  // namespace hourglass::maps::detail
