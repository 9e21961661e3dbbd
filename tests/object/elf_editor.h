// A tiny ELF64 editor for the bad-input tests: reads and rewrites headers, symbols and
// relocations of a real object in place (memcpy only, so no alignment assumptions). A lookup
// that finds nothing fails the test and returns index 0 / a zeroed value.
#pragma once

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace hourglass::object::testing {

class ElfEditor {
 public:
  explicit ElfEditor(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}

  std::vector<uint8_t>& bytes() { return bytes_; }

  Elf64_Ehdr header() const { return get<Elf64_Ehdr>(0); }
  void set_header(const Elf64_Ehdr& header) { put(0, header); }

  Elf64_Shdr section(size_t index) const {
    return get<Elf64_Shdr>(header().e_shoff + index * sizeof(Elf64_Shdr));
  }
  void set_section(size_t index, const Elf64_Shdr& shdr) {
    put(header().e_shoff + index * sizeof(Elf64_Shdr), shdr);
  }
  std::string section_name(size_t index) const {
    return string_at(section(header().e_shstrndx).sh_offset + section(index).sh_name);
  }
  size_t section_index(const std::string& name) const {
    for (size_t i = 1; i < header().e_shnum; ++i) {
      if (section_name(i) == name) return i;
    }
    ADD_FAILURE() << "no section " << name;
    return 0;
  }

  size_t symtab() const {
    for (size_t i = 1; i < header().e_shnum; ++i) {
      if (section(i).sh_type == SHT_SYMTAB) return i;
    }
    ADD_FAILURE() << "no symtab";
    return 0;
  }
  Elf64_Sym symbol(size_t index) const {
    return get<Elf64_Sym>(section(symtab()).sh_offset + index * sizeof(Elf64_Sym));
  }
  void set_symbol(size_t index, const Elf64_Sym& sym) {
    put(section(symtab()).sh_offset + index * sizeof(Elf64_Sym), sym);
  }
  std::string symbol_name(size_t index) const {
    return string_at(section(section(symtab()).sh_link).sh_offset + symbol(index).st_name);
  }
  size_t symbol_index(const std::string& name) const {
    const size_t count = section(symtab()).sh_size / sizeof(Elf64_Sym);
    for (size_t i = 1; i < count; ++i) {
      if (symbol_name(i) == name) return i;
    }
    ADD_FAILURE() << "no symbol " << name;
    return 0;
  }
  // Section symbols are unnamed; find the one for a section.
  size_t section_symbol(const std::string& name) const {
    const size_t target = section_index(name);
    const size_t count = section(symtab()).sh_size / sizeof(Elf64_Sym);
    for (size_t i = 1; i < count; ++i) {
      const Elf64_Sym sym = symbol(i);
      if (ELF64_ST_TYPE(sym.st_info) == STT_SECTION && sym.st_shndx == target) return i;
    }
    ADD_FAILURE() << "no section symbol for " << name;
    return 0;
  }

  Elf64_Rel rel(const std::string& rel_section, size_t entry) const {
    return get<Elf64_Rel>(section(section_index(rel_section)).sh_offset + entry * sizeof(Elf64_Rel));
  }
  // Index of the first entry of `rel_section` against symbol `name`.
  size_t rel_entry_for(const std::string& rel_section, const std::string& name) const {
    const size_t count = section(section_index(rel_section)).sh_size / sizeof(Elf64_Rel);
    for (size_t i = 0; i < count; ++i) {
      if (symbol_name(ELF64_R_SYM(rel(rel_section, i).r_info)) == name) return i;
    }
    ADD_FAILURE() << "no relocation against " << name << " in " << rel_section;
    return 0;
  }
  void set_rel(const std::string& rel_section, size_t entry, const Elf64_Rel& rel) {
    put(section(section_index(rel_section)).sh_offset + entry * sizeof(Elf64_Rel), rel);
  }

 private:
  template <class T>
  T get(uint64_t offset) const {
    if (offset + sizeof(T) > bytes_.size()) {
      ADD_FAILURE() << "read past the end";
      return T{};
    }
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof(T));
    return value;
  }
  template <class T>
  void put(uint64_t offset, const T& value) {
    if (offset + sizeof(T) > bytes_.size()) {
      ADD_FAILURE() << "write past the end";
      return;
    }
    std::memcpy(bytes_.data() + offset, &value, sizeof(T));
  }
  std::string string_at(uint64_t offset) const {
    if (offset >= bytes_.size()) {
      ADD_FAILURE() << "string past the end";
      return {};
    }
    const char* text = reinterpret_cast<const char*>(bytes_.data() + offset);
    return std::string(text, strnlen(text, bytes_.size() - offset));
  }

  std::vector<uint8_t> bytes_;
};

}  // namespace hourglass::object::testing
