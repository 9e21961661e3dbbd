// The face of vm/: turns relocated instructions into an executable program image and runs it on
// the calling thread (interpreter now; the JIT later behind the same Program).
//
// Preparation mirrors the kernel's resolve_pseudo_ldimm64 + fixup_bpf_calls: ld_imm64 map
// references become Map* values, map-value references become value addresses (+offset),
// BPF_PSEUDO_FUNC becomes a CallbackTarget*, helper calls are bound through helpers/proto.h
// (unknown id: "instruction N: unknown helper id X"), kfunc calls through the given table.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/program_ref.h"
#include "helpers/proto.h"
#include "hourglass/result.h"
#include "isa/insn.h"
#include "maps/map.h"

namespace hourglass {
struct HelperEnv;
}

namespace hourglass::vm {

enum class Engine { Interpreter, Jit };

struct ImageInput {
  std::string name;
  helpers::ProgType type = helpers::ProgType::Unspec;
  std::vector<isa::Insn> insns;         // kernel form, map indices (see object/object.h)
  std::vector<maps::Map*> maps;         // map index -> map; the program acquires a ref on each used
  std::vector<helpers::HelperFn> kfuncs;  // kfunc index -> implementation (null = unresolved)
  std::vector<std::pair<uint32_t, std::string>> subprog_names;  // entry insn -> name
  // Functions whose frame must read as zeros on entry: (entry insn, bytes below the frame
  // pointer, at most the 512-byte frame). The verifier lists the functions that may read stack
  // bytes they never wrote; both engines clear that much before the first instruction.
  std::vector<std::pair<uint32_t, uint32_t>> zeroed_frames;
  const HelperEnv* env = nullptr;       // helpers' environment for this program's runs
  Engine engine = Engine::Interpreter;
};

class Program final : public ProgramRef {
 public:
  // Validates encodings (unknown opcodes, jumps out of range, truncated ld_imm64, bad map
  // index) and binds relocations. The result has one reference; release() frees it at zero.
  static Result<Program*> create(ImageInput input);

  // Runs the entry function with R1..R5 on this thread and returns R0. A run that exceeds the
  // call-frame limit or hits a malformed call in unverified mode stops with an error instead.
  Result<uint64_t> run(uint64_t r1, uint64_t r2 = 0, uint64_t r3 = 0, uint64_t r4 = 0,
                       uint64_t r5 = 0);

  // BPF_PROG_TEST_RUN's loop: runs the entry function `repeat` times (at least once) with the
  // same R1 and returns the last R0. As the kernel enters rcu_read_lock and the run context once
  // around its loop, the run context and the epoch guard are set up once per batch of runs, not
  // per run; each run still starts with a fresh tail-call count and this program as current.
  Result<uint64_t> run_repeated(uint64_t r1, uint32_t repeat);

  void acquire() noexcept override;
  bool try_acquire() noexcept override;
  void release() noexcept override;
  const char* name() const noexcept override { return name_.c_str(); }
  helpers::ProgType type() const { return type_; }
  const std::vector<isa::Insn>& insns() const { return insns_; }

  struct Impl;
  // The prepared image (vm-private type; a tail call jumps into the target's image).
  const Impl* image() const noexcept { return impl_.get(); }

 private:
  Program() = default;
  ~Program();
  std::string name_;
  helpers::ProgType type_ = helpers::ProgType::Unspec;
  std::vector<isa::Insn> insns_;  // as given (for disassembly and introspection)
  std::atomic<uint64_t> refs_{1};
  std::unique_ptr<Impl> impl_;
};

// Name of helper `helper_id` from the helper table, or null; an isa::HelperNameFn for
// isa::disassemble.
const char* helper_name(int32_t helper_id);

// Runs a raw instruction stream with no maps and no relocations (conformance plugin). Helper id 5
// is bound to bpf_ktime_get_ns as in the kernel's table.
Result<uint64_t> run_raw(const std::vector<isa::Insn>& insns, void* memory, size_t memory_size,
                         Engine engine = Engine::Interpreter);

}  // namespace hourglass::vm
