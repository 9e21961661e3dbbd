// libFuzzer target: random instruction sequences through the verifier; whatever it accepts must
// run to completion in the interpreter and the JIT (vm::Program) with no sanitizer report, and
// (for programs without helper calls whose results do not depend on addresses) both engines must
// agree on R0 and the context. No maps. Input format: verify_run_input.h.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "verify_run_input.h"

namespace {

using namespace hourglass;

// Runs the verified program once in one engine on a zeroed context. An error from run (call
// depth) is allowed; a crash, a sanitizer report or the VM refusing the program is not.
Result<uint64_t> run_once(const fuzz::VerifyRunInput& input,
                          const verifier::VerifyOutput& verified, vm::Engine engine,
                          uint8_t* ctx) {
  auto program = fuzz::create_program(input, verified, engine);
  if (!program.ok()) {
    // The verifier accepted what the VM refuses: the two parts disagree on validity.
    std::fprintf(stderr, "verifier accepted, vm::Program::create refused: %s\n",
                 program.error().message.c_str());
    __builtin_trap();
  }
  std::memset(ctx, 0, fuzz::kCtxBytes);
  auto ran = (*program)->run(reinterpret_cast<uint64_t>(ctx));
  (*program)->release();
  return ran;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::optional<fuzz::VerifyRunInput> input = fuzz::decode_verify_run(data, size);
  if (!input) return 0;
  auto verified = fuzz::verify_input(*input);
  if (!verified.ok()) return 0;

  // Interpreter first, then the JIT on an identical context.
  static uint8_t* ctx_interp = new uint8_t[fuzz::kCtxBytes];
  static uint8_t* ctx_jit = new uint8_t[fuzz::kCtxBytes];
  auto interp = run_once(*input, *verified, vm::Engine::Interpreter, ctx_interp);
  auto jit = run_once(*input, *verified, vm::Engine::Jit, ctx_jit);
  // Helper results depend on clocks and random state; a program that turns addresses into
  // numbers (the verifier says so) sees different ctx and stack addresses in each engine.
  if (fuzz::calls_helpers(input->insns) || verified->exposes_addresses) return 0;
  if (interp.ok() != jit.ok() || (interp.ok() && *interp != *jit) ||
      std::memcmp(ctx_interp, ctx_jit, fuzz::kCtxBytes) != 0) {
    std::fprintf(stderr, "interpreter and JIT disagree: %s %llx vs %s %llx\n",
                 interp.ok() ? "ok" : interp.error().message.c_str(),
                 interp.ok() ? static_cast<unsigned long long>(*interp) : 0ull,
                 jit.ok() ? "ok" : jit.error().message.c_str(),
                 jit.ok() ? static_cast<unsigned long long>(*jit) : 0ull);
    __builtin_trap();
  }
  return 0;
}
