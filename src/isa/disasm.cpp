// Disassembler in the kernel's notation (kernel/bpf/disasm.c, as bpftool prints "xlated" code,
// without the leading "(opcode)"). Formats, for reference:
//   r0 += r1 / w0 += 5         ALU64 / ALU32, immediates in decimal
//   r0 = *(u32 *)(r1 +4)        loads; sign-extending loads use s8/s16/s32
//   *(u64 *)(r10 -8) = r1       stores
//   if r1 > 0x5 goto pc+3       conditional jumps, immediates in hex
//   lock *(u64 *)(r1 +0) += r2  atomics; fetch forms as r2 = atomic64_fetch_add(...)
#include <cinttypes>
#include <cstdio>
#include <string>

#include "isa/insn.h"

namespace hourglass::isa {

namespace {

std::string format(const char* fmt, auto... args) {
  char buffer[160];
  std::snprintf(buffer, sizeof(buffer), fmt, args...);
  return buffer;
}

const char* size_name(uint8_t opcode, bool sign_extend) {
  switch (opcode & 0x18) {
    case kSizeW: return sign_extend ? "s32" : "u32";
    case kSizeH: return sign_extend ? "s16" : "u16";
    case kSizeB: return sign_extend ? "s8" : "u8";
    default: return "u64";
  }
}

const char* alu_operator(uint8_t op, int16_t off) {
  switch (op) {
    case kAluAdd: return "+=";
    case kAluSub: return "-=";
    case kAluMul: return "*=";
    case kAluDiv: return off == 1 ? "s/=" : "/=";
    case kAluOr: return "|=";
    case kAluAnd: return "&=";
    case kAluLsh: return "<<=";
    case kAluRsh: return ">>=";
    case kAluMod: return off == 1 ? "s%=" : "%=";
    case kAluXor: return "^=";
    case kAluMov: return "=";
    case kAluArsh: return "s>>=";
    default: return "?=";
  }
}

const char* jump_operator(uint8_t op) {
  switch (op) {
    case kJmpJeq: return "==";
    case kJmpJgt: return ">";
    case kJmpJge: return ">=";
    case kJmpJset: return "&";
    case kJmpJne: return "!=";
    case kJmpJsgt: return "s>";
    case kJmpJsge: return "s>=";
    case kJmpJlt: return "<";
    case kJmpJle: return "<=";
    case kJmpJslt: return "s<";
    case kJmpJsle: return "s<=";
    default: return "?";
  }
}

const char* atomic_operator(int32_t op) {
  switch (op & ~kAtomicFetch) {
    case kAluAdd: return "add";
    case kAluAnd: return "and";
    case kAluOr: return "or";
    case kAluXor: return "xor";
    default: return nullptr;
  }
}

std::string disassemble_alu(const Insn& insn) {
  const bool is64 = insn_class(insn) == kClassAlu64;
  const char reg = is64 ? 'r' : 'w';
  const uint8_t op = insn.opcode & 0xf0;
  const bool from_reg = (insn.opcode & kSrcX) != 0;
  if (op == kAluNeg) return format("%c%d = -%c%d", reg, insn.dst, reg, insn.dst);
  if (op == kAluEnd) {
    const char* kind = is64 ? "bswap" : (from_reg ? "be" : "le");
    return format("%c%d = %s%d %c%d", reg, insn.dst, kind, insn.imm, reg, insn.dst);
  }
  if (op == kAluMov && from_reg && (insn.off == 8 || insn.off == 16 || insn.off == 32))
    return format("%c%d = (s%d)%c%d", reg, insn.dst, insn.off, reg, insn.src);
  if (from_reg)
    return format("%c%d %s %c%d", reg, insn.dst, alu_operator(op, insn.off), reg, insn.src);
  return format("%c%d %s %d", reg, insn.dst, alu_operator(op, insn.off), insn.imm);
}

std::string disassemble_atomic(const Insn& insn) {
  const bool is64 = (insn.opcode & 0x18) == kSizeDW;
  const char* size = is64 ? "u64" : "u32";
  const char* width = is64 ? "64" : "";
  if (insn.imm == kAtomicCmpXchg)
    return format("r0 = atomic%s_cmpxchg((%s *)(r%d %+d), r0, r%d)", width, size, insn.dst,
                  insn.off, insn.src);
  if (insn.imm == kAtomicXchg)
    return format("r%d = atomic%s_xchg((%s *)(r%d %+d), r%d)", insn.src, width, size, insn.dst,
                  insn.off, insn.src);
  const char* name = atomic_operator(insn.imm);
  if (!name) return format("invalid atomic operation 0x%x", insn.imm);
  if (insn.imm & kAtomicFetch)
    return format("r%d = atomic%s_fetch_%s((%s *)(r%d %+d), r%d)", insn.src, width, name, size,
                  insn.dst, insn.off, insn.src);
  const char* op = alu_operator(static_cast<uint8_t>(insn.imm), 0);
  return format("lock *(%s *)(r%d %+d) %s r%d", size, insn.dst, insn.off, op, insn.src);
}

std::string disassemble_ld_imm64(const Insn& insn, const Insn* next) {
  const uint32_t high = next ? static_cast<uint32_t>(next->imm) : 0;
  switch (insn.src) {
    case kPseudoMapFd:
      return format("r%d = map[id:%d]", insn.dst, insn.imm);
    case kPseudoMapValue:
      return format("r%d = map[id:%d][0]+%u", insn.dst, insn.imm, high);
    case kPseudoMapIdx:
      return format("r%d = map[idx:%d]", insn.dst, insn.imm);
    case kPseudoMapIdxValue:
      return format("r%d = map[idx:%d][0]+%u", insn.dst, insn.imm, high);
    case kPseudoBtfId:
      return format("r%d = btf_id[%d]", insn.dst, insn.imm);
    case kPseudoFunc:
      return format("r%d = subprog[pc%+d]", insn.dst, insn.imm);
    default: {
      const uint64_t value = (static_cast<uint64_t>(high) << 32) | static_cast<uint32_t>(insn.imm);
      return format("r%d = 0x%" PRIx64, insn.dst, value);
    }
  }
}

std::string disassemble_jump(const Insn& insn, HelperNameFn helper_name) {
  const bool is32 = insn_class(insn) == kClassJmp32;
  const uint8_t op = insn.opcode & 0xf0;
  if (op == kJmpJa) {
    if (is32) return format("gotol pc%+d", insn.imm);
    return format("goto pc%+d", insn.off);
  }
  if (op == kJmpExit) return "exit";
  if (op == kJmpCall) {
    if (insn.opcode & kSrcX) return format("callx r%d", insn.dst);
    if (insn.src == kPseudoCall) return format("call pc%+d", insn.imm);
    if (insn.src == kPseudoKfuncCall) return format("call kfunc#%d", insn.imm);
    const char* name = helper_name ? helper_name(insn.imm) : nullptr;
    return name ? format("call %s#%d", name, insn.imm) : format("call #%d", insn.imm);
  }
  const char reg = is32 ? 'w' : 'r';
  if (insn.opcode & kSrcX)
    return format("if %c%d %s %c%d goto pc%+d", reg, insn.dst, jump_operator(op), reg, insn.src,
                  insn.off);
  return format("if %c%d %s 0x%x goto pc%+d", reg, insn.dst, jump_operator(op),
                static_cast<uint32_t>(insn.imm), insn.off);
}

}  // namespace

std::string disassemble(const Insn& insn, const Insn* next) {
  return disassemble(insn, next, nullptr);
}

std::string disassemble(const Insn& insn, const Insn* next, HelperNameFn helper_name) {
  if (!is_known_opcode(insn)) return format("invalid opcode 0x%02x", insn.opcode);
  const uint8_t mode = insn.opcode & 0xe0;
  switch (insn_class(insn)) {
    case kClassLd:
      if (insn.opcode == kOpLdImm64) return disassemble_ld_imm64(insn, next);
      if (mode == kModeAbs)
        return format("r0 = *(%s *)skb[%d]", size_name(insn.opcode, false), insn.imm);
      return format("r0 = *(%s *)skb[r%d + %d]", size_name(insn.opcode, false), insn.src,
                    insn.imm);
    case kClassLdx:
      return format("r%d = *(%s *)(r%d %+d)", insn.dst, size_name(insn.opcode, mode == kModeMemSx),
                    insn.src, insn.off);
    case kClassSt:
      return format("*(%s *)(r%d %+d) = %d", size_name(insn.opcode, false), insn.dst, insn.off,
                    insn.imm);
    case kClassStx:
      if (mode == kModeAtomic) return disassemble_atomic(insn);
      return format("*(%s *)(r%d %+d) = r%d", size_name(insn.opcode, false), insn.dst, insn.off,
                    insn.src);
    case kClassAlu:
    case kClassAlu64:
      return disassemble_alu(insn);
    default:
      return disassemble_jump(insn, helper_name);
  }
}

}  // namespace hourglass::isa
