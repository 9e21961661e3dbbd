// libFuzzer target: random instruction sequences through the verifier; whatever it accepts must
// run to completion in the interpreter and the JIT (vm::Program) with no sanitizer report, and
// (for programs without helper calls whose results do not depend on addresses) both engines must
// agree on R0 and the context. No maps.
//
// Input: byte 0 picks the program type (context-buffer types only: their context is a plain
// buffer, big enough here for any offset the verifier allows); the rest is instructions,
// 8 bytes each, at most kMaxInsns. "r0 = 0; exit" is appended so that falling off the end of
// the mutated bytes still gives a well-formed program and the verifier looks further.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "helpers/helpers.h"
#include "isa/insn.h"
#include "timers/timers.h"
#include "verifier/verifier.h"
#include "vm/vm.h"

namespace {

using hourglass::helpers::ProgType;

constexpr size_t kMaxInsns = 512;
constexpr size_t kCtxBytes = 65536;  // Syscall programs may touch ctx offsets below 65535

constexpr ProgType kTypes[] = {ProgType::Syscall, ProgType::Kprobe, ProgType::Tracepoint,
                               ProgType::RawTracepoint, ProgType::PerfEvent, ProgType::Tracing};

// Helper environment shared by every run: a virtual-time engine so clock helpers work and no
// worker ever fires anything. Lives for the whole process (libFuzzer never returns from main).
const hourglass::HelperEnv& helper_env() {
  static const auto* env = [] {
    hourglass::timers::EngineOptions options;
    options.ncpus = 1;
    options.virtual_time = true;
    static auto engine = hourglass::timers::TimerEngine::create(options);
    auto* made = new hourglass::HelperEnv;
    made->timers = engine.get();
    made->ncpus = 1;
    made->trace_sink = [](std::string_view) {};
    made->prandom_seed = 1;
    return made;
  }();
  return *env;
}

std::vector<hourglass::isa::Insn> decode(const uint8_t* data, size_t size) {
  std::vector<hourglass::isa::Insn> insns(std::min(size / 8, kMaxInsns));
  if (!insns.empty()) std::memcpy(insns.data(), data, insns.size() * 8);
  hourglass::isa::Insn mov_r0_0;
  mov_r0_0.opcode = 0xb7;  // BPF_ALU64 | BPF_MOV | BPF_K
  hourglass::isa::Insn exit_insn;
  exit_insn.opcode = 0x95;  // BPF_JMP | BPF_EXIT
  insns.push_back(mov_r0_0);
  insns.push_back(exit_insn);
  return insns;
}

bool calls_helpers(const std::vector<hourglass::isa::Insn>& insns) {
  for (const auto& insn : insns)
    if (insn.opcode == 0x85 && insn.src != 1) return true;  // helper or kfunc, not a bpf-to-bpf call
  return false;
}

// Prepares the verified program for one engine and runs it once on a zeroed context. An error
// from run (call depth) is allowed; a crash or a sanitizer report is not.
hourglass::Result<uint64_t> run_once(ProgType type, const std::vector<hourglass::isa::Insn>& insns,
                                     const hourglass::verifier::VerifyOutput& verified,
                                     hourglass::vm::Engine engine, uint8_t* ctx) {
  hourglass::vm::ImageInput image;
  image.name = "fuzz";
  image.type = type;
  image.insns = insns;
  for (const auto& subprog : verified.subprogs)
    image.subprog_names.emplace_back(subprog.entry, subprog.name);
  image.env = &helper_env();
  image.engine = engine;
  auto program = hourglass::vm::Program::create(std::move(image));
  if (!program.ok()) {
    // The verifier accepted what the VM refuses: the two parts disagree on validity.
    std::fprintf(stderr, "verifier accepted, vm::Program::create refused: %s\n",
                 program.error().message.c_str());
    __builtin_trap();
  }
  std::memset(ctx, 0, kCtxBytes);
  auto ran = (*program)->run(reinterpret_cast<uint64_t>(ctx));
  (*program)->release();
  return ran;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const ProgType type = kTypes[data[0] % std::size(kTypes)];
  std::vector<hourglass::isa::Insn> insns = decode(data + 1, size - 1);

  hourglass::verifier::VerifyInput input;
  input.prog_name = "fuzz";
  input.type = type;
  input.insns = &insns;
  auto verified = hourglass::verifier::verify(input);
  if (!verified.ok()) return 0;

  // Interpreter first, then the JIT on an identical context; without helper calls (whose
  // results depend on clocks and random state) both must give the same R0 and context bytes.
  static uint8_t* ctx_interp = new uint8_t[kCtxBytes];
  static uint8_t* ctx_jit = new uint8_t[kCtxBytes];
  auto interp = run_once(type, insns, *verified, hourglass::vm::Engine::Interpreter, ctx_interp);
  auto jit = run_once(type, insns, *verified, hourglass::vm::Engine::Jit, ctx_jit);
  // Helper results depend on clocks and random state; a program that turns addresses into
  // numbers (the verifier says so) sees different ctx and stack addresses in each engine.
  if (calls_helpers(insns) || verified->exposes_addresses) return 0;
  if (interp.ok() != jit.ok() || (interp.ok() && *interp != *jit) ||
      std::memcmp(ctx_interp, ctx_jit, kCtxBytes) != 0) {
    std::fprintf(stderr, "interpreter and JIT disagree: %s %llx vs %s %llx\n",
                 interp.ok() ? "ok" : interp.error().message.c_str(),
                 interp.ok() ? static_cast<unsigned long long>(*interp) : 0ull,
                 jit.ok() ? "ok" : jit.error().message.c_str(),
                 jit.ok() ? static_cast<unsigned long long>(*jit) : 0ull);
    __builtin_trap();
  }
  return 0;
}
