// The conformance runner's assembler, data-file parser and ELF writer/reader.
#include <gtest/gtest.h>

#include "assembler.h"
#include "data_file.h"
#include "test_elf.h"

namespace hourglass::conformance {
namespace {

// The 8 bytes of each slot, as the plugin receives them.
std::vector<uint8_t> bytes_of(const std::vector<std::string>& lines) {
  auto program = assemble(lines);
  EXPECT_TRUE(program.ok()) << (program.ok() ? "" : program.error().message);
  return program.ok() ? encode_program(*program) : std::vector<uint8_t>{};
}

using Bytes = std::vector<uint8_t>;

TEST(Assembler, AluImmediateAndRegister) {
  EXPECT_EQ(bytes_of({"mov %r0, 1"}), (Bytes{0xb7, 0x00, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"add32 %r3, %r9"}), (Bytes{0x0c, 0x93, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"mov %r0, -10"}), (Bytes{0xb7, 0x00, 0, 0, 0xf6, 0xff, 0xff, 0xff}));
  EXPECT_EQ(bytes_of({"mov32 %r0, 0x80000000"}), (Bytes{0xb4, 0x00, 0, 0, 0, 0, 0, 0x80}));
  EXPECT_EQ(bytes_of({"neg %r2"}), (Bytes{0x87, 0x02, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"sdiv32 %r1, 3"}), (Bytes{0x34, 0x01, 1, 0, 3, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"smod %r1, %r2"}), (Bytes{0x9f, 0x21, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"movsx1632 %r4, %r3"}), (Bytes{0xbc, 0x34, 16, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"movsx3264 %r0, %r9"}), (Bytes{0xbf, 0x90, 32, 0, 0, 0, 0, 0}));
}

TEST(Assembler, ByteSwaps) {
  EXPECT_EQ(bytes_of({"be16 %r0"}), (Bytes{0xdc, 0x00, 0, 0, 16, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"le32 %r1"}), (Bytes{0xd4, 0x01, 0, 0, 32, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"bswap64 %r2"}), (Bytes{0xd7, 0x02, 0, 0, 64, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"swap16 %r2"}), (Bytes{0xd7, 0x02, 0, 0, 16, 0, 0, 0}));
}

TEST(Assembler, LoadsStoresAndLddw) {
  EXPECT_EQ(bytes_of({"ldxb %r0, [%r1+0x2]"}), (Bytes{0x71, 0x10, 2, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"ldxsh %r0, [%r1-2]"}), (Bytes{0x89, 0x10, 0xfe, 0xff, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"stxdw [%r10-8], %r1"}), (Bytes{0x7b, 0x1a, 0xf8, 0xff, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"stw [%r1], 0x11223344"}), (Bytes{0x62, 0x01, 0, 0, 0x44, 0x33, 0x22, 0x11}));
  EXPECT_EQ(bytes_of({"lddw %r0, 0x1122334455667788"}),
            (Bytes{0x18, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11}));
  EXPECT_EQ(bytes_of({"lddw %r1, -1"}),
            (Bytes{0x18, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}));
}

TEST(Assembler, Atomics) {
  EXPECT_EQ(bytes_of({"lock add [%r10-8], %r1"}), (Bytes{0xdb, 0x1a, 0xf8, 0xff, 0x00, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"lock fetch xor32 [%r10-4], %r3"}),
            (Bytes{0xc3, 0x3a, 0xfc, 0xff, 0xa1, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"lock xchg [%r10-8], %r1"}), (Bytes{0xdb, 0x1a, 0xf8, 0xff, 0xe1, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"lock cmpxchg32 [%r10-8], %r1"}),
            (Bytes{0xc3, 0x1a, 0xf8, 0xff, 0xf1, 0, 0, 0}));
}

TEST(Assembler, JumpsLabelsAndCalls) {
  // jne to a label two slots ahead of the next one (lddw counts two), and `exit` predefined.
  auto program = bytes_of({"jne %r1, 5, done", "lddw %r0, 1", "done:", "jeq32 %r1, %r2, exit",
                           "ja -1", "exit"});
  ASSERT_EQ(program.size(), 6u * 8);
  EXPECT_EQ(Bytes(program.begin(), program.begin() + 8), (Bytes{0x55, 0x01, 2, 0, 5, 0, 0, 0}));
  EXPECT_EQ(Bytes(program.begin() + 24, program.begin() + 32), (Bytes{0x1e, 0x21, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Bytes(program.begin() + 32, program.begin() + 40),
            (Bytes{0x05, 0x00, 0xff, 0xff, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"ja32 +3"}), (Bytes{0x06, 0, 0, 0, 3, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"call 5"}), (Bytes{0x85, 0, 0, 0, 5, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"call %r2"}), (Bytes{0x8d, 0x02, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bytes_of({"call local f", "exit", "f:", "exit"}),
            (Bytes{0x85, 0x10, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(Assembler, ErrorsNameTheLine) {
  auto unknown = assemble({"mov %r0, 1", "frobnicate %r1"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "line 2: unknown mnemonic 'frobnicate'");
  auto label = assemble({"ja nowhere"});
  ASSERT_FALSE(label.ok());
  EXPECT_EQ(label.error().message, "line 1: unknown label 'nowhere'");
  EXPECT_FALSE(assemble({"mov %r0, 0x100000000"}).ok());
  EXPECT_FALSE(assemble({"ldxb %r0, %r1"}).ok());
}

TEST(DataFile, SectionsCommentsAndResult) {
  auto test = parse_data_file(
      "# copyright\n-- asm\nldxb %r0, [%r1+0x2] # comment\nexit\n-- mem\naa bb 11\ncc dd\n"
      "-- result\n0x11\n");
  ASSERT_TRUE(test.ok()) << test.error().message;
  EXPECT_FALSE(test->skip_reason);
  EXPECT_EQ(test->program.size(), 2u);
  EXPECT_EQ(test->memory, (Bytes{0xaa, 0xbb, 0x11, 0xcc, 0xdd}));
  EXPECT_EQ(test->expected_result, 0x11u);
  EXPECT_FALSE(test->expected_error);

  auto decimal = parse_data_file("-- asm\nexit\n-- result\n42\n");
  ASSERT_TRUE(decimal.ok());
  EXPECT_EQ(decimal->expected_result, 42u);

  auto raw = parse_data_file("-- raw\n0x00000000000000b7 0x0000000000000095\n-- result\n0x0\n");
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->program.size(), 2u);
  EXPECT_EQ(raw->program[1].opcode, 0x95);

  auto error = parse_data_file("-- asm\nexit\n-- error\nunknown opcode 0x8f  \n");
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->expected_error, "unknown opcode 0x8f");

  auto skipped = parse_data_file("-- asm\nexit\n-- weird\n");
  ASSERT_TRUE(skipped.ok());
  EXPECT_TRUE(skipped->skip_reason);
}

TEST(HexText, RoundTrip) {
  const Bytes bytes = {0x00, 0xaa, 0x0f};
  EXPECT_EQ(to_hex_text(bytes.data(), bytes.size()), "00  aa  0f  ");
  auto back = from_hex_text("00  aa  0f  ");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_FALSE(from_hex_text("zz").ok());
}

TEST(TestElf, MainRoundTrips) {
  const Bytes code = bytes_of({"mov %r0, 7", "exit"});
  auto extracted = extract_main(make_test_elf(code));
  ASSERT_TRUE(extracted.ok()) << extracted.error().message;
  EXPECT_EQ(*extracted, code);
  auto xdp = extract_main(make_test_elf(code, "xdp"));
  ASSERT_TRUE(xdp.ok());
  EXPECT_EQ(*xdp, code);
  EXPECT_FALSE(extract_main(Bytes{1, 2, 3}).ok());
  Bytes truncated = make_test_elf(code);
  truncated.resize(truncated.size() - 10);
  EXPECT_FALSE(extract_main(truncated).ok());
}

}  // namespace
}  // namespace hourglass::conformance
