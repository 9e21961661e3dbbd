// The tiny ELF objects of the plugin contract's `--elf` mode (README 1.1): ELF64 little-endian,
// EM_BPF, sections .shstrtab, .symtab and .text, one global FUNC symbol `main` covering .text,
// symbol names kept in .shstrtab (the .symtab's sh_link points there; there is no .strtab).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hourglass/result.h"

namespace hourglass::conformance {

// Builds such an object around `code` (the runner's --elf mode).
std::vector<uint8_t> make_test_elf(const std::vector<uint8_t>& code, const std::string& section = ".text");

// The bytes of function `main` (the plugin's --elf mode): finds the symbol through .symtab's
// sh_link string table, then its bytes in the section it names. Checks every offset it reads.
Result<std::vector<uint8_t>> extract_main(const std::vector<uint8_t>& object);

}  // namespace hourglass::conformance
