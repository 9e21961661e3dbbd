// Relocations of executable sections and program linking: every relocation is resolved once to
// a map, a global data offset, a code location or a kfunc; then each program's image is built
// from its entry function with the subprograms it reaches appended (transitively, each once),
// and every call / function pointer rewritten relative to the image, as libbpf does before
// BPF_PROG_LOAD.
#include <bpf/btf.h>

#include <algorithm>
#include <cstring>

#include "object/object_internal.h"

namespace hourglass::object::detail {
namespace {

using isa::Insn;

Insn read_insn(const ElfSection& section, uint64_t index) {
  Insn insn;
  std::memcpy(&insn, section.data + index * sizeof(Insn), sizeof(Insn));
  return insn;
}

bool is_bpf_call(const Insn& insn) {
  return insn.opcode == isa::kOpCall && insn.src == isa::kPseudoCall;
}

std::string reloc_subject(const ElfRelocation& relocation, const ElfSymbol& symbol) {
  return "relocation type " + std::to_string(relocation.type) + " against '" + symbol.name + "'";
}

// The BTF id of `name` if a `.ksyms` DATASEC lists it (kfunc or ksym variable), else 0.
uint32_t ksyms_entry(const struct btf* btf, const std::string& name) {
  if (btf == nullptr) return 0;
  const int datasec_id = btf__find_by_name_kind(btf, ".ksyms", BTF_KIND_DATASEC);
  if (datasec_id <= 0) return 0;
  const btf_type* datasec = btf__type_by_id(btf, datasec_id);
  const btf_var_secinfo* vars = btf_var_secinfos(datasec);
  for (uint16_t i = 0; i < btf_vlen(datasec); ++i) {
    const btf_type* entry = btf__type_by_id(btf, vars[i].type);
    const char* entry_name = entry != nullptr ? btf__name_by_offset(btf, entry->name_off) : nullptr;
    if (entry_name != nullptr && name == entry_name) return vars[i].type;
  }
  return 0;
}

Result<ResolvedReloc> resolve_kfunc(ParseContext& ctx, const ElfSection& section,
                                    uint64_t insn_index, const ElfSymbol& symbol) {
  uint32_t btf_id = ksyms_entry(ctx.btf, symbol.name);
  if (btf_id == 0 && symbol.bind != STB_WEAK) {
    return insn_error(section, insn_index, "call to undefined function '" + symbol.name +
                                               "' (kfuncs are declared extern __ksym)");
  }
  if (btf_id != 0 && !btf_is_func(btf__type_by_id(ctx.btf, btf_id))) {
    return insn_error(section, insn_index, "call to '" + symbol.name + "', which is not a function");
  }
  if (btf_id == 0 && ctx.btf != nullptr) {
    const int found = btf__find_by_name_kind(ctx.btf, symbol.name.c_str(), BTF_KIND_FUNC);
    btf_id = found > 0 ? static_cast<uint32_t>(found) : 0;
  }
  auto& kfuncs = ctx.spec.kfuncs;
  auto it = std::find_if(kfuncs.begin(), kfuncs.end(),
                         [&](const KfuncSpec& kfunc) { return kfunc.name == symbol.name; });
  if (it == kfuncs.end()) it = kfuncs.insert(kfuncs.end(), KfuncSpec{symbol.name, btf_id});
  ResolvedReloc resolved;
  resolved.kind = ResolvedReloc::Kind::Kfunc;
  resolved.index = static_cast<uint32_t>(it - kfuncs.begin());
  return resolved;
}

// ld_imm64 against a defined symbol: a map, global data, or a function address.
Result<ResolvedReloc> resolve_ld_imm64(ParseContext& ctx, const ElfSection& section,
                                       uint64_t insn_index, const ElfSymbol& symbol) {
  ResolvedReloc resolved;
  const ElfSection& target = ctx.elf.sections[symbol.shndx];
  if (target.executable()) {
    if (symbol.type != STT_FUNC && symbol.type != STT_SECTION) {
      return insn_error(section, insn_index, "code reference to '" + symbol.name +
                                                 "', which is not a function");
    }
    resolved.kind = ResolvedReloc::Kind::Code;
    resolved.target_section = symbol.shndx;
    resolved.symbol_value = symbol.value;
    return resolved;
  }
  if (symbol.shndx == ctx.maps_section && symbol.shndx != 0) {
    if (symbol.type == STT_SECTION) {
      return insn_error(section, insn_index, "reference to section '.maps' itself; maps are "
                                             "referenced through their own symbols");
    }
    auto it = ctx.map_at_maps_offset.find(symbol.value);
    if (it == ctx.map_at_maps_offset.end()) {
      return insn_error(section, insn_index, "reference to '" + symbol.name +
                                                 "', which is not a map defined in '.maps'");
    }
    resolved.kind = ResolvedReloc::Kind::Map;
    resolved.index = it->second;
    return resolved;
  }
  auto data = ctx.map_of_data_section.find(symbol.shndx);
  if (data == ctx.map_of_data_section.end()) {
    return insn_error(section, insn_index, "reference to '" + symbol.name + "' in section '" +
                                               target.name +
                                               "', which is neither a map nor global data");
  }
  if (symbol.value > target.size) {
    return insn_error(section, insn_index, "symbol '" + symbol.name + "' lies outside '" +
                                               target.name + "'");
  }
  resolved.kind = ResolvedReloc::Kind::Data;
  resolved.index = data->second;
  resolved.symbol_value = symbol.value;
  return resolved;
}

Result<ResolvedReloc> resolve_one(ParseContext& ctx, const ElfSection& section,
                                  const ElfRelocation& relocation) {
  const ElfSymbol& symbol = ctx.elf.symbols[relocation.symbol];
  const uint64_t insn_index = relocation.offset / sizeof(Insn);
  if (relocation.offset % sizeof(Insn) != 0) {
    return insn_error(section, insn_index, reloc_subject(relocation, symbol) + " at byte offset " +
                                               std::to_string(relocation.offset) +
                                               " is not on an instruction boundary");
  }
  const Insn insn = read_insn(section, insn_index);
  if (symbol.shndx >= SHN_LORESERVE) {
    return insn_error(section, insn_index, reloc_subject(relocation, symbol) +
                                               ": symbol is in special section " +
                                               std::to_string(symbol.shndx) +
                                               " (common symbols need -fno-common)");
  }
  if (relocation.type == kRelBpf64_32 && is_bpf_call(insn)) {
    if (symbol.undefined()) return resolve_kfunc(ctx, section, insn_index, symbol);
    if (!ctx.elf.sections[symbol.shndx].executable()) {
      return insn_error(section, insn_index, "call to '" + symbol.name +
                                                 "', which is not in an executable section");
    }
    ResolvedReloc resolved;
    resolved.kind = ResolvedReloc::Kind::Code;
    resolved.target_section = symbol.shndx;
    resolved.symbol_value = symbol.value;
    return resolved;
  }
  if (relocation.type == kRelBpf64_64 && isa::is_ld_imm64(insn)) {
    if ((insn_index + 2) * sizeof(Insn) > section.size) {
      return insn_error(section, insn_index, "ld_imm64 is missing its second half");
    }
    if (symbol.undefined()) {
      auto kconfig = ctx.kconfig_offset.find(symbol.name);
      if (kconfig == ctx.kconfig_offset.end()) {
        return insn_error(section, insn_index, "extern variable '" + symbol.name +
                                                   "' (__ksym variables) is not supported");
      }
      ResolvedReloc resolved;
      resolved.kind = ResolvedReloc::Kind::Data;
      resolved.index = static_cast<uint32_t>(ctx.kconfig_map);
      resolved.symbol_value = kconfig->second;
      return resolved;
    }
    return resolve_ld_imm64(ctx, section, insn_index, symbol);
  }
  if (relocation.type == kRelBpf64_64 || relocation.type == kRelBpf64_32) {
    return insn_error(section, insn_index, reloc_subject(relocation, symbol) +
                                               " is on an instruction it cannot patch (opcode " +
                                               std::to_string(insn.opcode) + ")");
  }
  return insn_error(section, insn_index, reloc_subject(relocation, symbol) + " is not supported");
}

// ---- linking ----

struct Placed {
  const Function* function;
  uint32_t image_start;
};

class ProgramLinker {
 public:
  ProgramLinker(const ParseContext& ctx, const Function& entry) : ctx_(ctx) { place(entry); }

