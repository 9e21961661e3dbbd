// Bad input built from a real object: every corruption must come back as an Error whose message
// names what is wrong and where -- never a crash (these tests also run under ASan/UBSan).
#include <random>

#include "elf_editor.h"
#include "object_test_util.h"

namespace hourglass::object::testing {
namespace {

class ObjectBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = read_bytes(prog_path("obj_maps"));
    ASSERT_GT(original_.size(), 1000u);
    ASSERT_TRUE(parse(original_).ok());
  }

  static Result<ObjectSpec> parse(const std::vector<uint8_t>& bytes) {
    return parse_object(bytes.data(), bytes.size(), "corrupt.o");
  }

  // Applies `edit` to a fresh copy and expects an error containing every one of `words`.
  template <class Edit>
  void expect_error(Edit edit, std::initializer_list<const char*> words) {
    ElfEditor editor(original_);
    edit(editor);
    Result<ObjectSpec> spec = parse(editor.bytes());
    ASSERT_FALSE(spec.ok()) << "corrupted object loaded";
    const std::string& message = spec.error().message;
    EXPECT_EQ(message.rfind("corrupt.o: ", 0), 0u) << message;
    EXPECT_NE(spec.error().code, 0);
    for (const char* word : words) {
      EXPECT_NE(message.find(word), std::string::npos) << "'" << word << "' not in: " << message;
    }
  }

  // Rewrites entry `entry` of relocation section `rel_section`.
  template <class Change>
  static void edit_rel(ElfEditor& editor, const char* rel_section, size_t entry, Change change) {
    Elf64_Rel rel = editor.rel(rel_section, entry);
    change(rel);
    editor.set_rel(rel_section, entry, rel);
  }

  template <class Change>
  static void edit_section(ElfEditor& editor, const char* name, Change change) {
    const size_t index = editor.section_index(name);
    Elf64_Shdr shdr = editor.section(index);
    change(shdr);
    editor.set_section(index, shdr);
  }

  template <class Change>
  static void edit_symbol(ElfEditor& editor, const char* name, Change change) {
    const size_t index = editor.symbol_index(name);
    Elf64_Sym sym = editor.symbol(index);
    change(sym);
    editor.set_symbol(index, sym);
  }

  std::vector<uint8_t> original_;
};

TEST_F(ObjectBadInput, EveryTruncationIsAnError) {
  std::vector<size_t> lengths = {0, 1, 3, 4, 15, 16, 52, 63, 64, 65};
  for (size_t length = 80; length < original_.size(); length += 61) lengths.push_back(length);
  for (size_t cut = 1; cut <= 80; ++cut) lengths.push_back(original_.size() - cut);
  for (size_t length : lengths) {
    std::vector<uint8_t> truncated(original_.begin(), original_.begin() + length);
    Result<ObjectSpec> spec = parse(truncated);
    ASSERT_FALSE(spec.ok()) << "truncated to " << length << " bytes loaded";
    EXPECT_FALSE(spec.error().message.empty());
  }
  Result<ObjectSpec> empty = parse_object(nullptr, 0, "empty.o");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("shorter than an ELF64 header"), std::string::npos);
}

TEST_F(ObjectBadInput, WrongIdentityIsNamed) {
  expect_error([](ElfEditor& e) { e.bytes()[1] = 'X'; }, {"magic"});
  expect_error([](ElfEditor& e) { e.bytes()[EI_CLASS] = ELFCLASS32; }, {"64-bit"});
  expect_error([](ElfEditor& e) { e.bytes()[EI_DATA] = ELFDATA2MSB; }, {"little-endian"});
  expect_error(
      [](ElfEditor& e) {
        Elf64_Ehdr header = e.header();
        header.e_machine = EM_X86_64;
        e.set_header(header);
      },
      {"machine is 62", "EM_BPF"});
  expect_error(
      [](ElfEditor& e) {
        Elf64_Ehdr header = e.header();
        header.e_type = ET_EXEC;
        e.set_header(header);
      },
      {"relocatable"});
}

