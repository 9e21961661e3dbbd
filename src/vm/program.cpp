// Program lifetime and runs, bound to the helper table (run_raw and callbacks live in raw.cpp and
// callback.cpp so that the conformance plugin links without the helper table).
#include "helpers/helpers.h"
#include "maps/epoch.h"
#include "vm/image.h"
#include "vm/run_scope.h"

namespace hourglass::vm {

namespace {

helpers::HelperFn table_helper(int32_t helper_id) {
  const helpers::HelperProto* proto = helpers::find_helper(static_cast<uint32_t>(helper_id));
  return proto ? proto->fn : nullptr;
}

}  // namespace

Result<Program*> Program::create(ImageInput input) {
  if (auto engine = check_engine(input.engine); !engine.ok()) return engine.take_error();
  Program* program = new Program();
  program->name_ = input.name;
  program->type_ = input.type;
  program->impl_ = std::make_unique<Impl>();
  program->impl_->self = program;
  if (auto prepared = prepare_image(*program->impl_, input, table_helper); !prepared.ok()) {
    program->release();  // releases the maps acquired so far
    return prepared.take_error();
  }
  maybe_jit_compile(*program->impl_);
  program->insns_ = std::move(input.insns);
  return program;
}

Program::~Program() {
  if (impl_)
    for (maps::Map* map : impl_->used_maps) map->release();
}

Result<uint64_t> Program::run(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5) {
  RunScope scope(this, impl_->env);
  maps::EpochGuard guard;
  const uint64_t args[5] = {r1, r2, r3, r4, r5};
  return run_image(*impl_, 0, args);
}

Result<uint64_t> Program::run_repeated(uint64_t r1, uint32_t repeat) {
  // The guard is re-entered every kRunsPerGuard runs so that a long test-run does not hold back
  // reclamation for its whole duration (the kernel's loop leaves RCU when it reschedules).
  constexpr uint32_t kRunsPerGuard = 1024;
  if (repeat == 0) repeat = 1;
  RunScope scope(this, impl_->env);
  const uint64_t args[5] = {r1, 0, 0, 0, 0};
  uint64_t r0 = 0;
  uint32_t done = 0;
  do {
    maps::EpochGuard guard;
    const uint32_t batch = repeat - done > kRunsPerGuard ? kRunsPerGuard : repeat - done;
    auto ran = run_image_repeated(*impl_, args, batch, scope);
    if (!ran.ok()) return ran;
    r0 = *ran;
    done += batch;
  } while (done < repeat);
  return r0;
}

void Program::acquire() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }

bool Program::try_acquire() noexcept {
  uint64_t count = refs_.load(std::memory_order_relaxed);
  while (count != 0)
    if (refs_.compare_exchange_weak(count, count + 1, std::memory_order_acq_rel)) return true;
  return false;
}

void Program::release() noexcept {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

const char* helper_name(int32_t helper_id) {
  const helpers::HelperProto* proto = helpers::find_helper(static_cast<uint32_t>(helper_id));
  return proto ? proto->name : nullptr;
}

}  // namespace hourglass::vm
