// ALU, memory, jump and atomic semantics of the interpreter, one edge case per row (RFC 9669 and
// the kernel where the RFC leaves room), plus atomics under contention from several threads.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "support.h"

namespace hourglass::vm::testing {
namespace {

struct Case {
  const char* name;
  std::vector<std::string> lines;
  uint64_t expected;
};

void check_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> lines = c.lines;
    lines.push_back("exit");
    auto r0 = run_text(lines);
    ASSERT_TRUE(r0.ok()) << r0.error().message;
    EXPECT_EQ(*r0, c.expected) << std::hex << "got 0x" << *r0 << " expected 0x" << c.expected;
  }
}

TEST(Alu, DivisionAndModulo) {
  check_cases({
      {"div64 by zero gives 0", {"mov %r0, 5", "mov %r1, 0", "div %r0, %r1"}, 0},
      {"div32 by zero imm gives 0", {"mov32 %r0, 5", "div32 %r0, 0"}, 0},
      {"mod64 by zero leaves dividend", {"mov %r0, 7", "mov %r1, 0", "mod %r0, %r1"}, 7},
      {"mod32 by zero zero-extends", {"lddw %r0, 0x1ffffffff", "mov32 %r1, 0", "mod32 %r0, %r1"},
       0xffffffff},
      {"smod32 -10 by zero", {"mov32 %r0, -10", "mov %r1, 0", "smod32 %r0, %r1"}, 0xfffffff6},
      {"sdiv64 by zero gives 0", {"mov %r0, -5", "sdiv %r0, 0"}, 0},
      {"sdiv64 INT_MIN by -1", {"lddw %r0, 0x8000000000000000", "mov %r1, -1", "sdiv %r0, %r1"},
       0x8000000000000000},
      {"smod64 INT_MIN by -1", {"lddw %r0, 0x8000000000000000", "mov %r1, -1", "smod %r0, %r1"}, 0},
      {"sdiv32 INT_MIN by -1", {"mov32 %r0, 0x80000000", "sdiv32 %r0, -1"}, 0x80000000},
      {"smod32 INT_MIN by -1", {"mov32 %r0, 0x80000000", "smod32 %r0, -1"}, 0},
      {"sdiv64 truncates toward zero", {"mov %r0, -7", "sdiv %r0, 2"}, static_cast<uint64_t>(-3)},
      {"smod64 takes the dividend's sign", {"mov %r0, -7", "smod %r0, 2"}, static_cast<uint64_t>(-1)},
      {"div64 imm is sign-extended then unsigned", {"mov %r0, -1", "div %r0, -1"}, 1},
      {"div32 imm is unsigned", {"mov32 %r0, -1", "div32 %r0, -1"}, 1},
      {"mod64 unsigned", {"mov %r0, -1", "mod %r0, 10"}, 0xffffffffffffffffull % 10},
  });
}

TEST(Alu, ShiftsAndZeroExtension) {
  check_cases({
      {"lsh32 by 60 shifts by 28", {"mov32 %r0, 1", "lsh32 %r0, 60"}, 0x10000000},
      {"lsh64 by register -60 shifts by 4", {"mov %r0, 1", "mov %r1, -60", "lsh %r0, %r1"}, 16},
      {"rsh32 zero-extends", {"lddw %r0, 0xffffffffffffffff", "rsh32 %r0, 4"}, 0x0fffffff},
      {"rsh64 logical", {"lddw %r0, 0x8000000000000000", "rsh %r0, 63"}, 1},
      {"arsh32 keeps the sign in 32 bits", {"mov32 %r0, 0x80000000", "arsh32 %r0, 4"}, 0xf8000000},
      {"arsh64", {"lddw %r0, 0x8000000000000000", "arsh %r0, 63"}, 0xffffffffffffffff},
      {"arsh64 by register masked", {"mov %r0, -16", "mov %r1, 66", "arsh %r0, %r1"},
       static_cast<uint64_t>(-4)},
      {"add32 wraps and zero-extends", {"lddw %r0, 0xffffffffffffffff", "add32 %r0, 2"}, 1},
      {"sub32 wraps", {"mov32 %r0, 0", "sub32 %r0, 1"}, 0xffffffff},
      {"mul32 overflow", {"mov32 %r0, 0x10000", "mul32 %r0, 0x10000"}, 0},
      {"mul64 imm sign-extended", {"mov %r0, 2", "mul %r0, -3"}, static_cast<uint64_t>(-6)},
      {"and64 imm sign-extended", {"lddw %r0, 0x123456789", "and %r0, -1"}, 0x123456789},
      {"xor32 clears the high half", {"lddw %r0, 0xffffffff00000000", "xor32 %r0, 1"}, 1},
      {"or64", {"mov %r0, 0x10", "or %r0, 0x01"}, 0x11},
  });
}

