// parse_object(): the stages in order -- ELF view, license, BTF, functions and programs, maps,
// map initialisers, relocations, linked programs with their debug info. Each stage reads what
// earlier ones produced through the ParseContext (object_internal.h).
#include "object/object.h"

#include <bpf/btf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "object/object_internal.h"
#include "object/program_sections.h"

namespace hourglass::object {

BtfHandle::~BtfHandle() { btf__free(btf); }

namespace detail {

const Function* ParseContext::function_at(size_t section, uint32_t insn) const {
  // functions is sorted by (section, first_insn) and free of overlaps: the candidate is the
  // last function starting at or before insn.
  auto after = std::upper_bound(functions.begin(), functions.end(), std::make_pair(section, insn),
                                [](const std::pair<size_t, uint32_t>& key, const Function& f) {
                                  return key.first != f.section ? key.first < f.section
                                                                : key.second < f.first_insn;
                                });
  if (after == functions.begin()) return nullptr;
  const Function& candidate = *std::prev(after);
  if (candidate.section != section || insn - candidate.first_insn >= candidate.insn_count) {
    return nullptr;
  }
  return &candidate;
}

Error insn_error(const ElfSection& section, uint64_t insn_index, const std::string& what) {
  return make_error(EINVAL, "section '" + section.name + "': instruction " +
                                std::to_string(insn_index) + ": " + what);
}

namespace {

Status check_code_sections(const ElfView& elf) {
  for (const ElfSection& section : elf.sections) {
    if (section.executable() && section.size % sizeof(isa::Insn) != 0) {
      return make_error(EINVAL, "section '" + section.name + "': size " +
                                    std::to_string(section.size) +
                                    " is not a multiple of the 8-byte instruction size");
    }
  }
  return {};
}

std::string read_license(const ElfView& elf) {
  const ElfSection* section = elf.find_section("license");
  if (section == nullptr || section->data == nullptr) return {};
  const char* text = reinterpret_cast<const char*>(section->data);
  return std::string(text, strnlen(text, section->size));
}

Result<std::shared_ptr<BtfHandle>> read_btf(const ElfView& elf) {
  const ElfSection* section = elf.find_section(".BTF");
  if (section == nullptr) return std::shared_ptr<BtfHandle>();
  if (section->data == nullptr || section->size > UINT32_MAX) {
    return make_error(EINVAL, "section '.BTF' is empty or too large");
  }
  errno = 0;
  struct btf* btf = btf__new(section->data, static_cast<uint32_t>(section->size));
  if (btf == nullptr) {
    const int code = errno != 0 ? errno : EINVAL;
    return make_error(code, std::string("BTF in '.BTF' fails to parse: ") + std::strerror(code));
  }
  return std::make_shared<BtfHandle>(btf);
}

bool is_subprogram_section(const std::string& name) {
  return name == ".text" || name.rfind(".text.", 0) == 0;
}

// Functions from FUNC symbols; global functions outside .text become programs (libbpf's rule).
Status collect_functions(ParseContext& ctx) {
  for (const ElfSymbol& symbol : ctx.elf.symbols) {
    if (symbol.index == 0 || symbol.type != STT_FUNC || symbol.undefined()) continue;
    if (symbol.shndx >= ctx.elf.sections.size()) {
      return make_error(EINVAL, "function '" + symbol.name + "' is in special section " +
                                    std::to_string(symbol.shndx));
    }
    const ElfSection& section = ctx.elf.sections[symbol.shndx];
    if (!section.executable()) {
      return make_error(EINVAL, "function '" + symbol.name + "' is in section '" + section.name +
                                    "', which is not executable");
    }
    if (symbol.value % 8 != 0 || symbol.size % 8 != 0 || symbol.size == 0 ||
        symbol.value > section.size || symbol.size > section.size - symbol.value) {
      return make_error(EINVAL, "function '" + symbol.name + "' (offset " +
                                    std::to_string(symbol.value) + ", size " +
                                    std::to_string(symbol.size) + ") does not fit section '" +
                                    section.name + "' (" + std::to_string(section.size) +
                                    " bytes) in whole instructions");
    }
    Function function;
    function.section = section.index;
    function.first_insn = static_cast<uint32_t>(symbol.value / 8);
    function.insn_count = static_cast<uint32_t>(symbol.size / 8);
    function.name = symbol.name;
    if (!is_subprogram_section(section.name) && symbol.bind != STB_LOCAL) {
      function.program_index = 0;  // numbered below, once sorted
    }
    ctx.functions.push_back(std::move(function));
  }
  std::sort(ctx.functions.begin(), ctx.functions.end(), [](const Function& a, const Function& b) {
    return a.section != b.section ? a.section < b.section : a.first_insn < b.first_insn;
  });
  for (size_t i = 1; i < ctx.functions.size(); ++i) {
    const Function& previous = ctx.functions[i - 1];
    const Function& current = ctx.functions[i];
    if (previous.section == current.section &&
        previous.first_insn + previous.insn_count > current.first_insn) {
      return make_error(EINVAL, "section '" + ctx.elf.sections[current.section].name +
                                    "': functions '" + previous.name + "' and '" + current.name +
                                    "' overlap");
    }
  }
  for (Function& function : ctx.functions) {
    if (function.program_index < 0) continue;
    const std::string& section = ctx.elf.sections[function.section].name;
    function.program_index = static_cast<int>(ctx.spec.programs.size());
    ProgramSpec program;
    program.name = function.name;
    program.section = section;
    program.type = prog_type_from_section(section);
    program.attach_target = section_attach_target(section);
    program.sleepable = section_is_sleepable(section);
    ctx.spec.programs.push_back(std::move(program));
  }
  return {};
}

}  // namespace
}  // namespace detail

Result<ObjectSpec> parse_object(const uint8_t* data, size_t size, std::string path) {
  using namespace detail;
  std::vector<uint8_t> bytes(data, data + size);  // libelf wants a mutable buffer
  auto with_path = [&](Error error) {
    error.message = path + ": " + error.message;
    return error;
  };
  Result<ElfView> elf = open_elf(bytes);
  if (!elf) return with_path(elf.take_error());
  ObjectSpec spec;
  spec.path = path;
  if (Status s = check_code_sections(*elf); !s) return with_path(s.take_error());
  spec.license = read_license(*elf);
  Result<std::shared_ptr<BtfHandle>> btf = read_btf(*elf);
  if (!btf) return with_path(btf.take_error());
  spec.btf = std::move(*btf);

  ParseContext ctx(*elf, spec.btf != nullptr ? spec.btf->btf : nullptr, spec);
  for (Status (*stage)(ParseContext&) :
       {fixup_datasecs, collect_functions, collect_btf_maps, collect_data_maps,
        collect_kconfig_map, append_inner_templates, collect_map_initialisers,
        resolve_relocations, link_programs}) {
    if (Status s = stage(ctx); !s) return with_path(s.take_error());
  }
  return spec;
}

Result<ObjectSpec> parse_object_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return make_error(ENOENT, path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  if (file.bad()) return make_error(EIO, path + ": read error");
  return parse_object(bytes.data(), bytes.size(), path);
}

}  // namespace hourglass::object