  Status link() {
    for (size_t p = 0; p < placed_.size(); ++p) {  // placed_ grows while we walk it
      if (Status s = relocate_function(placed_[p]); !s) return s;
    }
    return {};
  }
  std::vector<Insn>& image() { return image_; }
  const std::vector<Placed>& placed() const { return placed_; }

 private:
  uint32_t place(const Function& function) {
    for (const Placed& p : placed_) {
      if (p.function == &function) return p.image_start;
    }
    const ElfSection& section = ctx_.elf.sections[function.section];
    const uint32_t start = static_cast<uint32_t>(image_.size());
    for (uint32_t i = 0; i < function.insn_count; ++i) {
      image_.push_back(read_insn(section, function.first_insn + i));
    }
    placed_.push_back(Placed{&function, start});
    return start;
  }

  // Image index of code at (section, insn), appending its function if it is not placed yet.
  Result<uint32_t> image_index_of(const ElfSection& from, uint32_t from_insn, size_t section,
                                  int64_t insn) {
    const Function* target = insn < 0 || insn > UINT32_MAX
                                 ? nullptr
                                 : ctx_.function_at(section, static_cast<uint32_t>(insn));
    if (target == nullptr) {
      return insn_error(from, from_insn, "call or function reference to instruction " +
                                             std::to_string(insn) + " of section '" +
                                             ctx_.elf.sections[section].name +
                                             "', which is inside no function");
    }
    if (target->section != placed_.front().function->section &&
        ctx_.elf.sections[target->section].name != ".text") {
      return insn_error(from, from_insn, "call into program section '" +
                                             ctx_.elf.sections[target->section].name +
                                             "' from another section is not supported");
    }
    return place(*target) + static_cast<uint32_t>(insn - target->first_insn);
  }