TEST(Alu, MovesNegationAndSignExtension) {
  check_cases({
      {"mov64 imm sign-extends", {"mov %r0, 0x80000000"}, 0xffffffff80000000},
      {"mov32 imm does not", {"mov32 %r0, 0x80000000"}, 0x80000000},
      {"mov32 reg truncates", {"lddw %r1, 0x1122334455667788", "mov32 %r0, %r1"}, 0x55667788},
      {"neg64", {"mov %r0, 1", "neg %r0"}, 0xffffffffffffffff},
      {"neg32 INT_MIN", {"mov32 %r0, 0x80000000", "neg32 %r0"}, 0x80000000},
      {"neg32 zero-extends", {"mov32 %r0, 1", "neg32 %r0"}, 0xffffffff},
      {"movsx864", {"mov %r1, 0x80", "movsx864 %r0, %r1"}, 0xffffffffffffff80},
      {"movsx832", {"mov %r1, 0x80", "movsx832 %r0, %r1"}, 0xffffff80},
      {"movsx1664", {"mov %r1, 0x8000", "movsx1664 %r0, %r1"}, 0xffffffffffff8000},
      {"movsx1632 ignores high bits", {"lddw %r1, 0x123458000", "movsx1632 %r0, %r1"}, 0xffff8000},
      {"movsx3264", {"mov32 %r1, 0x80000000", "movsx3264 %r0, %r1"}, 0xffffffff80000000},
      {"movsx864 positive", {"mov %r1, 0x17f", "movsx864 %r0, %r1"}, 0x7f},
  });
}

TEST(Alu, ByteSwaps) {
  const std::string load = "lddw %r0, 0x1122334455667788";
  check_cases({
      {"be16", {load, "be16 %r0"}, 0x8877},
      {"be32", {load, "be32 %r0"}, 0x88776655},
      {"be64", {load, "be64 %r0"}, 0x8877665544332211},
      {"le16 truncates", {load, "le16 %r0"}, 0x7788},
      {"le32 truncates", {load, "le32 %r0"}, 0x55667788},
      {"le64", {load, "le64 %r0"}, 0x1122334455667788},
      {"bswap16", {load, "bswap16 %r0"}, 0x8877},
      {"bswap32", {load, "bswap32 %r0"}, 0x88776655},
      {"bswap64", {load, "bswap64 %r0"}, 0x8877665544332211},
  });
}

TEST(Alu, Jumps) {
  check_cases({
      {"signed vs unsigned compare",
       {"mov %r0, 0", "mov %r1, -1", "jsgt %r1, 0, +1", "or %r0, 1", "jgt %r1, 0, +1",
        "or %r0, 2"},
       1},
      {"jmp32 compares the low half", {"mov %r0, 0", "lddw %r1, 0x100000000", "jeq32 %r1, 0, +1", "mov %r0, 9"}, 0},
      {"jmp64 compares all bits", {"mov %r0, 0", "lddw %r1, 0x100000000", "jeq %r1, 0, +1", "mov %r0, 9"}, 9},
      {"jslt32 on sign of the low half",
       {"mov %r0, 0", "lddw %r1, 0x0000000080000000", "jslt32 %r1, 0, +1", "mov %r0, 9"}, 0},
      {"jset", {"mov %r0, 0", "mov %r1, 6", "jset %r1, 4, +1", "mov %r0, 9"}, 0},
      {"ja32 long jump", {"mov %r0, 1", "ja32 +1", "mov %r0, 2"}, 1},
      {"backward loop", {"mov %r0, 0", "mov %r1, 10", "add %r0, %r1", "sub %r1, 1", "jne %r1, 0, -3"}, 55},
  });
}

TEST(Memory, LoadsStoresAndStack) {
  check_cases({
      {"stack store/load", {"stdw [%r10-8], -1", "ldxw %r0, [%r10-8]"}, 0xffffffff},
      {"stdw imm sign-extends", {"stdw [%r10-8], -2", "ldxdw %r0, [%r10-8]"}, static_cast<uint64_t>(-2)},
      {"stxb truncates", {"mov %r1, 0x1ff", "stdw [%r10-8], 0", "stxb [%r10-8], %r1", "ldxb %r0, [%r10-8]"}, 0xff},
      {"ldxsb", {"mov %r1, 0x80", "stxb [%r10-1], %r1", "ldxsb %r0, [%r10-1]"}, 0xffffffffffffff80},
      {"ldxsh", {"mov %r1, 0x8001", "stxh [%r10-2], %r1", "ldxsh %r0, [%r10-2]"}, 0xffffffffffff8001},
      {"ldxsw", {"mov32 %r1, 0x80000000", "stxw [%r10-4], %r1", "ldxsw %r0, [%r10-4]"}, 0xffffffff80000000},
      {"unaligned access", {"lddw %r1, 0x1122334455667788", "stxdw [%r10-13], %r1", "ldxdw %r0, [%r10-13]"}, 0x1122334455667788},
  });
  uint8_t memory[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  auto r0 = run_text({"ldxh %r0, [%r1+2]", "stb [%r1+7], 0x99", "add %r0, %r2", "exit"}, memory, sizeof(memory));
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 0x0403u + 8);
  EXPECT_EQ(memory[7], 0x99);
}

