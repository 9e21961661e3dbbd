// Which encodings the ISA defines (RFC 9669 plus the kernel's pseudo forms). Register numbers and
// jump targets are not checked here: they depend on the program around the instruction.
#include "isa/insn.h"

namespace hourglass::isa {

namespace {

bool known_load_store(const Insn& insn) {
  const uint8_t size = insn.opcode & 0x18;
  const uint8_t mode = insn.opcode & 0xe0;
  switch (insn_class(insn)) {
    case kClassLd:
      if (insn.opcode == kOpLdImm64) return true;
      // Legacy packet access (BPF_ABS / BPF_IND), never with a 64-bit size.
      return (mode == kModeAbs || mode == kModeInd) && size != kSizeDW;
    case kClassLdx:
      return mode == kModeMem || (mode == kModeMemSx && size != kSizeDW);
    case kClassSt:
      return mode == kModeMem;
    case kClassStx:
      if (mode == kModeMem) return true;
      if (mode != kModeAtomic || (size != kSizeW && size != kSizeDW)) return false;
      switch (insn.imm) {
        case kAluAdd: case kAluAdd | kAtomicFetch:
        case kAluOr: case kAluOr | kAtomicFetch:
        case kAluAnd: case kAluAnd | kAtomicFetch:
        case kAluXor: case kAluXor | kAtomicFetch:
        case kAtomicXchg: case kAtomicCmpXchg:
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}

bool known_alu(const Insn& insn) {
  const bool is64 = insn_class(insn) == kClassAlu64;
  const bool from_reg = (insn.opcode & kSrcX) != 0;
  switch (insn.opcode & 0xf0) {
    case kAluDiv:
    case kAluMod:
      return insn.off == 0 || insn.off == 1;  // off 1: signed (cpu v4)
    case kAluNeg:
      return !from_reg;
    case kAluMov:
      if (!from_reg || insn.off == 0) return true;
      // movsx (cpu v4): 8/16/32 into 64 bits, 8/16 into 32 bits.
      return insn.off == 8 || insn.off == 16 || (is64 && insn.off == 32);
    case kAluEnd:
      if (is64 && from_reg) return false;  // bswap exists only unconditionally
      return insn.imm == 16 || insn.imm == 32 || insn.imm == 64;
    case 0xe0:
    case 0xf0:
      return false;
    default:
      return true;
  }
}

bool known_jump(const Insn& insn) {
  const bool is32 = insn_class(insn) == kClassJmp32;
  const bool from_reg = (insn.opcode & kSrcX) != 0;
  switch (insn.opcode & 0xf0) {
    case kJmpJa:
      return !from_reg;  // ja (JMP, off) and gotol (JMP32, imm)
    case kJmpCall:
      if (is32) return false;
      return from_reg ? true : insn.src <= kPseudoKfuncCall;
    case kJmpExit:
      return !is32 && !from_reg;
    case 0xe0:
    case 0xf0:
      return false;
    default:
      return true;
  }
}

}  // namespace

bool is_known_opcode(const Insn& insn) {
  switch (insn_class(insn)) {
    case kClassAlu:
    case kClassAlu64:
      return known_alu(insn);
    case kClassJmp:
    case kClassJmp32:
      return known_jump(insn);
    default:
      return known_load_store(insn);
  }
}

}  // namespace hourglass::isa
