// Reading the ELF container with libelf, checking every size and index against the file before
// anything else looks at it (bad input must give an Error, never a crash).
#include "object/elf_view.h"

#include <cstring>
#include <mutex>

namespace hourglass::object::detail {
namespace {

Error format_error(const std::string& what) { return make_error(EINVAL, "invalid ELF: " + what); }

std::string elf_message() {
  const char* msg = elf_errmsg(-1);
  return msg != nullptr ? msg : "unknown libelf error";
}

// libelf requires elf_version() before any other call; doing it once is enough process-wide.
bool init_libelf() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = elf_version(EV_CURRENT) != EV_NONE; });
  return ok;
}

Status check_identity(const std::vector<uint8_t>& bytes) {
  if (bytes.size() < sizeof(Elf64_Ehdr)) {
    return format_error("file is " + std::to_string(bytes.size()) +
                        " bytes, shorter than an ELF64 header");
  }
  if (std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) return format_error("bad ELF magic");
  if (bytes[EI_CLASS] != ELFCLASS64) return format_error("not a 64-bit ELF (class " +
                                                         std::to_string(bytes[EI_CLASS]) + ")");
  if (bytes[EI_DATA] != ELFDATA2LSB) {
    return format_error("not little-endian (data encoding " + std::to_string(bytes[EI_DATA]) +
                        "); only BPF little-endian objects are supported");
  }
  Elf64_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (header.e_machine != EM_BPF) {
    return format_error("machine is " + std::to_string(header.e_machine) + ", not EM_BPF (247)");
  }
  if (header.e_type != ET_REL) {
    return format_error("type is " + std::to_string(header.e_type) +
                        ", not a relocatable object (ET_REL)");
  }
  return {};
}

Status read_sections(ElfView& view, size_t file_size) {
  size_t section_count = 0;
  size_t names_index = 0;
  if (elf_getshdrnum(view.elf.get(), &section_count) != 0) {
    return format_error("cannot read the section count: " + elf_message());
  }
  if (elf_getshdrstrndx(view.elf.get(), &names_index) != 0) {
    return format_error("cannot read the section name table index: " + elf_message());
  }
  if (section_count == 0) return format_error("no sections");
  if (names_index >= section_count) {
    return format_error("section name table index " + std::to_string(names_index) +
                        " is out of range (" + std::to_string(section_count) + " sections)");
  }
  view.sections.resize(section_count);
  for (size_t i = 1; i < section_count; ++i) {
    Elf_Scn* scn = elf_getscn(view.elf.get(), i);
    GElf_Shdr shdr;
    if (scn == nullptr || gelf_getshdr(scn, &shdr) == nullptr) {
      return format_error("cannot read section header " + std::to_string(i) + ": " +
                          elf_message());
    }
    ElfSection& section = view.sections[i];
    section.index = i;
    section.scn = scn;
    section.type = shdr.sh_type;
    section.flags = shdr.sh_flags;
    section.size = shdr.sh_size;
    section.link = shdr.sh_link;
    section.info = shdr.sh_info;
    const char* name = elf_strptr(view.elf.get(), names_index, shdr.sh_name);
    if (name == nullptr) {
      return format_error("section " + std::to_string(i) + " has a name offset " +
                          std::to_string(shdr.sh_name) + " outside the name table");
    }
    section.name = name;
    if (shdr.sh_type == SHT_NOBITS || shdr.sh_size == 0) continue;
    if (shdr.sh_offset > file_size || shdr.sh_size > file_size - shdr.sh_offset) {
      return format_error("section '" + section.name + "' (" + std::to_string(i) +
                          ") spans bytes " + std::to_string(shdr.sh_offset) + ".." +
                          std::to_string(shdr.sh_offset + shdr.sh_size) + " beyond the " +
                          std::to_string(file_size) + "-byte file");
    }
    Elf_Data* data = elf_rawdata(scn, nullptr);
    if (data == nullptr || data->d_buf == nullptr || data->d_size != shdr.sh_size) {
      return format_error("cannot read the data of section '" + section.name +
                          "': " + elf_message());
    }
    section.data = static_cast<const uint8_t*>(data->d_buf);
  }
  return {};
}