TEST(Atomics, SingleThreadSemantics) {
  check_cases({
      {"fetch add returns the old value",
       {"mov %r1, 5", "stdw [%r10-8], 10", "lock fetch add [%r10-8], %r1", "ldxdw %r0, [%r10-8]",
        "lsh %r0, 32", "or %r0, %r1"},
       (15ull << 32) | 10},
      {"add without fetch leaves src", {"mov %r1, 5", "stdw [%r10-8], 10", "lock add [%r10-8], %r1", "mov %r0, %r1"}, 5},
      {"fetch or32 zero-extends the old value",
       {"stw [%r10-4], -1", "mov %r1, 0", "lock fetch or32 [%r10-4], %r1", "mov %r0, %r1"}, 0xffffffff},
      {"and, xor", {"stdw [%r10-8], 0xff", "mov %r1, 0x0f", "lock and [%r10-8], %r1", "mov %r1, 0x3", "lock xor [%r10-8], %r1", "ldxdw %r0, [%r10-8]"}, 0x0c},
      {"xchg", {"stdw [%r10-8], 7", "mov %r1, 9", "lock xchg [%r10-8], %r1", "ldxdw %r0, [%r10-8]", "mul %r0, 10", "add %r0, %r1"}, 97},
      {"cmpxchg failure loads the old value",
       {"stdw [%r10-8], 3", "mov %r0, 4", "mov %r1, 9", "lock cmpxchg [%r10-8], %r1",
        "ldxdw %r2, [%r10-8]", "mul %r0, 100", "add %r0, %r2"},
       303},
      {"cmpxchg success stores",
       {"stdw [%r10-8], 3", "mov %r0, 3", "mov %r1, 9", "lock cmpxchg [%r10-8], %r1",
        "ldxdw %r2, [%r10-8]", "mul %r0, 100", "add %r0, %r2"},
       309},
      {"cmpxchg32 compares the low half of r0",
       {"stw [%r10-4], 3", "lddw %r0, 0x500000003", "mov %r1, 9", "lock cmpxchg32 [%r10-4], %r1",
        "ldxw %r2, [%r10-4]", "mul %r0, 100", "add %r0, %r2"},
       309},
  });
}

// Four threads hammer shared counters with add, 32-bit fetch-add and a cmpxchg retry loop; only
// real atomic read-modify-writes give exact totals.
TEST(Atomics, SharedBetweenThreads) {
  const std::vector<isa::Insn> program = assemble_or_die({
      "mov %r4, 1",
      "mov %r2, 0",
      "loop:",
      "lock add [%r1+0], %r4",
      "mov %r5, 1",
      "lock fetch add32 [%r1+8], %r5",
      "retry:",
      "ldxdw %r0, [%r1+16]",
      "mov %r7, %r0",
      "mov %r6, %r0",
      "add %r6, 1",
      "lock cmpxchg [%r1+16], %r6",
      "jne %r0, %r7, retry",
      "add %r2, 1",
      "jlt %r2, 20000, loop",
      "mov %r0, 0",
      "exit",
  });
  struct alignas(8) Counters {
    uint64_t added = 0;
    uint32_t fetched = 0;
    uint32_t pad = 0;
    uint64_t swapped = 0;
  } counters;
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] { EXPECT_TRUE(run_raw(program, &counters, sizeof(counters), kTestEngine).ok()); });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counters.added, 20000u * kThreads);
  EXPECT_EQ(counters.fetched, 20000u * kThreads);
  EXPECT_EQ(counters.swapped, 20000u * kThreads);
}

TEST(RunRaw, HelperFiveIsKtime) {
  auto r0 = run_text({"call 5", "exit"});
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_GT(*r0, 0u);
  auto unknown = run_text({"call 1", "exit"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "instruction 0: unknown helper id 1");
}

TEST(RunRaw, JitEngineRunsRawPrograms) {
  auto r0 = run_raw(assemble_or_die({"mov %r0, 1", "exit"}), nullptr, 0, Engine::Jit);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 1u);
}

}  // namespace
}  // namespace hourglass::vm::testing