TEST_F(ObjectBadInput, BrokenSectionTableIsNamed) {
  expect_error(
      [](ElfEditor& e) {
        Elf64_Ehdr header = e.header();
        header.e_shstrndx = 200;
        e.set_header(header);
      },
      {"section name table"});
  expect_error(
      [&](ElfEditor& e) {
        Elf64_Ehdr header = e.header();
        header.e_shoff = original_.size() + 4096;
        e.set_header(header);
      },
      {"invalid ELF"});
  const size_t file_size = original_.size();
  expect_error([&](ElfEditor& e) { edit_section(e, "xdp", [&](Elf64_Shdr& s) {
                                     s.sh_offset = file_size + 100; }); },
               {"section 'xdp'", "beyond"});
  expect_error([](ElfEditor& e) { edit_section(e, "xdp", [](Elf64_Shdr& s) { s.sh_size -= 4; }); },
               {"section 'xdp'", "not a multiple"});
  expect_error([](ElfEditor& e) { edit_section(e, ".symtab", [](Elf64_Shdr& s) { s.sh_link = 0; }); },
               {"string table"});
  expect_error([](ElfEditor& e) { edit_section(e, ".relxdp", [](Elf64_Shdr& s) { s.sh_info = 999; }); },
               {".relxdp", "999", "out of range"});
  expect_error([](ElfEditor& e) { edit_section(e, ".bss", [](Elf64_Shdr& s) { s.sh_size = 1ull << 40; }); },
               {"'.bss'", "too large"});
}

TEST_F(ObjectBadInput, BrokenSymbolsAreNamed) {
  expect_error([](ElfEditor& e) { edit_symbol(e, "timer_hash", [](Elf64_Sym& s) { s.st_shndx = 500; }); },
               {"'timer_hash'", "section 500", "out of range"});
  expect_error([](ElfEditor& e) { edit_symbol(e, "data_counter", [](Elf64_Sym& s) { s.st_name = 0xffffff; }); },
               {"name offset"});
  expect_error([](ElfEditor& e) { edit_symbol(e, "use_maps", [](Elf64_Sym& s) { s.st_size = 0x10000; }); },
               {"function 'use_maps'", "does not fit section 'xdp'"});
  expect_error([](ElfEditor& e) { edit_symbol(e, "use_maps", [](Elf64_Sym& s) { s.st_value = 12; }); },
               {"function 'use_maps'"});
}

TEST_F(ObjectBadInput, BrokenCodeRelocationsNameSectionInstructionTypeAndSymbol) {
  // .relxdp entry 0 patches `r1 = timer_hash ll`, instruction 7 of section xdp.
  ASSERT_EQ(ElfEditor(original_).rel(".relxdp", 0).r_offset, 7u * 8);
  expect_error([](ElfEditor& e) { edit_rel(e, ".relxdp", 0, [](Elf64_Rel& r) {
                                    r.r_info = ELF64_R_INFO(ELF64_R_SYM(r.r_info), 3); }); },
               {"section 'xdp': instruction 7: relocation type 3 against 'timer_hash' is not "
                "supported"});
  expect_error([](ElfEditor& e) { edit_rel(e, ".relxdp", 0, [](Elf64_Rel& r) {
                                    r.r_info = ELF64_R_INFO(9999, 1); }); },
               {".relxdp", "symbol 9999", "out of range"});
  expect_error([](ElfEditor& e) { edit_rel(e, ".relxdp", 0, [](Elf64_Rel& r) { r.r_offset = 0x100000; }); },
               {"outside section 'xdp'"});
  expect_error([](ElfEditor& e) { edit_rel(e, ".relxdp", 0, [](Elf64_Rel& r) { r.r_offset += 1; }); },
               {"section 'xdp': instruction 7", "instruction boundary"});
  expect_error([](ElfEditor& e) { edit_rel(e, ".relxdp", 0, [](Elf64_Rel& r) { r.r_offset += 8; }); },
               {"section 'xdp': instruction 8", "cannot patch"});
  expect_error(
      [](ElfEditor& e) {
        const size_t undefined = e.symbol_index("bpf_wq_init");
        edit_rel(e, ".relxdp", 0, [&](Elf64_Rel& r) { r.r_info = ELF64_R_INFO(undefined, 1); });
      },
      {"section 'xdp': instruction 7", "extern variable 'bpf_wq_init'"});
  expect_error(
      [](ElfEditor& e) {
        const size_t debug = e.section_symbol(".debug_abbrev");
        edit_rel(e, ".relxdp", 0, [&](Elf64_Rel& r) { r.r_info = ELF64_R_INFO(debug, 1); });
      },
      {"section 'xdp': instruction 7", "'.debug_abbrev'", "neither a map nor global data"});
  // A call to an undefined symbol that is neither weak nor a .ksyms kfunc.
  expect_error(
      [](ElfEditor& e) {
        const uint32_t other_name = e.symbol(e.symbol_index("tail_target")).st_name;
        edit_symbol(e, "bpf_wq_init", [&](Elf64_Sym& s) {
          s.st_name = other_name;
          s.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE);
        });
      },
      {"section 'syscall': instruction", "undefined function 'tail_target'"});
}

