#include "test_elf.h"

#include <elf.h>

#include <cstring>

namespace hourglass::conformance {

namespace {

template <class T>
void append(std::vector<uint8_t>& out, const T& value) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

// Reads a T at `offset` if it lies wholly inside `object`.
template <class T>
bool read_at(const std::vector<uint8_t>& object, uint64_t offset, T& value) {
  if (offset > object.size() || object.size() - offset < sizeof(T)) return false;
  std::memcpy(&value, object.data() + offset, sizeof(T));
  return true;
}

Error elf_error(const std::string& what) { return make_error(EINVAL, "bad ELF object: " + what); }

}  // namespace

std::vector<uint8_t> make_test_elf(const std::vector<uint8_t>& code, const std::string& section) {
  // .shstrtab holds section and symbol names alike.
  std::string names(1, '\0');
  const auto add_name = [&names](const std::string& name) {
    const auto offset = static_cast<uint32_t>(names.size());
    names += name;
    names += '\0';
    return offset;
  };
  const uint32_t shstrtab_name = add_name(".shstrtab");
  const uint32_t symtab_name = add_name(".symtab");
  const uint32_t text_name = add_name(section);
  const uint32_t main_name = add_name("main");

  Elf64_Sym symbols[2] = {};
  symbols[1].st_name = main_name;
  symbols[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
  symbols[1].st_shndx = 3;  // .text
  symbols[1].st_value = 0;
  symbols[1].st_size = code.size();

  const uint64_t text_offset = sizeof(Elf64_Ehdr);
  const uint64_t symtab_offset = (text_offset + code.size() + 7) & ~uint64_t{7};
  const uint64_t names_offset = symtab_offset + sizeof(symbols);
  const uint64_t headers_offset = (names_offset + names.size() + 7) & ~uint64_t{7};

  Elf64_Ehdr header = {};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_REL;
  header.e_machine = EM_BPF;
  header.e_version = EV_CURRENT;
  header.e_shoff = headers_offset;
  header.e_ehsize = sizeof(Elf64_Ehdr);
  header.e_shentsize = sizeof(Elf64_Shdr);
  header.e_shnum = 4;
  header.e_shstrndx = 1;

  Elf64_Shdr sections[4] = {};
  sections[1] = {shstrtab_name, SHT_STRTAB, 0, 0, names_offset, names.size(), 0, 0, 1, 0};
  sections[2] = {symtab_name, SHT_SYMTAB, 0, 0, symtab_offset, sizeof(symbols), 1, 1, 8,
                 sizeof(Elf64_Sym)};
  sections[3] = {text_name, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0, text_offset, code.size(),
                 0, 0, 8, 0};

  std::vector<uint8_t> out;
  append(out, header);
  out.insert(out.end(), code.begin(), code.end());
  out.resize(symtab_offset, 0);
  append(out, symbols);
  out.insert(out.end(), names.begin(), names.end());
  out.resize(headers_offset, 0);
  append(out, sections);
  return out;
}

Result<std::vector<uint8_t>> extract_main(const std::vector<uint8_t>& object) {
  Elf64_Ehdr header;
  if (!read_at(object, 0, header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return elf_error("not an ELF file");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB)
    return elf_error("not ELF64 little-endian");
  if (header.e_machine != EM_BPF) return elf_error("machine is not EM_BPF");
  if (header.e_shentsize != sizeof(Elf64_Shdr)) return elf_error("unexpected section header size");
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  for (size_t i = 0; i < sections.size(); ++i)
    if (!read_at(object, header.e_shoff + i * sizeof(Elf64_Shdr), sections[i]))
      return elf_error("section header " + std::to_string(i) + " out of bounds");
  const auto name_at = [&object](const Elf64_Shdr& strings, uint32_t offset) -> std::string {
    if (offset >= strings.sh_size || strings.sh_offset > object.size() ||
        strings.sh_size > object.size() - strings.sh_offset)
      return "";
    const char* begin = reinterpret_cast<const char*>(object.data() + strings.sh_offset + offset);
    return std::string(begin, strnlen(begin, strings.sh_size - offset));
  };
  for (const Elf64_Shdr& symtab : sections) {
    if (symtab.sh_type != SHT_SYMTAB) continue;
    if (symtab.sh_link >= sections.size()) return elf_error("symbol table has a bad sh_link");
    const Elf64_Shdr& strings = sections[symtab.sh_link];
    for (uint64_t offset = 0; offset + sizeof(Elf64_Sym) <= symtab.sh_size; offset += sizeof(Elf64_Sym)) {
      Elf64_Sym symbol;
      if (!read_at(object, symtab.sh_offset + offset, symbol)) return elf_error("symbol out of bounds");
      if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC || name_at(strings, symbol.st_name) != "main")
        continue;
      if (symbol.st_shndx == SHN_UNDEF || symbol.st_shndx >= sections.size())
        return elf_error("symbol 'main' has a bad section index");
      const Elf64_Shdr& text = sections[symbol.st_shndx];
      const uint64_t size = symbol.st_size ? symbol.st_size : text.sh_size - symbol.st_value;
      if (text.sh_offset > object.size() || text.sh_size > object.size() - text.sh_offset ||
          symbol.st_value > text.sh_size || size > text.sh_size - symbol.st_value)
        return elf_error("symbol 'main' lies outside its section");
      const auto* begin = object.data() + text.sh_offset + symbol.st_value;
      return std::vector<uint8_t>(begin, begin + size);
    }
  }
  return elf_error("no function 'main'");
}

}  // namespace hourglass::conformance
