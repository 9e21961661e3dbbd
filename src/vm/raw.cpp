// run_raw: a bare instruction stream with no maps, no helper environment and only helper 5.
#include <time.h>

#include "maps/epoch.h"
#include "vm/image.h"
#include "vm/run_scope.h"

namespace hourglass::vm {

namespace {

uint64_t raw_ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(now.tv_nsec);
}

// run_raw has no helper environment: only helper 5 (bpf_ktime_get_ns) exists there.
helpers::HelperFn raw_helper(int32_t helper_id) {
  return helper_id == 5 ? raw_ktime_get_ns : nullptr;
}

}  // namespace

Result<uint64_t> run_raw(const std::vector<isa::Insn>& insns, void* memory, size_t memory_size,
                         Engine engine) {
  if (auto checked = check_engine(engine); !checked.ok()) return checked.take_error();
  ImageInput input;
  input.name = "raw";
  input.insns = insns;
  input.engine = engine;
  Program::Impl image;
  if (auto prepared = prepare_image(image, input, raw_helper); !prepared.ok())
    return prepared.take_error();
  maybe_jit_compile(image);
  RunScope scope(nullptr, nullptr);
  maps::EpochGuard guard;
  const uint64_t args[5] = {reinterpret_cast<uint64_t>(memory), memory_size, 0, 0, 0};
  return run_image(image, 0, args);
}

}  // namespace hourglass::vm
