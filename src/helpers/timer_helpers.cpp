// bpf_timer_* helpers and bpf_wq kfuncs: thin bindings to the timer engine of the running
// program's environment. The program reference set_callback takes is the running program's,
// which is how the kernel's hidden `aux` argument works.
#include <cerrno>

#include "common/run_context.h"
#include "helpers/helpers.h"
#include "helpers/impl.h"
#include "maps/map.h"
#include "timers/timers.h"

namespace hourglass::helpers::impl {

namespace {
timers::TimerEngine* engine() {
  RunContext* run = current_run();
  return run && run->env ? run->env->timers : nullptr;
}
ProgramRef* running_program() {
  RunContext* run = current_run();
  return run ? run->program : nullptr;
}
void* as_field(u64 p) { return reinterpret_cast<void*>(p); }
maps::Map* as_map(u64 p) { return reinterpret_cast<maps::Map*>(p); }
const CallbackTarget* as_callback(u64 p) { return reinterpret_cast<const CallbackTarget*>(p); }
constexpr u64 kNoEngine = static_cast<u64>(-EOPNOTSUPP);
}  // namespace

u64 timer_init(u64 timer, u64 map, u64 flags, u64, u64) {
  auto* e = engine();
  return e ? static_cast<u64>(e->timer_init(as_field(timer), as_map(map), flags)) : kNoEngine;
}

u64 timer_set_callback(u64 timer, u64 callback, u64, u64, u64) {
  auto* e = engine();
  return e ? static_cast<u64>(
                 e->timer_set_callback(as_field(timer), as_callback(callback), running_program()))
           : kNoEngine;
}

u64 timer_start(u64 timer, u64 nsecs, u64 flags, u64, u64) {
  auto* e = engine();
  return e ? static_cast<u64>(e->timer_start(as_field(timer), nsecs, flags)) : kNoEngine;
}

u64 timer_cancel(u64 timer, u64, u64, u64, u64) {
  auto* e = engine();
  return e ? static_cast<u64>(e->timer_cancel(as_field(timer))) : kNoEngine;
}

u64 wq_init(u64 wq, u64 map, u64 flags, u64, u64) {
  auto* e = engine();
  return e ? static_cast<u64>(e->wq_init(as_field(wq), as_map(map), flags)) : kNoEngine;
}

u64 wq_set_callback_impl(u64 wq, u64 callback, u64 flags, u64, u64) {
  auto* e = engine();
  return e ? static_cast<u64>(e->wq_set_callback(as_field(wq), as_callback(callback), flags,
                                                  running_program()))
           : kNoEngine;
}

u64 wq_start(u64 wq, u64 flags, u64, u64, u64) {
  auto* e = engine();
  return e ? static_cast<u64>(e->wq_start(as_field(wq), flags)) : kNoEngine;
}

}  // namespace hourglass::helpers::impl
