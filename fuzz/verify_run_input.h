// fuzz_verify_run's input format, shared by the fuzzer and the seed test (so that a committed
// seed means to the test exactly what it means to the fuzzer): byte 0 picks the program type
// (context-buffer types only: their context is a plain buffer, big enough here for any offset the
// verifier allows); the rest is instructions, 8 bytes each, at most kMaxInsns, a trailing partial
// instruction ignored. Unless the last instruction is an exit or an unconditional jump,
// "r0 = 0; exit" is appended so that falling off the end of the mutated bytes still gives a
// well-formed program and the verifier looks further.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "helpers/helpers.h"
#include "hourglass/result.h"
#include "isa/insn.h"
#include "verifier/verifier.h"
#include "vm/vm.h"

namespace hourglass::fuzz {

inline constexpr size_t kMaxInsns = 512;
inline constexpr size_t kCtxBytes = 65536;  // Syscall programs may touch ctx offsets below 65535

// Type byte % 6 indexes this table.
inline constexpr helpers::ProgType kVerifyRunTypes[] = {
    helpers::ProgType::Syscall,       helpers::ProgType::Kprobe,
    helpers::ProgType::Tracepoint,    helpers::ProgType::RawTracepoint,
    helpers::ProgType::PerfEvent,     helpers::ProgType::Tracing};

struct VerifyRunInput {
  helpers::ProgType type = helpers::ProgType::Syscall;
  std::vector<isa::Insn> insns;  // the decoded instructions (+ "r0 = 0; exit")
};

// nullopt for an empty input (no type byte).
std::optional<VerifyRunInput> decode_verify_run(const uint8_t* data, size_t size);

Result<verifier::VerifyOutput> verify_input(const VerifyRunInput& input);

// Helper environment shared by every run: a virtual-time engine so clock helpers work and no
// worker ever fires anything. Lives for the whole process (libFuzzer never returns from main).
const HelperEnv& fuzz_helper_env();

// The verified program prepared for one engine (one reference: release() it). An error means
// the VM refuses what the verifier accepted.
Result<vm::Program*> create_program(const VerifyRunInput& input,
                                    const verifier::VerifyOutput& verified, vm::Engine engine);

// True if some instruction calls a helper or kfunc (not a bpf-to-bpf call): such programs'
// results depend on clocks and random state.
bool calls_helpers(const std::vector<isa::Insn>& insns);

}  // namespace hourglass::fuzz
