// __kconfig externs: like libbpf, every extern variable listed in the BTF DATASEC ".kconfig"
// gets a slot in one read-only ".kconfig" map, and ld_imm64 references to it become
// BPF_PSEUDO_MAP_VALUE loads from that slot. A userspace runtime has no kernel config: the
// values are the ones of the kernel whose semantics we follow (Linux 6.18), and any other
// extern must be __weak (it reads as zero, as libbpf does for missing weak externs).
#include <bpf/btf.h>

#include <algorithm>

#include "object/object_internal.h"

namespace hourglass::object::detail {
namespace {

constexpr uint32_t kLinuxKernelVersion = (6u << 16) | (18u << 8);  // KERNEL_VERSION(6, 18, 0)

struct KnownValue {
  const char* name;
  uint64_t value;
};
constexpr KnownValue kKnownValues[] = {
    {"LINUX_KERNEL_VERSION", kLinuxKernelVersion},
    {"LINUX_HAS_BPF_COOKIE", 1},
};

// The kinds a kconfig extern may have (libbpf: bool, char, tristate, integers, char arrays),
// through typedefs and qualifiers. Checked before btf__align_of, which in libbpf 1.1
// dereferences whatever type ids it walks into (struct members included) without checking them:
// a corrupt id there was a SEGV (found by fuzz_object from obj_kconfig.bpf.o).
bool is_kconfig_value_type(const btf* types, uint32_t type_id) {
  const int resolved = btf__resolve_type(types, type_id);
  if (resolved <= 0) return false;
  const btf_type* type = btf__type_by_id(types, static_cast<uint32_t>(resolved));
  if (type == nullptr) return false;
  if (btf_is_int(type) || btf_is_any_enum(type)) return true;
  if (!btf_is_array(type)) return false;
  const int element = btf__resolve_type(types, btf_array(type)->type);
  const btf_type* element_type =
      element > 0 ? btf__type_by_id(types, static_cast<uint32_t>(element)) : nullptr;
  return element_type != nullptr && btf_is_int(element_type);
}

const ElfSymbol* find_undefined_symbol(const ElfView& elf, const std::string& name) {
  for (const ElfSymbol& symbol : elf.symbols) {
    if (symbol.index != 0 && symbol.undefined() && symbol.name == name) return &symbol;
  }
  return nullptr;
}

}  // namespace

Status collect_kconfig_map(ParseContext& ctx) {
  if (ctx.btf == nullptr) return {};
  const int datasec_id = btf__find_by_name_kind(ctx.btf, ".kconfig", BTF_KIND_DATASEC);
  if (datasec_id <= 0) return {};
  const btf_type* datasec = btf__type_by_id(ctx.btf, datasec_id);
  const btf_var_secinfo* vars = btf_var_secinfos(datasec);
  MapSpec spec;
  spec.name = ".kconfig";
  spec.kind = MapKind::Kconfig;
  spec.attr.name = spec.name;
  spec.attr.type = maps::MapType::Array;
  spec.attr.key_size = 4;
  spec.attr.max_entries = 1;
  spec.attr.map_flags = maps::kFlagRdonlyProg | maps::kFlagMmapable;
  spec.value_type_id = static_cast<uint32_t>(datasec_id);
  struct Extern {
    std::string name;
    uint64_t size;
    uint64_t alignment;
    uint64_t value;
    uint64_t offset = 0;
  };
  std::vector<Extern> externs;
  for (uint16_t i = 0; i < btf_vlen(datasec); ++i) {
    const btf_type* var = btf__type_by_id(ctx.btf, vars[i].type);
    if (var == nullptr || !btf_is_var(var)) continue;
    const char* raw_name = btf__name_by_offset(ctx.btf, var->name_off);
    const std::string name = raw_name != nullptr ? raw_name : "";
    if (!is_kconfig_value_type(ctx.btf, var->type)) {
      return make_error(EINVAL, "kconfig extern '" + name + "' has an unsupported type");
    }
    const long long var_size = btf__resolve_size(ctx.btf, var->type);
    const int alignment = btf__align_of(ctx.btf, var->type);
    if (var_size <= 0 || var_size > 8 || alignment <= 0) {
      return make_error(EINVAL, "kconfig extern '" + name + "' has an unsupported type");
    }
    const ElfSymbol* symbol = find_undefined_symbol(ctx.elf, name);
    const KnownValue* known = nullptr;
    for (const KnownValue& candidate : kKnownValues) {
      if (name == candidate.name) known = &candidate;
    }
    if (known == nullptr && (symbol == nullptr || symbol->bind != STB_WEAK)) {
      return make_error(ENOENT, "kconfig extern '" + name +
                                    "' has no value in a userspace runtime; declare it __weak "
                                    "to read it as 0");
    }
    externs.push_back(Extern{name, static_cast<uint64_t>(var_size),
                             static_cast<uint64_t>(alignment), known ? known->value : 0});
  }
  // libbpf's layout: alignment descending, then size ascending, then name.
  std::sort(externs.begin(), externs.end(), [](const Extern& a, const Extern& b) {
    if (a.alignment != b.alignment) return a.alignment > b.alignment;
    if (a.size != b.size) return a.size < b.size;
    return a.name < b.name;
  });
  uint64_t size = 0;
  for (Extern& entry : externs) {
    entry.offset = (size + entry.alignment - 1) / entry.alignment * entry.alignment;
    size = entry.offset + entry.size;
    ctx.kconfig_offset[entry.name] = entry.offset;
  }
  if (size == 0) return {};
  spec.attr.value_size = static_cast<uint32_t>(size);
  spec.initial_data.assign(size, 0);
  for (const Extern& entry : externs) {
    for (uint64_t byte = 0; byte < entry.size; ++byte) {  // little-endian, truncated to width
      spec.initial_data[entry.offset + byte] = static_cast<uint8_t>(entry.value >> (8 * byte));
    }
  }
  spec.attr.has_value_btf = true;
  ctx.kconfig_map = static_cast<int>(ctx.spec.maps.size());
  ctx.spec.maps.push_back(std::move(spec));
  return {};
}

}  // namespace hourglass::object::detail