  Status relocate_function(Placed placed) {
    const Function& function = *placed.function;
    const ElfSection& section = ctx_.elf.sections[function.section];
    auto section_relocs = ctx_.relocs.find(function.section);
    for (uint32_t k = 0; k < function.insn_count; ++k) {
      const uint32_t section_insn = function.first_insn + k;
      const uint32_t at = placed.image_start + k;
      const bool wide = isa::is_ld_imm64(image_[at]);
      if (wide && k + 1 >= function.insn_count) {
        return insn_error(section, section_insn, "ld_imm64 is missing its second half");
      }
      const ResolvedReloc* reloc = nullptr;
      if (section_relocs != ctx_.relocs.end()) {
        auto it = section_relocs->second.find(section_insn);
        if (it != section_relocs->second.end()) reloc = &it->second;
      }
      if (Status s = patch(section, section_insn, at, reloc); !s) return s;
      if (wide) ++k;
    }
    return {};
  }

  Status patch(const ElfSection& section, uint32_t section_insn, uint32_t at,
               const ResolvedReloc* reloc) {
    if (reloc == nullptr) {
      // A call to a static function of the same section carries no relocation: its imm is
      // already relative to the section.
      if (!is_bpf_call(image_[at])) return {};
      return retarget(section, section_insn, at, section.index,
                      int64_t{section_insn} + image_[at].imm + 1);
    }
    Insn& insn = image_[at];
    switch (reloc->kind) {
      case ResolvedReloc::Kind::Map:
        insn.src = isa::kPseudoMapFd;
        insn.imm = static_cast<int32_t>(reloc->index);
        return {};
      case ResolvedReloc::Kind::Data:
        image_[at + 1].imm = static_cast<int32_t>(insn.imm + reloc->symbol_value);
        insn.src = isa::kPseudoMapValue;
        insn.imm = static_cast<int32_t>(reloc->index);
        return {};
      case ResolvedReloc::Kind::Kfunc:
        insn.src = isa::kPseudoKfuncCall;
        insn.imm = static_cast<int32_t>(reloc->index);
        return {};
      case ResolvedReloc::Kind::Code: {
        // Global functions: symbol at the function, call imm = -1. Static ones: section symbol,
        // imm (calls: in instructions minus one; ld_imm64: in bytes) locates the function.
        const int64_t symbol_insn = static_cast<int64_t>(reloc->symbol_value / sizeof(Insn));
        if (is_bpf_call(insn)) {
          return retarget(section, section_insn, at, reloc->target_section,
                          symbol_insn + insn.imm + 1);
        }
        if (insn.imm % static_cast<int32_t>(sizeof(Insn)) != 0 ||
            reloc->symbol_value % sizeof(Insn) != 0) {
          return insn_error(section, section_insn, "function reference is not on an instruction");
        }
        return retarget(section, section_insn, at, reloc->target_section,
                        symbol_insn + insn.imm / static_cast<int32_t>(sizeof(Insn)));
      }
    }
    return {};
  }

