// Parsing the suite's `*.data` files (README section 2): `-- asm` / `-- raw` program, `-- mem`
// input bytes, `-- result` or `-- error` expectation, comments from `#`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hourglass/result.h"
#include "isa/insn.h"

namespace hourglass::conformance {

struct TestCase {
  std::vector<isa::Insn> program;
  std::vector<uint8_t> memory;
  std::optional<uint64_t> expected_result;
  std::optional<std::string> expected_error;
  // Set when the upstream runner would skip the file (unknown section header, no expectation,
  // no instructions); the other fields are then meaningless.
  std::optional<std::string> skip_reason;
};

// Parses the text of a data file. Errors: the assembler's or a malformed raw/mem/result section.
Result<TestCase> parse_data_file(const std::string& text);

// Hex text as the plugin contract uses it: two lowercase hex digits and two spaces per byte.
std::string to_hex_text(const uint8_t* bytes, size_t size);
// Decodes whitespace-separated hex byte tokens ("aa  bb  11  "); error on a bad token.
Result<std::vector<uint8_t>> from_hex_text(const std::string& text);

// The instruction stream as little-endian bytes, 8 per slot.
std::vector<uint8_t> encode_program(const std::vector<isa::Insn>& program);
// The reverse; error if the size is not a multiple of 8.
Result<std::vector<isa::Insn>> decode_program(const std::vector<uint8_t>& bytes);

}  // namespace hourglass::conformance
