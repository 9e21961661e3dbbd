// The face of verifier/: a static verifier in the spirit of the kernel's (kernel/bpf/verifier.c).
//
// verify() proves, by abstract interpretation over every path of the program (with state pruning
// at jump targets), that a program in the kernel's post-libbpf form (object/object.h) only reads
// initialised registers and stack, stays inside every memory region it touches, calls helpers with
// arguments of the types their prototypes (helpers/proto.h) demand, terminates (bounded loops,
// 1M processed-instruction limit), keeps its stack within 512 bytes along any call chain and
// follows the bpf_timer / bpf_wq / bpf_spin_lock rules. See docs/verifier.md for what is checked
// and where.
//
// Failures come back as Error{EACCES or EINVAL (or E2BIG), "prog 'NAME': insn N (file.c:L:
// `source`): <reason in the kernel's wording>"}; with verbose_log the path log follows after a
// newline.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "helpers/proto.h"
#include "hourglass/result.h"
#include "isa/insn.h"
#include "maps/map.h"
#include "object/object.h"

namespace hourglass::verifier {

// One per map index used by ld_imm64 src=1/2 in the program.
struct MapDesc {
  maps::MapAttr attr;  // type, sizes, flags, record, has_value_btf, inner_template
  std::string name;
};

struct VerifyInput {
  std::string prog_name;
  helpers::ProgType type = helpers::ProgType::Unspec;
  const std::vector<isa::Insn>* insns = nullptr;  // kernel form, see src/object/object.h
  std::vector<MapDesc> maps;                       // by map index
  std::vector<std::pair<uint32_t, std::string>> subprog_names;  // entry insn -> name (func_info)
  std::vector<object::LineInfo> line_info;                      // optional, for messages
  std::vector<const helpers::HelperProto*> kfuncs;  // kfunc index -> prototype (may be null)
  bool verbose_log = false;
  // Instructions the exploration may simulate before refusing the program as too large (the
  // kernel's BPF_COMPLEXITY_LIMIT_INSNS). Only tools lower it: the fuzzer keeps each input's
  // verification short, since a loop that runs to the limit takes seconds under ASan.
  uint32_t complexity_limit = 1'000'000;
};

struct VerifyStats {
  uint32_t insns_processed = 0;  // instructions simulated over all paths (kernel's "processed")
  uint32_t states = 0;           // checkpoints stored at prune points
  uint32_t pruned = 0;           // paths cut because a stored state subsumed them
  uint32_t max_stack_depth = 0;  // deepest combined stack (rounded) over every call chain
  // History entries the precision walks went over: linear in insns_processed as long as every
  // path gets a checkpoint often enough (explore.cpp, kForceCheckpointHistory).
  uint64_t precision_walk_steps = 0;
};

struct SubprogInfo {
  uint32_t entry = 0;        // first instruction
  std::string name;
  uint32_t stack_depth = 0;  // bytes of its own frame the subprogram touches (unrounded)
  bool is_async_callback = false;  // timer / wq callback: runs as its own root
  bool is_callback = false;        // passed to bpf_loop / bpf_for_each_map_elem
  // Some path may read bytes of this subprogram's own frame that nothing wrote before in the
  // same call: a load, atomic or helper memory argument over never-written stack (the kernel
  // allows it to a CAP_PERFMON loader and yields an unknown number), a read through a pointer
  // into this frame from a callee or callback included, and bytes a variable-offset store may
  // have left unwritten. Set on the subprogram that OWNS the frame, not the one reading.
  //
  // The vm's contract: at every entry of such a subprogram (main program, bpf-to-bpf call,
  // sync or async callback), before any of its instructions runs, the bytes
  // [fp - stack_depth, fp) hold zero (the interpreter and the JIT must agree, and stale bytes of
  // the host's stack must never reach the program). The verifier still models them as unknown,
  // as the kernel does, so zero is one possible value and nothing may rely on it. Subprograms
  // with the flag clear never read a byte they did not write: their frames need no zeroing.
  bool reads_uninit_stack = false;
};

struct VerifyOutput {
  std::string log;  // verbose path log (empty unless verbose_log)
  VerifyStats stats;
  std::vector<SubprogInfo> subprogs;  // sorted by entry; [0] is the main program
  // Set when some path lets an address become a number or decide a branch (a privileged loader
  // may: 32-bit copies or differences of pointers, a pointer compared with a number, a partly
  // overwritten spilled pointer, a pointer returned by the program). Such a program's results
  // depend on where its memory lives, so two engines may legitimately differ (fuzzing).
  bool exposes_addresses = false;
};

Result<VerifyOutput> verify(const VerifyInput& input);

// The frames the vm must zero at entry (vm::ImageInput::zeroed_frames): (entry, bytes rounded
// up to 8) of every subprogram with reads_uninit_stack. Every loader of verified code passes
// this on; a program run without it reads whatever the host stack held.
std::vector<std::pair<uint32_t, uint32_t>> zeroed_frames(const VerifyOutput& verified);

}  // namespace hourglass::verifier