Status read_symbols(ElfView& view) {
  for (const ElfSection& section : view.sections) {
    if (section.type != SHT_SYMTAB) continue;
    if (view.symtab_index != 0) return format_error("more than one symbol table");
    view.symtab_index = section.index;
  }
  if (view.symtab_index == 0) return format_error("no symbol table (.symtab)");
  const ElfSection& symtab = view.sections[view.symtab_index];
  if (symtab.link == 0 || symtab.link >= view.sections.size() ||
      view.sections[symtab.link].type != SHT_STRTAB) {
    return format_error("symbol table links to section " + std::to_string(symtab.link) +
                        ", which is not a string table");
  }
  Elf_Data* data = symtab.size == 0 ? nullptr : elf_getdata(symtab.scn, nullptr);
  if (symtab.size != 0 && data == nullptr) {
    return format_error("cannot read the symbol table: " + elf_message());
  }
  const size_t count = symtab.size / sizeof(Elf64_Sym);
  view.symbols.resize(count);
  for (size_t i = 1; i < count; ++i) {
    GElf_Sym sym;
    if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) {
      return format_error("cannot read symbol " + std::to_string(i) + ": " + elf_message());
    }
    ElfSymbol& symbol = view.symbols[i];
    symbol.index = i;
    symbol.value = sym.st_value;
    symbol.size = sym.st_size;
    symbol.type = GELF_ST_TYPE(sym.st_info);
    symbol.bind = GELF_ST_BIND(sym.st_info);
    symbol.shndx = sym.st_shndx;
    const char* name = elf_strptr(view.elf.get(), symtab.link, sym.st_name);
    if (name == nullptr) {
      return format_error("symbol " + std::to_string(i) + " has a name offset " +
                          std::to_string(sym.st_name) + " outside the string table");
    }
    symbol.name = name;
    if (symbol.type == STT_SECTION && symbol.name.empty() && symbol.shndx < view.sections.size()) {
      symbol.name = view.sections[symbol.shndx].name;  // clang leaves section symbols unnamed
    }
    if (symbol.shndx != SHN_UNDEF && symbol.shndx < SHN_LORESERVE &&
        symbol.shndx >= view.sections.size()) {
      return format_error("symbol '" + symbol.name + "' (" + std::to_string(i) +
                          ") refers to section " + std::to_string(symbol.shndx) +
                          ", out of range (" + std::to_string(view.sections.size()) +
                          " sections)");
    }
  }
  return {};
}

}  // namespace

const ElfSection* ElfView::find_section(const std::string& name) const {
  for (const ElfSection& section : sections) {
    if (section.index != 0 && section.name == name) return &section;
  }
  return nullptr;
}

Result<std::vector<ElfRelocation>> ElfView::relocations(const ElfSection& rel_section) const {
  const std::string where = "relocation section '" + rel_section.name + "'";
  if (rel_section.info == 0 || rel_section.info >= sections.size()) {
    return format_error(where + " targets section " + std::to_string(rel_section.info) +
                        ", out of range");
  }
  const ElfSection& target = sections[rel_section.info];
  Elf_Data* data = rel_section.size == 0 ? nullptr : elf_getdata(rel_section.scn, nullptr);
  if (rel_section.size != 0 && data == nullptr) {
    return format_error("cannot read " + where + ": " + elf_message());
  }
  std::vector<ElfRelocation> out;
  const size_t count = rel_section.size / sizeof(Elf64_Rel);
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    GElf_Rel rel;
    if (gelf_getrel(data, static_cast<int>(i), &rel) == nullptr) {
      return format_error("cannot read entry " + std::to_string(i) + " of " + where);
    }
    ElfRelocation relocation;
    relocation.offset = rel.r_offset;
    relocation.type = static_cast<uint32_t>(GELF_R_TYPE(rel.r_info));
    relocation.symbol = GELF_R_SYM(rel.r_info);
    if (relocation.symbol == 0 || relocation.symbol >= symbols.size()) {
      return format_error(where + ": entry " + std::to_string(i) + " refers to symbol " +
                          std::to_string(relocation.symbol) + ", out of range (" +
                          std::to_string(symbols.size()) + " symbols)");
    }
    if (relocation.offset >= target.size) {
      return format_error(where + ": entry " + std::to_string(i) + " at offset " +
                          std::to_string(relocation.offset) + " is outside section '" +
                          target.name + "' (" + std::to_string(target.size) + " bytes)");
    }
    out.push_back(relocation);
  }
  return out;
}

Result<ElfView> open_elf(std::vector<uint8_t>& bytes) {
  if (Status identity = check_identity(bytes); !identity) return identity.take_error();
  if (!init_libelf()) return format_error("libelf initialisation failed: " + elf_message());
  ElfView view;
  view.elf.reset(elf_memory(reinterpret_cast<char*>(bytes.data()), bytes.size()));
  if (view.elf == nullptr || elf_kind(view.elf.get()) != ELF_K_ELF) {
    return format_error("libelf cannot read it: " + elf_message());
  }
  if (Status sections = read_sections(view, bytes.size()); !sections) {
    return sections.take_error();
  }
  if (Status symbols = read_symbols(view); !symbols) return symbols.take_error();
  return view;
}

}  // namespace hourglass::object::detail
