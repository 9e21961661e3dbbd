// Encoding checks on every instruction, reachable or not, before any state is simulated (the
// kernel's check_and_resolve_insns + check_insn_fields, newest form): register numbers, the
// fields each class reserves (must be zero or one of a few values), ld_imm64 pairs and their
// pseudo sources, and what a call names.
//
// Why every instruction and not only the simulated ones: the VM prepares the whole stream, so an
// instruction on a path the verifier proved dead still has to be one the VM accepts. The kernel
// gets away with checking fewer (before 6.19 the fields were checked while simulating) because it
// rewrites dead code into `ja -1` afterwards; Hourglass runs the stream as loaded, so it refuses
// instead. The one place this is stricter than the kernel: a helper id nobody implements in code
// no path reaches (`invalid func unknown#%d`).
#include <fmt/format.h>

#include "verifier/internal.h"

namespace hourglass::verifier {

using namespace isa;

namespace {

constexpr int kMaxRegister = 10;  // R10 is the frame pointer; R11+ do not exist

// One of these per failing rule; the text is the kernel's.
struct FieldError {
  int code;
  const char* reason;
};

std::optional<FieldError> alu_fields(const Insn& insn) {
  const uint8_t op = insn.opcode & 0xf0;
  const bool from_reg = insn.opcode & kSrcX;
  const bool is64 = insn_class(insn) == kClassAlu64;
  switch (op) {
    case kAluNeg:
      if (from_reg || insn.src != 0 || insn.off != 0 || insn.imm != 0)
        return FieldError{EINVAL, "BPF_NEG uses reserved fields"};
      return std::nullopt;
    case kAluEnd:
      if (insn.src != 0 || insn.off != 0 || (insn.imm != 16 && insn.imm != 32 && insn.imm != 64) ||
          (is64 && from_reg))
        return FieldError{EINVAL, "BPF_END uses reserved fields"};
      return std::nullopt;
    case kAluMov:
      if (from_reg) {
        // movsx: 8/16 bits into 32, 8/16/32 into 64. (off 1 on ALU64 is the kernel's arena
        // addr_space_cast, which Hourglass has no arena for.)
        const bool sext_ok = insn.off == 0 || insn.off == 8 || insn.off == 16 ||
                             (is64 && insn.off == 32);
        if (!sext_ok || insn.imm != 0) return FieldError{EINVAL, "BPF_MOV uses reserved fields"};
      } else if (insn.src != 0 || insn.off != 0) {
        return FieldError{EINVAL, "BPF_MOV uses reserved fields"};
      }
      return std::nullopt;
    default: {
      // off 1 selects signed division (sdiv/smod); no other operation has an `off`.
      const bool signed_op = op == kAluDiv || op == kAluMod;
      const bool off_ok = insn.off == 0 || (insn.off == 1 && signed_op);
      if (!off_ok || (from_reg ? insn.imm != 0 : insn.src != 0))
        return FieldError{EINVAL, "BPF_ALU uses reserved fields"};
      return std::nullopt;
    }
  }
}

std::optional<FieldError> jmp_fields(const Insn& insn) {
  const uint8_t op = insn.opcode & 0xf0;
  const bool from_reg = insn.opcode & kSrcX;
  const bool is32 = insn_class(insn) == kClassJmp32;
  switch (op) {
    case kJmpCall:
      if (from_reg || (insn.src != kPseudoKfuncCall && insn.off != 0) ||
          (insn.src != 0 && insn.src != kPseudoCall && insn.src != kPseudoKfuncCall) ||
          insn.dst != 0 || is32)
        return FieldError{EINVAL, "BPF_CALL uses reserved fields"};
      return std::nullopt;
    case kJmpJa:
      // ja takes its offset from `off`, gotol (JMP32) from `imm`; the other one is reserved.
      if (insn.src != 0 || insn.dst != 0 || (!is32 && insn.imm != 0) || (is32 && insn.off != 0))
        return FieldError{EINVAL, "BPF_JA uses reserved fields"};
      return std::nullopt;
    case kJmpExit:
      if (from_reg || insn.imm != 0 || insn.src != 0 || insn.dst != 0 || is32)
        return FieldError{EINVAL, "BPF_EXIT uses reserved fields"};
      return std::nullopt;
    default:
      if (from_reg ? insn.imm != 0 : insn.src != 0)
        return FieldError{EINVAL, "BPF_JMP/JMP32 uses reserved fields"};
      return std::nullopt;
  }
}

std::optional<FieldError> load_store_fields(const Insn& insn) {
  const uint8_t mode = insn.opcode & 0xe0;
  switch (insn_class(insn)) {
    case kClassLdx:
      if ((mode != kModeMem && mode != kModeMemSx) || insn.imm != 0)
        return FieldError{EINVAL, "BPF_LDX uses reserved fields"};
      return std::nullopt;
    case kClassStx:
      if (mode == kModeAtomic) return std::nullopt;  // see atomic_op_known()
      if (mode != kModeMem || insn.imm != 0)
        return FieldError{EINVAL, "BPF_STX uses reserved fields"};
      return std::nullopt;
    case kClassSt:
      if (mode != kModeMem || insn.src != 0)
        return FieldError{EINVAL, "BPF_ST uses reserved fields"};
      return std::nullopt;
    default:  // kClassLd: ld_imm64 is checked with its second slot
      if (mode == kModeAbs || mode == kModeInd) {
        if (insn.dst != 0 || insn.off != 0 || (insn.opcode & 0x18) == kSizeDW ||
            (mode == kModeAbs && insn.src != 0))
          return FieldError{EINVAL, "BPF_LD_[ABS|IND] uses reserved fields"};
      }
      return std::nullopt;
  }
}

bool atomic_op_known(int32_t op) {
  const int32_t base = op & ~kAtomicFetch;
  return base == kAluAdd || base == kAluOr || base == kAluAnd || base == kAluXor ||
         op == kAtomicXchg || op == kAtomicCmpXchg;
}

}  // namespace

// The pair (pc, pc + 1) of an ld_imm64: the second slot is all zero but for imm, and the source
// names something Hourglass can bind.
bool Env::check_ld_imm64_fields(uint32_t pc) {
  const Insn& insn = insns[pc];
  if (pc + 1 >= insns.size() || insns[pc + 1].opcode != 0 || insns[pc + 1].dst ||
      insns[pc + 1].src || insns[pc + 1].off)
    return fail(pc, EINVAL, "invalid bpf_ld_imm64 insn");
  if (insn.off != 0) return fail(pc, EINVAL, "BPF_LD_IMM64 uses reserved fields");
  const Insn& second = insns[pc + 1];
  switch (insn.src) {
    case 0:
    case kPseudoFunc:
      return true;
    case kPseudoMapFd:
    case kPseudoMapIdx:
      if (second.imm != 0) return fail(pc, EINVAL, "unrecognized bpf_ld_imm64 insn");
      break;
    case kPseudoMapValue:
    case kPseudoMapIdxValue:
      break;
    default:  // BTF ids (ksyms) are not supported
      return fail(pc, EINVAL, "unrecognized bpf_ld_imm64 insn");
  }
  if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= in.maps.size())
    return fail(pc, EINVAL, fmt::format("fd {} is not pointing to valid bpf_map", insn.imm));
  if (insn.src == kPseudoMapValue || insn.src == kPseudoMapIdxValue) {
    // Direct value access exists for single-element plain arrays only (the kernel's
    // array_map_direct_value_addr; the VM binds the address at load time).
    const maps::MapAttr& attr = in.maps[static_cast<size_t>(insn.imm)].attr;
    if (attr.type != maps::MapType::Array)
      return fail(pc, EINVAL, "no direct value access support for this map type");
    if (attr.max_entries != 1 || static_cast<uint32_t>(second.imm) >= attr.value_size)
      return fail(pc, EACCES, fmt::format("invalid access to map value pointer, value_size={} off={}",
                                          attr.value_size, static_cast<uint32_t>(second.imm)));
  }
  return true;
}

