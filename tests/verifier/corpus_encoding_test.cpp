// Corpus part 4: instruction encodings: the fields each class reserves (the kernel's
// `BPF_* uses reserved fields`), ld_imm64 pairs and pseudo sources, register numbers, and the
// same checks on instructions no path reaches (the VM loads the whole stream; see fields.cpp).
// Shapes first found by fuzz_verify_run (docs/fuzzing.md).
#include "asm.h"

namespace hourglass::verifier::test {
namespace {

constexpr ProgType XDP = ProgType::Xdp, FILTER = ProgType::SocketFilter;

Insn make(uint8_t opcode, int dst, int src, int16_t off, int32_t imm) {
  return isa::make_insn(opcode, static_cast<uint8_t>(dst), static_cast<uint8_t>(src), off, imm);
}

// r0 = 0, then `insn`, then exit: the instruction under test runs on the only path.
Asm around(Insn insn) { return Asm().mov(0, 0).raw(insn).exit(); }

// r0 = 0; if r0 == 0 goto out; <insn>; out: exit. `insn` is reachable in the CFG but on no
// path: the verifier never simulates it, the VM still loads it.
Asm dead(Insn insn) {
  return Asm().mov(0, 0).j(JEQ, 0, 0, "out").raw(insn).label("out").exit();
}

constexpr uint8_t kAlu64K = kClassAlu64 | kSrcK, kAlu64X = kClassAlu64 | kSrcX;
constexpr uint8_t kAlu32K = kClassAlu | kSrcK, kAlu32X = kClassAlu | kSrcX;

std::vector<Case> cases() {
  std::vector<Case> c;
  const char* alu = "BPF_ALU uses reserved fields";
  const char* mov = "BPF_MOV uses reserved fields";
  // ---- ALU
  c.push_back(reject("alu_add_off", XDP, around(make(kAlu64K | ADD, 0, 0, 1, 1)), alu, EINVAL));
  c.push_back(reject("alu_add_x_imm", XDP, around(make(kAlu64X | ADD, 0, 0, 0, 1)), alu));
  c.push_back(reject("alu_add_k_src", XDP, around(make(kAlu64K | ADD, 0, 1, 0, 1)), alu));
  c.push_back(reject("alu32_xor_off", XDP, around(make(kAlu32K | XOR, 0, 0, -1, 1)), alu));
  c.push_back(reject("alu_div_off2", XDP, around(make(kAlu64K | DIV, 0, 0, 2, 3)), alu));
  c.push_back(reject("alu_mod_off_neg", XDP, around(make(kAlu32X | MOD, 0, 0, -1, 0)), alu));
  c.push_back(reject("alu_mul_off1", XDP, around(make(kAlu64K | MUL, 0, 0, 1, 3)), alu));
  c.push_back(accept("alu_sdiv_smod", XDP,
                     Asm().mov(0, -7).mov(1, 2).raw(make(kAlu64X | DIV, 0, 1, 1, 0))
                         .raw(make(kAlu32K | MOD, 0, 0, 1, 3)).exit()));
  c.push_back(reject("mov_k_off", XDP, Asm().raw(make(kAlu64K | kAluMov, 0, 0, 8, 1)).exit(), mov));
  c.push_back(reject("mov_k_src", XDP, Asm().raw(make(kAlu64K | kAluMov, 0, 2, 0, 1)).exit(), mov));
  c.push_back(reject("movsx_off24", XDP, around(make(kAlu64X | kAluMov, 0, 0, 24, 0)), mov));
  c.push_back(reject("movsx_off_neg", XDP, around(make(kAlu64X | kAluMov, 0, 0, -192, 0)), mov));
  c.push_back(reject("movsx32_off32", XDP, around(make(kAlu32X | kAluMov, 0, 0, 32, 0)), mov));
  c.push_back(reject("movsx_imm", XDP, around(make(kAlu64X | kAluMov, 0, 0, 8, 1)), mov));
  c.push_back(reject("mov_x_imm", XDP, around(make(kAlu64X | kAluMov, 0, 0, 0, 1)), mov));
  c.push_back(reject("addr_space_cast", XDP, around(make(kAlu64X | kAluMov, 0, 0, 1, 1)), mov));
  c.push_back(accept("movsx_all_widths", XDP,
                     Asm().mov(1, 0xff).raw(make(kAlu64X | kAluMov, 0, 1, 8, 0))
                         .raw(make(kAlu64X | kAluMov, 0, 1, 16, 0))
                         .raw(make(kAlu64X | kAluMov, 0, 1, 32, 0))
                         .raw(make(kAlu32X | kAluMov, 0, 1, 8, 0))
                         .raw(make(kAlu32X | kAluMov, 0, 1, 16, 0)).exit()));
  c.push_back(reject("neg_imm", XDP, around(make(kAlu64K | NEG, 0, 0, 0, 1)),
                     "BPF_NEG uses reserved fields"));
  c.push_back(reject("neg_off", XDP, around(make(kAlu32K | NEG, 0, 0, 1, 0)),
                     "BPF_NEG uses reserved fields"));
  c.push_back(reject("neg_src", XDP, around(make(kAlu64K | NEG, 0, 3, 0, 0)),
                     "BPF_NEG uses reserved fields"));
  c.push_back(reject("end_off", XDP, around(make(kAlu32K | kAluEnd, 0, 0, 1, 16)),
                     "BPF_END uses reserved fields"));
  c.push_back(reject("end_src", XDP, around(make(kAlu32X | kAluEnd, 0, 1, 0, 32)),
                     "BPF_END uses reserved fields"));
  c.push_back(reject("end_width", XDP, around(make(kAlu32K | kAluEnd, 0, 0, 0, 8)),
                     "BPF_END uses reserved fields"));
  c.push_back(accept("bswap64", XDP, around(make(kAlu64K | kAluEnd, 0, 0, 0, 64))));
  // ---- jumps, calls, exit
  const char* ja = "BPF_JA uses reserved fields";
  c.push_back(reject("ja_imm", XDP, Asm().raw(make(kClassJmp | kJmpJa, 0, 0, 0, 1)).ret(0), ja, EINVAL));
  c.push_back(reject("ja_src", XDP, Asm().raw(make(kClassJmp | kJmpJa, 0, 1, 0, 0)).ret(0), ja));
  c.push_back(reject("ja_dst", XDP, Asm().raw(make(kClassJmp | kJmpJa, 1, 0, 0, 0)).ret(0), ja));
  c.push_back(reject("gotol_off", XDP, Asm().raw(make(kClassJmp32 | kJmpJa, 0, 0, 1, 0)).ret(0), ja));
  c.push_back(accept("gotol", XDP,
                     Asm().mov(0, 0).j(JEQ, 0, 1, "skip").raw(make(kClassJmp32 | kJmpJa, 0, 0, 0, 1))
                         .label("skip").mov(0, 1).exit()));
  const char* ex = "BPF_EXIT uses reserved fields";
  c.push_back(reject("exit_imm", XDP, Asm().mov(0, 0).raw(make(kOpExit, 0, 0, 0, 1)), ex, EINVAL));
  c.push_back(reject("exit_off_ok_src", XDP, Asm().mov(0, 0).raw(make(kOpExit, 0, 1, 0, 0)), ex));
  c.push_back(reject("exit_dst", XDP, Asm().mov(0, 0).raw(make(kOpExit, 2, 0, 0, 0)), ex));
  const char* call = "BPF_CALL uses reserved fields";
  c.push_back(reject("call_dst", XDP, Asm().raw(make(kOpCall, 1, 0, 0, 7)).ret(0), call, EINVAL));
  c.push_back(reject("call_off", XDP, Asm().raw(make(kOpCall, 0, 0, 1, 7)).ret(0), call));
  c.push_back(reject("call_src3", XDP, Asm().raw(make(kOpCall, 0, 3, 0, 7)).ret(0), call));
  c.push_back(reject("callx", XDP, Asm().mov(1, 0).raw(make(kOpCallx, 1, 0, 0, 0)).ret(0), call));
  const char* jmp = "BPF_JMP/JMP32 uses reserved fields";
  c.push_back(reject("jeq_k_src", XDP, Asm().mov(0, 0).raw(make(kClassJmp | JEQ, 0, 1, 0, 0)).exit(), jmp));
  c.push_back(reject("jeq_x_imm", XDP, Asm().mov(0, 0).raw(make(kClassJmp | JEQ | kSrcX, 0, 0, 0, 1)).exit(), jmp));
  c.push_back(reject("jlt32_k_src", XDP, Asm().mov(0, 0).raw(make(kClassJmp32 | JLT, 0, 2, 0, 0)).exit(), jmp));
  // ---- loads and stores
  c.push_back(reject("st_src", XDP, Asm().raw(make(kClassSt | kModeMem | DW, 10, 1, -8, 0)).ret(0),
                     "BPF_ST uses reserved fields", EINVAL));
  c.push_back(reject("stx_imm", XDP, Asm().mov(1, 0).raw(make(kClassStx | kModeMem | DW, 10, 1, -8, 1)).ret(0),
                     "BPF_STX uses reserved fields"));
  c.push_back(reject("ldx_imm", XDP, Asm().st(DW, 10, -8, 0).raw(make(kClassLdx | kModeMem | DW, 0, 10, -8, 1)).exit(),
                     "BPF_LDX uses reserved fields"));
  c.push_back(reject("ld_abs_dst", FILTER, Asm().movr(6, 1).raw(make(kClassLd | kModeAbs | W, 1, 0, 0, 0)).exit(),
                     "BPF_LD_[ABS|IND] uses reserved fields"));
  c.push_back(reject("ld_abs_src", FILTER, Asm().movr(6, 1).raw(make(kClassLd | kModeAbs | W, 0, 1, 0, 0)).exit(),
                     "BPF_LD_[ABS|IND] uses reserved fields"));
  c.push_back(reject("ld_abs_unsupported", FILTER,
                     Asm().movr(6, 1).raw(make(kClassLd | kModeAbs | W, 0, 0, 0, 12)).exit(),
                     "BPF_LD_[ABS|IND] (legacy packet access) is not supported", ENOTSUP));
  c.push_back(reject("ld_ind_xdp", XDP,
                     Asm().mov(0, 0).raw(make(kClassLd | kModeInd | H, 0, 1, 0, 0)).exit(),
                     "BPF_LD_[ABS|IND] instructions not allowed for this program type", EINVAL));
  c.push_back(reject("atomic_bad_op", XDP,
                     Asm().st(DW, 10, -8, 0).mov(1, 1).atomic(DW, 10, 1, -8, 0x02).ret(0),
                     "BPF_ATOMIC uses invalid atomic opcode 02"));
  // ---- ld_imm64
  c.push_back(reject("ld_imm64_off", XDP,
                     Asm().raw(make(kOpLdImm64, 0, 0, 1, 0)).raw(make(0, 0, 0, 0, 0)).exit(),
                     "BPF_LD_IMM64 uses reserved fields", EINVAL));
  c.push_back(reject("ld_imm64_second_opcode", XDP,
                     Asm().raw(make(kOpLdImm64, 0, 0, 0, 0)).raw(make(0x07, 0, 0, 0, 0)).exit(),
                     "invalid bpf_ld_imm64 insn"));
  c.push_back(reject("ld_imm64_btf_id", XDP,
                     Asm().raw(make(kOpLdImm64, 0, kPseudoBtfId, 0, 5)).raw(make(0, 0, 0, 0, 0)).exit(),
                     "unrecognized bpf_ld_imm64 insn"));
  c.push_back(reject("ld_imm64_src7", XDP,
                     Asm().raw(make(kOpLdImm64, 0, 7, 0, 0)).raw(make(0, 0, 0, 0, 0)).exit(),
                     "unrecognized bpf_ld_imm64 insn"));
  c.push_back(reject("ld_map_fd_second_imm", XDP,
                     Asm().raw(make(kOpLdImm64, 1, kPseudoMapFd, 0, kHash)).raw(make(0, 0, 0, 0, 4)).ret(0),
                     "unrecognized bpf_ld_imm64 insn"));
  c.push_back(reject("map_value_direct_hash", XDP, Asm().ld_map_value(1, kHash, 0).ret(0),
                     "no direct value access support for this map type"));
  c.push_back(reject("map_value_direct_multi_entry", XDP, Asm().ld_map_value(1, kArray, 0).ret(0),
                     "invalid access to map value pointer, value_size=48 off=0"));
  // ---- registers
  c.push_back(reject("src_r11", XDP, Asm().mov(0, 0).raw(make(kAlu64X | ADD, 0, 11, 0, 0)).exit(),
                     "R11 is invalid", EINVAL));
  c.push_back(reject("dst_r15_store", XDP, Asm().raw(make(kClassSt | kModeMem | W, 15, 0, 0, 0)).ret(0),
                     "R15 is invalid"));
  // ---- the same on instructions no path reaches
  c.push_back(reject("dead_alu_off", XDP, dead(make(kAlu64K | ADD, 0, 0, 7, 0)), alu));
  c.push_back(reject("dead_movsx_off", XDP, dead(make(kAlu64X | kAluMov, 0, 1, -192, 0)), mov));
  c.push_back(reject("dead_src_r12", XDP, dead(make(kAlu64X | ADD, 0, 12, 0, 0)), "R12 is invalid"));
  c.push_back(reject("dead_unknown_helper", XDP, dead(make(kOpCall, 0, 0, 0, 99999)),
                     "invalid func unknown#99999"));
  c.push_back(reject("dead_unknown_kfunc", XDP, dead(make(kOpCall, 0, kPseudoKfuncCall, 0, 50)),
                     "calling kernel function #50 is not allowed"));
  c.push_back(reject("dead_ld_abs", XDP, dead(make(kClassLd | kModeAbs | B, 0, 0, 0, 0)),
                     "BPF_LD_[ABS|IND] instructions not allowed for this program type"));
  c.push_back(reject("dead_exit_imm", XDP, dead(make(kOpExit, 0, 0, 0, 3)), ex));
  c.push_back(reject("dead_ja_imm", XDP,
                     Asm().mov(0, 0).j(JEQ, 0, 0, "out").raw(make(kClassJmp | kJmpJa, 0, 0, 0, 9))
                         .label("out").exit(),
                     ja));
  c.push_back(reject("unreachable_after_ja", XDP, Asm().mov(0, 0).ja("out").mov(0, 1).label("out").exit(),
                     "unreachable insn 2", EINVAL));
  return c;
}

class EncodingCorpus : public CorpusTest {};
TEST_P(EncodingCorpus, Verdict) { check_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Encoding, EncodingCorpus, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace hourglass::verifier::test
