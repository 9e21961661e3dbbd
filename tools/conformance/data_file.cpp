#include "data_file.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "assembler.h"

namespace hourglass::conformance {

namespace {

enum class Section { None, Asm, Result, Mem, Raw, Ignored, Error };

// Header lines pick their section by the first of these substrings they contain, in this order
// (as the upstream parser does); none of them: the whole file is skipped.
std::optional<Section> section_of(const std::string& header) {
  static const struct { const char* marker; Section section; } kMarkers[] = {
      {"asm", Section::Asm},         {"result", Section::Result},
      {"mem", Section::Mem},         {"raw", Section::Raw},
      {"no register offset", Section::Ignored}, {" c", Section::Ignored},
      {"error", Section::Error},
  };
  for (const auto& marker : kMarkers)
    if (header.find(marker.marker) != std::string::npos) return marker.section;
  return std::nullopt;
}

std::string trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

Result<uint64_t> parse_result(const std::string& line) {
  const std::string text = trim(line);
  const bool is_hex = text.find("0x") != std::string::npos || text.find("0X") != std::string::npos;
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), &end, is_hex ? 16 : 10);
  if (end == text.c_str() || errno == ERANGE) return make_error(EINVAL, "bad result '" + text + "'");
  return static_cast<uint64_t>(value);
}

// One slot read as a little-endian uint64: byte 0 opcode, byte 1 dst (low nibble) and src.
isa::Insn insn_from_word(uint64_t word) {
  isa::Insn insn;
  insn.opcode = static_cast<uint8_t>(word);
  insn.dst = static_cast<uint8_t>((word >> 8) & 0x0f);
  insn.src = static_cast<uint8_t>((word >> 12) & 0x0f);
  insn.off = static_cast<int16_t>(word >> 16);
  insn.imm = static_cast<int32_t>(word >> 32);
  return insn;
}

Result<std::vector<isa::Insn>> parse_raw(const std::vector<std::string>& lines) {
  std::vector<isa::Insn> program;
  for (const std::string& line : lines) {
    std::istringstream words(line);
    for (std::string word; words >> word;) {
      const bool is_hex = word.rfind("0x", 0) == 0 || word.rfind("0X", 0) == 0;
      char* end = nullptr;
      errno = 0;
      const unsigned long long slot = std::strtoull(word.c_str(), &end, is_hex ? 16 : 10);
      if (*end != '\0' || errno == ERANGE) return make_error(EINVAL, "bad raw word '" + word + "'");
      program.push_back(insn_from_word(slot));
    }
  }
  return program;
}

}  // namespace

Result<TestCase> parse_data_file(const std::string& text) {
  std::vector<std::string> asm_lines, raw_lines, result_lines, error_lines;
  std::string memory_text;
  bool has_result = false, has_error = false, has_raw = false;
  Section section = Section::None;
  TestCase test;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (const size_t comment = line.find('#'); comment != std::string::npos) line.resize(comment);
    if (line.find("--") != std::string::npos) {
      auto chosen = section_of(line);
      if (!chosen) {
        test.skip_reason = "unknown section header '" + trim(line) + "'";
        return test;
      }
      section = *chosen;
      has_result |= section == Section::Result;
      has_error |= section == Section::Error;
      has_raw |= section == Section::Raw;
      continue;
    }
    if (trim(line).empty()) continue;
    switch (section) {
      case Section::Asm: asm_lines.push_back(line); break;
      case Section::Raw: raw_lines.push_back(line); break;
      case Section::Mem: memory_text += line + " "; break;
      case Section::Result: result_lines.push_back(line); break;
      case Section::Error: error_lines.push_back(line); break;
      default: break;
    }
  }
  if (!has_result && !has_error) {
    test.skip_reason = "no result or error section";
    return test;
  }
  auto program = has_raw ? parse_raw(raw_lines) : assemble(asm_lines);
  if (!program.ok()) return program.take_error();
  test.program = std::move(*program);
  if (test.program.empty()) {
    test.skip_reason = "no instructions";
    return test;
  }
  auto memory = from_hex_text(memory_text);
  if (!memory.ok()) return memory.take_error();
  test.memory = std::move(*memory);
  if (!result_lines.empty()) {
    auto result = parse_result(result_lines.back());
    if (!result.ok()) return result.take_error();
    test.expected_result = *result;
  } else if (has_result) {
    test.expected_result = 0;
  }
  if (has_error) {
    std::string message = error_lines.empty() ? "" : error_lines.back();
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back())))
      message.pop_back();
    test.expected_error = message;
  }
  return test;
}

std::string to_hex_text(const uint8_t* bytes, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(size * 4);
  for (size_t i = 0; i < size; ++i) {
    text += kDigits[bytes[i] >> 4];
    text += kDigits[bytes[i] & 0x0f];
    text += "  ";
  }
  return text;
}

Result<std::vector<uint8_t>> from_hex_text(const std::string& text) {
  std::vector<uint8_t> bytes;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(word.c_str(), &end, 16);
    if (*end != '\0' || value > 0xff || word.size() > 2)
      return make_error(EINVAL, "bad hex byte '" + word + "'");
    bytes.push_back(static_cast<uint8_t>(value));
  }
  return bytes;
}

std::vector<uint8_t> encode_program(const std::vector<isa::Insn>& program) {
  std::vector<uint8_t> bytes;
  bytes.reserve(program.size() * 8);
  for (const isa::Insn& insn : program) {
    const uint64_t word = insn.opcode | (uint64_t{insn.dst} << 8) | (uint64_t{insn.src} << 12) |
                          (uint64_t{static_cast<uint16_t>(insn.off)} << 16) |
                          (uint64_t{static_cast<uint32_t>(insn.imm)} << 32);
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<uint8_t>(word >> (8 * i)));
  }
  return bytes;
}

Result<std::vector<isa::Insn>> decode_program(const std::vector<uint8_t>& bytes) {
  if (bytes.size() % 8 != 0)
    return make_error(EINVAL, "program size " + std::to_string(bytes.size()) +
                                  " is not a multiple of 8");
  std::vector<isa::Insn> program;
  for (size_t at = 0; at < bytes.size(); at += 8) {
    uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = (word << 8) | bytes[at + static_cast<size_t>(i)];
    program.push_back(insn_from_word(word));
  }
  return program;
}

}  // namespace hourglass::conformance
