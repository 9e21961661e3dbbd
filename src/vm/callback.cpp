// CallbackTarget::invoke for interpreted and JITed images: a subprogram run on its own fresh frame.
#include "maps/epoch.h"
#include "vm/image.h"
#include "vm/jit_x86.h"
#include "vm/run_scope.h"

namespace hourglass::vm {

uint64_t invoke_callback(const CallbackTarget* self, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5) {
  const auto* image = static_cast<const Program::Impl*>(self->engine_data);
  RunScope scope(self->program, image->env);
  maps::EpochGuard guard;
  const uint64_t args[5] = {r1, r2, r3, r4, r5};
  auto result = run_image(*image, self->entry_insn, args);
  if (result.ok()) return *result;
  // The enclosing run (if any) stops with this error once the calling helper returns; a callback
  // with nothing around it (a timer worker) has nobody to report to and returns 0.
  if (scope.nested()) set_pending_abort(result.take_error());
  return 0;
}

// Lines of native code prefetched from the callback's entry: its first basic blocks.
constexpr size_t kWarmCodeBytes = 512;

void warm_callback(const CallbackTarget* self) {
  const auto* image = static_cast<const Program::Impl*>(self->engine_data);
  __builtin_prefetch(image);
  __builtin_prefetch(reinterpret_cast<const void*>(&invoke_callback));
  for (const maps::Map* map : image->used_maps) __builtin_prefetch(map);
  if (!image->jit) {
    __builtin_prefetch(image->code.data() + self->entry_insn);
    return;
  }
  const JitCode& code = *image->jit;
  __builtin_prefetch(reinterpret_cast<const void*>(code.trampoline));
  if (self->entry_insn >= code.entries.size() || !code.entries[self->entry_insn]) return;
  const auto* entry = static_cast<const uint8_t*>(code.entries[self->entry_insn]);
  const uint8_t* end = code.memory + code.mapped_size;
  for (size_t offset = 0; offset < kWarmCodeBytes && entry + offset < end; offset += 64)
    __builtin_prefetch(entry + offset);
}

Status check_engine(Engine engine) {
  if (engine != Engine::Jit && engine != Engine::Interpreter)
    return make_error(EINVAL, "unknown engine");
  return {};
}

}  // namespace hourglass::vm
