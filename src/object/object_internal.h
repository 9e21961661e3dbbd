// Internal to object/: the state one parse_object() call threads through its stages
// (ELF view -> functions -> maps -> relocations -> linked programs). Single-threaded: one
// ParseContext belongs to one call and dies with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "object/elf_view.h"
#include "object/object.h"

namespace hourglass::object::detail {

// A function of an executable section, from its FUNC symbol. Programs are the global functions
// of sections other than .text; everything else is a subprogram appended on use.
struct Function {
  size_t section = 0;
  uint32_t first_insn = 0;  // index inside the section
  uint32_t insn_count = 0;
  std::string name;
  int program_index = -1;   // index in ObjectSpec::programs, -1 for subprograms
};

// What a relocated instruction refers to, resolved once per relocation.
struct ResolvedReloc {
  enum class Kind { Map, Data, Code, Kfunc } kind = Kind::Map;
  uint32_t index = 0;         // map index (Map, Data) or kfunc index (Kfunc)
  uint64_t symbol_value = 0;  // Data: offset added to the insn imm; Code: symbol byte offset
  size_t target_section = 0;  // Code: section holding the target function
};

struct ParseContext {
  ParseContext(const ElfView& elf_view, struct btf* parsed_btf, ObjectSpec& out)
      : elf(elf_view), btf(parsed_btf), spec(out) {}

  const ElfView& elf;
  struct btf* btf = nullptr;  // owned by spec.btf; null when the object has no .BTF
  ObjectSpec& spec;
  std::vector<Function> functions;  // sorted by (section, first_insn)
  size_t maps_section = 0;          // index of ".maps", 0 if absent
  std::map<uint64_t, uint32_t> map_at_maps_offset;  // .maps symbol offset -> map index
  std::unordered_map<uint32_t, uint32_t> values_offset;  // map index -> `values` member offset
  std::vector<std::pair<uint32_t, MapSpec>> pending_inner;  // (outer index, inner template)
  int kconfig_map = -1;                                       // ".kconfig" map index, if any
  std::unordered_map<std::string, uint64_t> kconfig_offset;  // extern name -> offset in it
  std::unordered_map<size_t, uint32_t> map_of_data_section;  // section index -> map index
  // Per executable section: instruction index -> what its relocation resolved to.
  std::unordered_map<size_t, std::unordered_map<uint32_t, ResolvedReloc>> relocs;

  const Function* function_at(size_t section, uint32_t insn) const;  // containing insn
};

// Error in the brief's wording: "section 'xdp': instruction 7: <what>".
Error insn_error(const ElfSection& section, uint64_t insn_index, const std::string& what);

// btf_maps.cpp: BTF-defined maps of ".maps", then global data sections, then the inner map
// templates (so real maps keep libbpf's order and indices), then the static initialisers of
// map-in-map and prog_array maps (".rel.maps").
Status collect_btf_maps(ParseContext& ctx);
Status collect_data_maps(ParseContext& ctx);
// Gives global-data DATASECs their section size and variable offsets (btf_fixup.cpp).
Status fixup_datasecs(ParseContext& ctx);
Status append_inner_templates(ParseContext& ctx);

// kconfig.cpp: the ".kconfig" map of __kconfig externs (after the data sections, like libbpf).
Status collect_kconfig_map(ParseContext& ctx);
Status collect_map_initialisers(ParseContext& ctx);

// relocate.cpp: resolves the relocations of every executable section, then builds each
// program's instructions with its subprograms appended.
Status resolve_relocations(ParseContext& ctx);
Status link_programs(ParseContext& ctx);

// btf_ext.cpp: func_info and line_info records of .BTF.ext, by section name, instruction
// indices (not bytes) inside the section.
struct BtfExtInfo {
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> funcs;  // insn, type
  struct Line {
    uint32_t insn;
    uint32_t file_name_off;
    uint32_t line_off;
    uint32_t line_col;
  };
  std::unordered_map<std::string, std::vector<Line>> lines;
};
Result<BtfExtInfo> read_btf_ext(const ParseContext& ctx);

}  // namespace hourglass::object::detail