// Legacy packet loads (BPF_LD_ABS / BPF_LD_IND): the kernel allows them in socket filters and tc
// programs; Hourglass's VM has no implementation (they read an skb through R6 implicitly), so
// they are refused for every type, with the kernel's message where the kernel refuses too.
bool Env::check_ld_legacy(uint32_t pc) {
  using helpers::ProgType;
  const ProgType type = in.type;
  if (type != ProgType::SocketFilter && type != ProgType::SchedCls && type != ProgType::SchedAct)
    return fail(pc, EINVAL, "BPF_LD_[ABS|IND] instructions not allowed for this program type");
  return fail(pc, ENOTSUP,
              "BPF_LD_[ABS|IND] (legacy packet access) is not supported by Hourglass; use direct "
              "packet access or bpf_skb_load_bytes");
}

bool Env::check_insn_fields(uint32_t pc) {
  const Insn& insn = insns[pc];
  if (insn.dst > kMaxRegister) return fail(pc, EINVAL, fmt::format("R{} is invalid", insn.dst));
  if (insn.src > kMaxRegister) return fail(pc, EINVAL, fmt::format("R{} is invalid", insn.src));
  if (is_ld_imm64(insn)) return check_ld_imm64_fields(pc);
  std::optional<FieldError> error;
  switch (insn_class(insn)) {
    case kClassAlu:
    case kClassAlu64: error = alu_fields(insn); break;
    case kClassJmp:
    case kClassJmp32: error = jmp_fields(insn); break;
    default: error = load_store_fields(insn); break;
  }
  if (error) return fail(pc, error->code, error->reason);
  if (insn_class(insn) == kClassLd && !is_ld_imm64(insn)) return check_ld_legacy(pc);
  if (insn_class(insn) == kClassStx && (insn.opcode & 0xe0) == kModeAtomic &&
      !atomic_op_known(insn.imm))
    return fail(pc, EINVAL, fmt::format("BPF_ATOMIC uses invalid atomic opcode {:02x}", insn.imm));
  // What a call names must exist even where no path goes: the VM binds every call it loads.
  if (insn.opcode == kOpCall && insn.src == 0 && !helpers::find_helper(static_cast<uint32_t>(insn.imm)))
    return fail(pc, EINVAL, fmt::format("invalid func unknown#{}", insn.imm));
  if (insn.opcode == kOpCall && insn.src == kPseudoKfuncCall &&
      (insn.imm < 0 || static_cast<size_t>(insn.imm) >= in.kfuncs.size() || !in.kfuncs[insn.imm]))
    return fail(pc, EACCES, fmt::format("calling kernel function #{} is not allowed", insn.imm));
  return true;
}

}  // namespace hourglass::verifier
