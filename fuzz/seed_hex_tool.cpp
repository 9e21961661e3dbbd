// Writes committed-format seeds (seed_hex.h) for fuzz_verify_run, with the type and each
// instruction's disassembly as comments, so that a new seed or a crash artifact can be committed
// as text:
//   fuzz_seed_hex bin FILE           a binary verify_run input (e.g. artifacts/verify_run-crash-*)
//   fuzz_seed_hex asm TYPE FILE.s    conformance-style assembly (tools/conformance/assembler.h),
//                                    TYPE the type byte (0 = syscall, see verify_run_input.h)
// Output goes to stdout. Seeds of the other targets are plain bytes: see docs/fuzzing.md.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "assembler.h"
#include "helpers/proto.h"
#include "verify_run_input.h"

namespace {

using namespace hourglass;

void print_seed(uint8_t type_byte, const std::vector<isa::Insn>& insns) {
  std::printf("%02x                       # type %u: %s\n", type_byte, type_byte,
              helpers::prog_type_name(fuzz::kVerifyRunTypes[type_byte % std::size(fuzz::kVerifyRunTypes)]));
  for (size_t i = 0; i < insns.size(); ++i) {
    const auto* raw = reinterpret_cast<const uint8_t*>(&insns[i]);
    std::string hex;
    for (int b = 0; b < 8; ++b) {
      char byte[4];
      std::snprintf(byte, sizeof(byte), b == 0 ? "%02x" : " %02x", raw[b]);
      hex += byte;
    }
    const isa::Insn* next = i + 1 < insns.size() ? &insns[i + 1] : nullptr;
    const bool second_half = i > 0 && isa::is_ld_imm64(insns[i - 1]);
    const std::string text =
        second_half ? "(ld_imm64, second half)" : isa::disassemble(insns[i], next, vm::helper_name);
    std::printf("%s  # %zu: %s\n", hex.c_str(), i, text.c_str());
  }
}

int from_binary(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot open\n", path);
    return 1;
  }
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  if (bytes.empty()) return 0;
  std::vector<isa::Insn> insns((bytes.size() - 1) / 8);
  std::memcpy(insns.data(), bytes.data() + 1, insns.size() * 8);
  print_seed(bytes[0], insns);
  if ((bytes.size() - 1) % 8 != 0) {
    std::printf("# %zu trailing bytes (ignored by the fuzzer):", (bytes.size() - 1) % 8);
    for (size_t i = 1 + insns.size() * 8; i < bytes.size(); ++i) std::printf(" %02x", bytes[i]);
    std::printf("\n");
  }
  return 0;
}

int from_assembly(const char* type_text, const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "%s: cannot open\n", path);
    return 1;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    lines.push_back(line);
  }
  auto insns = conformance::assemble(lines);
  if (!insns.ok()) {
    std::fprintf(stderr, "%s: %s\n", path, insns.error().message.c_str());
    return 1;
  }
  print_seed(static_cast<uint8_t>(std::stoi(type_text, nullptr, 0)), *insns);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "bin" && argc == 3) return from_binary(argv[2]);
  if (mode == "asm" && argc == 4) return from_assembly(argv[2], argv[3]);
  std::fprintf(stderr, "usage: %s bin FILE | asm TYPE FILE.s\n", argv[0]);
  return 2;
}
