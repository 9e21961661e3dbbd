// Internal to object/: a validated, read-only view of a BPF ELF relocatable object, read with
// libelf. Every section and symbol here has been bounds-checked against the file once, so the
// rest of the parser can index them without re-checking.
#pragma once

#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hourglass/result.h"

namespace hourglass::object::detail {

struct ElfSection {
  size_t index = 0;
  std::string name;
  uint32_t type = 0;   // SHT_*
  uint64_t flags = 0;  // SHF_*
  uint64_t size = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  // Bytes of the section inside the caller's buffer; null for SHT_NOBITS (.bss) and empty ones.
  const uint8_t* data = nullptr;
  Elf_Scn* scn = nullptr;  // libelf handle, valid while the owning ElfView lives

  bool executable() const { return type == SHT_PROGBITS && (flags & SHF_EXECINSTR) != 0; }
};

struct ElfSymbol {
  size_t index = 0;
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = STT_NOTYPE;  // STT_*
  uint8_t bind = STB_LOCAL;   // STB_*
  uint32_t shndx = SHN_UNDEF; // already range-checked when below SHN_LORESERVE

  bool undefined() const { return shndx == SHN_UNDEF; }
};

struct ElfRelocation {
  uint64_t offset = 0;  // byte offset inside the target section
  uint32_t type = 0;    // R_BPF_*
  size_t symbol = 0;    // index into ElfView::symbols, range-checked
};

struct ElfDeleter {
  void operator()(Elf* elf) const { elf_end(elf); }
};

// Owns the libelf handle; `bytes` must outlive the view (sections point into it).
struct ElfView {
  std::unique_ptr<Elf, ElfDeleter> elf;
  std::vector<ElfSection> sections;  // indexed by ELF section index; [0] is the null section
  std::vector<ElfSymbol> symbols;    // indexed by symbol index; [0] is the null symbol
  size_t symtab_index = 0;

  const ElfSection* find_section(const std::string& name) const;
  // Relocations of a SHT_REL section, each offset checked to lie inside the target section.
  Result<std::vector<ElfRelocation>> relocations(const ElfSection& rel_section) const;
};

// Checks the ELF identity (64-bit, little-endian, EM_BPF, relocatable) and reads the section
// and symbol tables. `bytes` is the caller's copy of the file (libelf wants a mutable buffer).
Result<ElfView> open_elf(std::vector<uint8_t>& bytes);

// Relocation types of the BPF ELF ABI (llvm/BinaryFormat/ELFRelocs/BPF.def).
inline constexpr uint32_t kRelBpf64_64 = 1;      // ld_imm64
inline constexpr uint32_t kRelBpf64Abs64 = 2;    // data (.maps initialisers, .BTF)
inline constexpr uint32_t kRelBpf64Abs32 = 3;
inline constexpr uint32_t kRelBpf64NoDyld32 = 4;
inline constexpr uint32_t kRelBpf64_32 = 10;     // call imm

}  // namespace hourglass::object::detail
