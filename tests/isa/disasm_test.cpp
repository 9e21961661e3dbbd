// The disassembler's kernel (bpftool) notation and the opcode table.
#include <gtest/gtest.h>

#include <cstring>

#include "isa/insn.h"

namespace hourglass::isa {
namespace {

Insn make(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return make_insn(opcode, dst, src, off, imm);
}

std::string text(const Insn& insn) { return disassemble(insn, nullptr); }

TEST(Disassemble, Alu) {
  EXPECT_EQ(text(make(0x07, 1, 0, 0, 5)), "r1 += 5");
  EXPECT_EQ(text(make(0x0c, 2, 3, 0, 0)), "w2 += w3");
  EXPECT_EQ(text(make(0xb7, 0, 0, 0, -1)), "r0 = -1");
  EXPECT_EQ(text(make(0xbf, 6, 1, 0, 0)), "r6 = r1");
  EXPECT_EQ(text(make(0x87, 4, 0, 0, 0)), "r4 = -r4");
  EXPECT_EQ(text(make(0xc7, 1, 0, 0, 3)), "r1 s>>= 3");
  EXPECT_EQ(text(make(0x3f, 1, 2, 1, 0)), "r1 s/= r2");
  EXPECT_EQ(text(make(0x94, 1, 0, 1, 7)), "w1 s%= 7");
  EXPECT_EQ(text(make(0xbf, 1, 2, 8, 0)), "r1 = (s8)r2");
  EXPECT_EQ(text(make(0xbc, 1, 2, 16, 0)), "w1 = (s16)w2");
  EXPECT_EQ(text(make(0xdc, 1, 0, 0, 16)), "w1 = be16 w1");
  EXPECT_EQ(text(make(0xd4, 1, 0, 0, 64)), "w1 = le64 w1");
  EXPECT_EQ(text(make(0xd7, 1, 0, 0, 32)), "r1 = bswap32 r1");
}

TEST(Disassemble, LoadsAndStores) {
  EXPECT_EQ(text(make(0x61, 0, 1, 4, 0)), "r0 = *(u32 *)(r1 +4)");
  EXPECT_EQ(text(make(0x91, 0, 1, -2, 0)), "r0 = *(s8 *)(r1 -2)");
  EXPECT_EQ(text(make(0x7b, 10, 1, -8, 0)), "*(u64 *)(r10 -8) = r1");
  EXPECT_EQ(text(make(0x62, 10, 0, -4, 7)), "*(u32 *)(r10 -4) = 7");
  EXPECT_EQ(text(make(0x30, 0, 0, 0, 12)), "r0 = *(u8 *)skb[12]");
}

TEST(Disassemble, Atomics) {
  EXPECT_EQ(text(make(0xdb, 1, 2, 0, 0x00)), "lock *(u64 *)(r1 +0) += r2");
  EXPECT_EQ(text(make(0xc3, 1, 2, 8, 0x50)), "lock *(u32 *)(r1 +8) &= r2");
  EXPECT_EQ(text(make(0xdb, 1, 2, 0, 0x01)), "r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)");
  EXPECT_EQ(text(make(0xc3, 1, 2, 0, 0xa1)), "r2 = atomic_fetch_xor((u32 *)(r1 +0), r2)");
  EXPECT_EQ(text(make(0xdb, 1, 2, -8, 0xe1)), "r2 = atomic64_xchg((u64 *)(r1 -8), r2)");
  EXPECT_EQ(text(make(0xdb, 1, 2, 0, 0xf1)), "r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)");
}

TEST(Disassemble, LdImm64) {
  const Insn high = make(0, 0, 0, 0, 0x11223344);
  EXPECT_EQ(disassemble(make(0x18, 1, 0, 0, 0x55667788), &high), "r1 = 0x1122334455667788");
  EXPECT_EQ(disassemble(make(0x18, 1, kPseudoMapFd, 0, 3), &high), "r1 = map[id:3]");
  const Insn offset = make(0, 0, 0, 0, 16);
  EXPECT_EQ(disassemble(make(0x18, 2, kPseudoMapValue, 0, 0), &offset), "r2 = map[id:0][0]+16");
  EXPECT_EQ(disassemble(make(0x18, 2, kPseudoFunc, 0, 5), &offset), "r2 = subprog[pc+5]");
}

TEST(Disassemble, Jumps) {
  EXPECT_EQ(text(make(0x25, 1, 0, 3, 5)), "if r1 > 0x5 goto pc+3");
  EXPECT_EQ(text(make(0x1e, 1, 2, -4, 0)), "if w1 == w2 goto pc-4");
  EXPECT_EQ(text(make(0xc5, 1, 0, 1, -1)), "if r1 s< 0xffffffff goto pc+1");
  EXPECT_EQ(text(make(0x45, 3, 0, 2, 8)), "if r3 & 0x8 goto pc+2");
  EXPECT_EQ(text(make(0x05, 0, 0, -1, 0)), "goto pc-1");
  EXPECT_EQ(text(make(0x06, 0, 0, 0, 70000)), "gotol pc+70000");
  EXPECT_EQ(text(make(0x95, 0, 0, 0, 0)), "exit");
}

const char* fake_names(int32_t id) { return id == 1 ? "bpf_map_lookup_elem" : nullptr; }

TEST(Disassemble, Calls) {
  EXPECT_EQ(text(make(0x85, 0, 0, 0, 1)), "call #1");
  EXPECT_EQ(disassemble(make(0x85, 0, 0, 0, 1), nullptr, fake_names), "call bpf_map_lookup_elem#1");
  EXPECT_EQ(disassemble(make(0x85, 0, 0, 0, 99), nullptr, fake_names), "call #99");
  EXPECT_EQ(text(make(0x85, 0, kPseudoCall, 0, 4)), "call pc+4");
  EXPECT_EQ(text(make(0x85, 0, kPseudoKfuncCall, 0, 2)), "call kfunc#2");
  EXPECT_EQ(text(make(0x8d, 3, 0, 0, 0)), "callx r3");
}

TEST(Disassemble, InvalidOpcode) { EXPECT_EQ(text(make(0x8f, 0, 0, 0, 0)), "invalid opcode 0x8f"); }

TEST(OpcodeTable, KnownAndUnknown) {
  EXPECT_TRUE(is_known_opcode(make(0xb7, 0, 0, 0, 0)));
  EXPECT_TRUE(is_known_opcode(make(0x18, 0, 0, 0, 0)));
  EXPECT_TRUE(is_known_opcode(make(0x3f, 0, 0, 1, 0)));   // sdiv
  EXPECT_FALSE(is_known_opcode(make(0x3f, 0, 0, 2, 0)));  // div with a meaningless offset
  EXPECT_FALSE(is_known_opcode(make(0x8f, 0, 0, 0, 0)));  // neg from a register
  EXPECT_FALSE(is_known_opcode(make(0xdf, 0, 0, 0, 16)));  // bswap has no register form
  EXPECT_FALSE(is_known_opcode(make(0xd4, 0, 0, 0, 8)));   // no 8-bit byte swap
  EXPECT_FALSE(is_known_opcode(make(0x99, 0, 0, 0, 0)));   // ldxsdw does not exist
  EXPECT_FALSE(is_known_opcode(make(0xdb, 0, 0, 0, 0x10)));  // atomic sub is not an atomic op
  EXPECT_FALSE(is_known_opcode(make(0x96, 0, 0, 0, 0)));   // exit in JMP32
  EXPECT_FALSE(is_known_opcode(make(0xe5, 0, 0, 0, 0)));
  EXPECT_FALSE(is_known_opcode(make(0x85, 0, 3, 0, 0)));   // call with unknown source kind
}

}  // namespace
}  // namespace hourglass::isa
