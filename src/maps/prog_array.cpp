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
  retire(program, [](void* object) { static_cast<ProgramRef*>(object)->release(); });
}

class ProgArray final : public SlotArrayMap {
 public:
  explicit ProgArray(const MapAttr& attr) : SlotArrayMap(attr) {}

  // The kernel reports the program id; ProgramRef has none, so only presence can be asked.
  long user_lookup(const void* key, void*) override {
    if (!index_in_range(key) || lookup(key) == nullptr) return -ENOENT;
    return -EOPNOTSUPP;
  }
  long update_program(const void* key, ProgramRef* program, uint64_t flags) override {
    if (flags != kAny) return -EINVAL;
    if (!index_in_range(key)) return -E2BIG;
    if (program == nullptr) return -EINVAL;
    program->acquire();
    return replace_slot(key, program);
  }

 protected:
  void drop_slot(void* program) noexcept override { release_program_later(program); }
  void release_user_refs() noexcept override { clear_all(); }
  void release_contents() noexcept override { clear_all(); }
};

}  // namespace

Map* make_prog_array(const MapAttr& attr) { return make_slot_array_map<ProgArray>(attr); }

}  // namespace hourglass::maps::detail
