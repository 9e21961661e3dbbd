// Register liveness (as the kernel's compute_live_registers): for every instruction, the
// registers some path from it reads before writing. A checkpoint's dead registers can hold
// anything in a state it is compared with: nothing below ever looks at them.
//
// A backward data-flow fixpoint over the whole program. Calls are not edges: a bpf-to-bpf call
// reads the arguments its callee reads (live at the callee's entry), a helper or kfunc the
// arguments its prototype names, and every call writes R0-R5. exit reads R0. Frames below the
// current one are resumed after their call, where R0-R5 are rewritten: only R6-R9 of theirs live.
#include "verifier/internal.h"

namespace hourglass::verifier {

using namespace isa;

namespace {

constexpr uint16_t bit(int regno) { return static_cast<uint16_t>(1u << regno); }
constexpr uint16_t kArgRegs = 0x3e;      // R1-R5
constexpr uint16_t kCallClobbers = 0x3f;  // R0-R5
constexpr uint16_t kCalleeSaved = 0x3c0;  // R6-R9

uint16_t proto_args(const helpers::HelperProto* proto) {
  if (!proto) return kArgRegs;
  uint16_t mask = 0;
  for (int i = 0; i < 5; ++i)
    if (proto->args[i] != helpers::ArgType::None) mask |= bit(i + 1);
  return mask;
}

struct UseDef {
  uint16_t use = 0, def = 0;
};

}  // namespace

void Env::compute_liveness() {
  const uint32_t n = static_cast<uint32_t>(insns.size());
  live_in.assign(n, 0);
  // Instruction-local uses and definitions; pseudo calls also use what their target's entry
  // needs, so this is recomputed inside the fixpoint.
  auto use_def = [&](uint32_t pc) -> UseDef {
    const Insn& insn = insns[pc];
    const uint8_t cls = insn_class(insn), op = insn.opcode & 0xf0;
    const bool from_reg = insn.opcode & kSrcX;
    const uint16_t dst = bit(insn.dst & 0xf), src = bit(insn.src & 0xf);
    switch (cls) {
      case kClassAlu:
      case kClassAlu64:
        if (op == kAluMov) return {static_cast<uint16_t>(from_reg ? src : 0), dst};
        return {static_cast<uint16_t>(dst | (from_reg && op != kAluEnd ? src : 0)), dst};
      case kClassLdx: return {src, dst};
      case kClassSt: return {dst, 0};
      case kClassStx: {
        if ((insn.opcode & 0xe0) != kModeAtomic) return {static_cast<uint16_t>(dst | src), 0};
        const bool cmpxchg = insn.imm == kAtomicCmpXchg;
        const uint16_t fetched = (insn.imm & kAtomicFetch) ? (cmpxchg ? bit(0) : src) : 0;
        return {static_cast<uint16_t>(dst | src | (cmpxchg ? bit(0) : 0)), fetched};
      }
      case kClassLd: return {0, is_ld_imm64(insn) ? dst : uint16_t{0}};
      default: break;
    }
    if (op == kJmpExit) return {bit(0), 0};
    if (op == kJmpJa) return {};
    if (op == kJmpCall) {
      if (insn.src == kPseudoCall) {
        const int64_t target = static_cast<int64_t>(pc) + insn.imm + 1;
        return {static_cast<uint16_t>(live_in[static_cast<size_t>(target)] & kArgRegs),
                kCallClobbers};
      }
      const helpers::HelperProto* proto =
          insn.src == kPseudoKfuncCall
              ? (insn.imm >= 0 && static_cast<size_t>(insn.imm) < in.kfuncs.size()
                     ? in.kfuncs[static_cast<size_t>(insn.imm)]
                     : nullptr)
              : helpers::find_helper(static_cast<uint32_t>(insn.imm));
      return {proto_args(proto), kCallClobbers};
    }
    return {static_cast<uint16_t>(dst | (from_reg ? src : 0)), 0};  // conditional jump
  };
  auto successors_live = [&](uint32_t pc) -> uint16_t {
    const Insn& insn = insns[pc];
    const uint8_t cls = insn_class(insn), op = insn.opcode & 0xf0;
    if (is_ld_imm64(insn)) return pc + 2 < n ? live_in[pc + 2] : 0;
    if (cls != kClassJmp && cls != kClassJmp32) return pc + 1 < n ? live_in[pc + 1] : 0;
    if (op == kJmpExit) return 0;
    if (op == kJmpCall) return pc + 1 < n ? live_in[pc + 1] : 0;
    const int64_t target = static_cast<int64_t>(pc) + 1 +
                           (cls == kClassJmp32 && op == kJmpJa ? insn.imm : insn.off);
    uint16_t out = live_in[static_cast<size_t>(target)];
    if (op != kJmpJa && pc + 1 < n) out |= live_in[pc + 1];
    return out;
  };
  // Second slots of ld_imm64 never execute; check_cfg has validated every target.
  std::vector<uint8_t> second_slot(n, 0);
  for (uint32_t pc = 0; pc + 1 < n; ++pc)
    if (is_ld_imm64(insns[pc])) second_slot[++pc] = 1;
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t pc = n; pc-- > 0;) {
      if (second_slot[pc]) continue;
      const UseDef ud = use_def(pc);
      const uint16_t live = static_cast<uint16_t>(ud.use | (successors_live(pc) & ~ud.def));
      if (live != live_in[pc]) {
        live_in[pc] = live;
        changed = true;
      }
    }
  }
}

uint16_t Env::live_regs(const State& st, size_t frame, uint32_t pc) const {
  if (frame + 1 == st.frames.size()) return live_in[pc];
  // A caller waits at its call; it resumes after it with R0-R5 rewritten. Below a bpf_loop /
  // for_each callback it resumes at the call itself, to call again: its arguments live too.
  const Frame& callee = st.frames[frame + 1];
  if (callee.callback == helpers::CallbackKind::Loop ||
      callee.callback == helpers::CallbackKind::ForEachMapElem)
    return live_in[callee.callsite] & static_cast<uint16_t>(kArgRegs | kCalleeSaved);
  const uint32_t resume = callee.callsite + 1;
  return resume < live_in.size() ? live_in[resume] & kCalleeSaved : 0;
}

}  // namespace hourglass::verifier