TEST_F(ObjectBadInput, BrokenMapInitialisersAreNamed) {
  // .rel.maps entries: outer slot 1 -> inner_b, jump_table slot 2 -> tail_target, ...
  auto entry = [](ElfEditor& e, const char* symbol) { return e.rel_entry_for(".rel.maps", symbol); };
  expect_error(
      [&](ElfEditor& e) {
        const size_t data = e.symbol_index("data_counter");
        edit_rel(e, ".rel.maps", entry(e, "inner_b"),
                 [&](Elf64_Rel& r) { r.r_info = ELF64_R_INFO(data, 2); });
      },
      {"map 'outer'", "'data_counter' is not a map"});
  expect_error(
      [&](ElfEditor& e) {
        edit_rel(e, ".rel.maps", entry(e, "inner_b"), [](Elf64_Rel& r) { r.r_offset = 0; });
      },
      {"not inside its 'values' initialiser"});
  expect_error(
      [&](ElfEditor& e) {
        const size_t callback = e.symbol_index("timer_fired");
        edit_rel(e, ".rel.maps", entry(e, "tail_target"),
                 [&](Elf64_Rel& r) { r.r_info = ELF64_R_INFO(callback, 2); });
      },
      {"map 'jump_table'", "'timer_fired' is not an entry-point program"});
  expect_error(
      [&](ElfEditor& e) {
        edit_rel(e, ".rel.maps", entry(e, "inner_b"), [](Elf64_Rel& r) {
          r.r_info = ELF64_R_INFO(ELF64_R_SYM(r.r_info), 7);
        });
      },
      {"relocation type 7 against 'inner_b' is not supported"});
}

TEST_F(ObjectBadInput, BrokenBtfIsNamed) {
  expect_error(
      [](ElfEditor& e) {
        const Elf64_Shdr btf = e.section(e.section_index(".BTF"));
        e.bytes()[btf.sh_offset] ^= 0xff;  // magic
      },
      {"BTF", "fails to parse"});
  expect_error([](ElfEditor& e) { edit_section(e, ".BTF", [](Elf64_Shdr& s) { s.sh_size = 30; }); },
               {"BTF"});
  expect_error(
      [](ElfEditor& e) {
        const Elf64_Shdr ext = e.section(e.section_index(".BTF.ext"));
        e.bytes()[ext.sh_offset] ^= 0xff;
      },
      {".BTF.ext"});
  // Without .BTF (renamed away) the BTF-defined maps cannot be read.
  expect_error(
      [](ElfEditor& e) {
        const uint32_t other_name = e.section(e.section_index(".debug_str")).sh_name;
        edit_section(e, ".BTF", [&](Elf64_Shdr& s) { s.sh_name = other_name; });
      },
      {"'.maps' needs BTF"});
}

TEST_F(ObjectBadInput, LegacyMapsSectionIsRefused) {
  // ".maps" renamed to "maps" (the same string, one byte in): libbpf's removed legacy form.
  expect_error([](ElfEditor& e) { edit_section(e, ".maps", [](Elf64_Shdr& s) { s.sh_name += 1; }); },
               {"legacy 'maps' section"});
}

// Random byte corruption in the structural parts of the file: any outcome but a crash (or an
// error without a message) is acceptable; the sanitizer builds make this a real check.
TEST_F(ObjectBadInput, RandomCorruptionNeverCrashes) {
  ElfEditor pristine(original_);
  std::vector<std::pair<uint64_t, uint64_t>> regions;  // [offset, size) of interesting bytes
  const Elf64_Ehdr header = pristine.header();
  regions.emplace_back(0, sizeof(Elf64_Ehdr));
  regions.emplace_back(header.e_shoff, uint64_t{header.e_shnum} * sizeof(Elf64_Shdr));
  for (const char* name : {".symtab", ".relxdp", ".relsyscall", ".rel.maps", ".BTF", ".BTF.ext",
                           "xdp", ".maps"}) {
    const Elf64_Shdr shdr = pristine.section(pristine.section_index(name));
    regions.emplace_back(shdr.sh_offset, shdr.sh_size);
  }
  std::mt19937 random(20261125);
  int failures = 0;
  for (int round = 0; round < 1500; ++round) {
    std::vector<uint8_t> bytes = original_;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      const auto& [offset, size] = regions[random() % regions.size()];
      bytes[offset + random() % size] = static_cast<uint8_t>(random());
    }
    Result<ObjectSpec> spec = parse(bytes);
    if (!spec.ok()) {
      ++failures;
      EXPECT_FALSE(spec.error().message.empty());
    }
  }
  EXPECT_GT(failures, 0);  // the corruption does reach the parser
}

}  // namespace
}  // namespace hourglass::object::testing
