// CallbackTarget::invoke for interpreted and JITed images: a subprogram run on its own fresh frame.
#include "maps/epoch.h"
#include "vm/image.h"
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

Status check_engine(Engine engine) {
  if (engine != Engine::Jit && engine != Engine::Interpreter)
    return make_error(EINVAL, "unknown engine");
  return {};
}

}  // namespace hourglass::vm
