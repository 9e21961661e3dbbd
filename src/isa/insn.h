// The eBPF instruction encoding (RFC 9669) and the pseudo source-register values the kernel
// uses for relocated instructions. Every part that reads instructions uses these names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hourglass::isa {

struct Insn {
  uint8_t opcode = 0;
  uint8_t dst : 4 = 0;
  uint8_t src : 4 = 0;
  int16_t off = 0;
  int32_t imm = 0;
};
static_assert(sizeof(Insn) == 8);

// One instruction from its fields; dst and src keep their low 4 bits (the fields' width).
constexpr Insn make_insn(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  Insn insn;
  insn.opcode = opcode;
  insn.dst = dst & 0x0f;
  insn.src = src & 0x0f;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

// Classes (opcode & 0x07).
inline constexpr uint8_t kClassLd = 0x00, kClassLdx = 0x01, kClassSt = 0x02, kClassStx = 0x03,
                         kClassAlu = 0x04, kClassJmp = 0x05, kClassJmp32 = 0x06,
                         kClassAlu64 = 0x07;
// Sizes (opcode & 0x18) and modes (opcode & 0xe0) for loads and stores.
inline constexpr uint8_t kSizeW = 0x00, kSizeH = 0x08, kSizeB = 0x10, kSizeDW = 0x18;
inline constexpr uint8_t kModeImm = 0x00, kModeAbs = 0x20, kModeInd = 0x40, kModeMem = 0x60,
                         kModeMemSx = 0x80, kModeAtomic = 0xc0;
// Source flag (opcode & 0x08) for ALU and JMP.
inline constexpr uint8_t kSrcK = 0x00, kSrcX = 0x08;
// ALU operations (opcode & 0xf0).
inline constexpr uint8_t kAluAdd = 0x00, kAluSub = 0x10, kAluMul = 0x20, kAluDiv = 0x30,
                         kAluOr = 0x40, kAluAnd = 0x50, kAluLsh = 0x60, kAluRsh = 0x70,
                         kAluNeg = 0x80, kAluMod = 0x90, kAluXor = 0xa0, kAluMov = 0xb0,
                         kAluArsh = 0xc0, kAluEnd = 0xd0;
// JMP operations (opcode & 0xf0).
inline constexpr uint8_t kJmpJa = 0x00, kJmpJeq = 0x10, kJmpJgt = 0x20, kJmpJge = 0x30,
                         kJmpJset = 0x40, kJmpJne = 0x50, kJmpJsgt = 0x60, kJmpJsge = 0x70,
                         kJmpCall = 0x80, kJmpExit = 0x90, kJmpJlt = 0xa0, kJmpJle = 0xb0,
                         kJmpJslt = 0xc0, kJmpJsle = 0xd0;
// Atomic operations (imm of an atomic store).
inline constexpr int32_t kAtomicFetch = 0x01, kAtomicXchg = 0xe0 | kAtomicFetch,
                         kAtomicCmpXchg = 0xf0 | kAtomicFetch;

// Whole opcodes used often.
inline constexpr uint8_t kOpLdImm64 = kClassLd | kSizeDW | kModeImm;  // 0x18
inline constexpr uint8_t kOpCall = kClassJmp | kJmpCall;              // 0x85
inline constexpr uint8_t kOpCallx = kClassJmp | kJmpCall | kSrcX;     // 0x8d
inline constexpr uint8_t kOpExit = kClassJmp | kJmpExit;              // 0x95

// src_reg of ld_imm64 (as in the kernel UAPI).
inline constexpr uint8_t kPseudoMapFd = 1;     // imm = map index in the object
inline constexpr uint8_t kPseudoMapValue = 2;  // imm = map index, next imm = offset in value
inline constexpr uint8_t kPseudoBtfId = 3;
inline constexpr uint8_t kPseudoFunc = 4;      // imm = target insn - (this insn + 1)
inline constexpr uint8_t kPseudoMapIdx = 5;
inline constexpr uint8_t kPseudoMapIdxValue = 6;
// src_reg of call.
inline constexpr uint8_t kPseudoCall = 1;       // bpf-to-bpf: imm = target - (this + 1)
inline constexpr uint8_t kPseudoKfuncCall = 2;  // imm = kfunc index in the object

inline constexpr int kMaxCallFrames = 8;  // MAX_CALL_FRAMES
inline constexpr int kStackSize = 512;    // MAX_BPF_STACK per frame
inline constexpr int kMaxTailCalls = 33;  // MAX_TAIL_CALL_CNT

inline uint8_t insn_class(const Insn& insn) { return insn.opcode & 0x07; }
inline bool is_ld_imm64(const Insn& insn) { return insn.opcode == kOpLdImm64; }

// Resolves a helper id to its name ("bpf_map_lookup_elem") or null when unknown. isa/ sits below
// helpers/, so the helper table reaches the disassembler only through this callback
// (vm::helper_name is one that reads helpers::find_helper).
using HelperNameFn = const char* (*)(int32_t helper_id);

// One instruction as text in the kernel's (bpftool's) notation, e.g. "r0 = *(u32 *)(r1 +4)".
// `next` is the second slot of an ld_imm64 (may be null otherwise). Helper calls print as
// "call bpf_map_lookup_elem#1" when `helper_name` knows the id, else "call #1".
std::string disassemble(const Insn& insn, const Insn* next);
std::string disassemble(const Insn& insn, const Insn* next, HelperNameFn helper_name);

// Names of opcodes for messages ("unknown opcode 0x8f"): true if `insn` is an instruction the
// ISA (RFC 9669 plus the kernel's pseudo forms) defines, ignoring register numbers.
bool is_known_opcode(const Insn& insn);

}  // namespace hourglass::isa