  Status retarget(const ElfSection& section, uint32_t section_insn, uint32_t at,
                  size_t target_section, int64_t target_insn) {
    Result<uint32_t> target = image_index_of(section, section_insn, target_section, target_insn);
    if (!target) return target.take_error();
    Insn& insn = image_[at];  // after place(): image_ may have grown
    insn.imm = static_cast<int32_t>(int64_t{*target} - (int64_t{at} + 1));
    if (isa::is_ld_imm64(insn)) {
      insn.src = isa::kPseudoFunc;
      image_[at + 1].imm = 0;
    } else {
      insn.src = isa::kPseudoCall;
    }
    return {};
  }

  const ParseContext& ctx_;
  std::vector<Insn> image_;
  std::vector<Placed> placed_;  // [0] is the entry function
};

std::string btf_string(const struct btf* btf, uint32_t offset) {
  if (btf == nullptr) return {};
  const char* text = btf__name_by_offset(btf, offset);
  return text != nullptr ? text : "";
}

void attach_debug_info(const ParseContext& ctx, const BtfExtInfo& ext,
                       const std::vector<Placed>& placed, ProgramSpec& program) {
  for (const Placed& p : placed) {
    const Function& function = *p.function;
    const std::string& section_name = ctx.elf.sections[function.section].name;
    auto in_function = [&](uint32_t insn) {
      return insn >= function.first_insn && insn - function.first_insn < function.insn_count;
    };
    if (auto funcs = ext.funcs.find(section_name); funcs != ext.funcs.end()) {
      for (const auto& [insn, type_id] : funcs->second) {
        if (!in_function(insn)) continue;
        const btf_type* type = btf__type_by_id(ctx.btf, type_id);
        program.func_info.push_back(
            FuncInfo{p.image_start + (insn - function.first_insn), type_id,
                     type != nullptr ? btf_string(ctx.btf, type->name_off) : ""});
      }
    }
    if (auto lines = ext.lines.find(section_name); lines != ext.lines.end()) {
      for (const BtfExtInfo::Line& line : lines->second) {
        if (!in_function(line.insn)) continue;
        program.line_info.push_back(LineInfo{p.image_start + (line.insn - function.first_insn),
                                             btf_string(ctx.btf, line.file_name_off),
                                             btf_string(ctx.btf, line.line_off),
                                             line.line_col >> 10, line.line_col & 0x3ff});
      }
    }
  }
  std::stable_sort(program.func_info.begin(), program.func_info.end(),
                   [](const FuncInfo& a, const FuncInfo& b) { return a.insn_index < b.insn_index; });
  std::stable_sort(program.line_info.begin(), program.line_info.end(),
                   [](const LineInfo& a, const LineInfo& b) { return a.insn_index < b.insn_index; });
}

}  // namespace

Status resolve_relocations(ParseContext& ctx) {
  for (const ElfSection& rel_section : ctx.elf.sections) {
    if (rel_section.type == SHT_RELA) {
      return make_error(ENOTSUP, "RELA section '" + rel_section.name + "' is not supported");
    }
    if (rel_section.type != SHT_REL) continue;
    if (rel_section.info == 0 || rel_section.info >= ctx.elf.sections.size()) {
      return make_error(EINVAL, "relocation section '" + rel_section.name +
                                    "' targets section " + std::to_string(rel_section.info) +
                                    ", out of range");
    }
    // Like libbpf, only code relocations matter here; .maps has its own pass and the ones of
    // .BTF, .BTF.ext, debug info and data sections are not needed.
    const ElfSection& section = ctx.elf.sections[rel_section.info];
    if (!section.executable()) continue;
    Result<std::vector<ElfRelocation>> relocations = ctx.elf.relocations(rel_section);
    if (!relocations) return relocations.take_error();
    auto& resolved_here = ctx.relocs[section.index];
    for (const ElfRelocation& relocation : *relocations) {
      Result<ResolvedReloc> resolved = resolve_one(ctx, section, relocation);
      if (!resolved) return resolved.take_error();
      resolved_here[static_cast<uint32_t>(relocation.offset / sizeof(Insn))] = *resolved;
    }
  }
  return {};
}

Status link_programs(ParseContext& ctx) {
  Result<BtfExtInfo> ext = read_btf_ext(ctx);
  if (!ext) return ext.take_error();
  for (const Function& function : ctx.functions) {
    if (function.program_index < 0) continue;
    ProgramLinker linker(ctx, function);
    if (Status s = linker.link(); !s) return s;
    ProgramSpec& program = ctx.spec.programs[function.program_index];
    program.insns = std::move(linker.image());
    attach_debug_info(ctx, *ext, linker.placed(), program);
  }
  return {};
}

}  // namespace hourglass::object::detail
