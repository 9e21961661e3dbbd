// DATASEC fix-up, as libbpf does before loading: clang leaves the size of each global-data
// DATASEC and the offsets of its variables at zero in an object file. Consumers of the BTF
// (globals by name, map dumps, the verifier's view of .bss/.data values) need the real layout,
// so each DATASEC named after an ELF section gets that section's size, and each variable the
// offset of its ELF symbol.
#include <bpf/btf.h>

#include "object/object_internal.h"

namespace hourglass::object::detail {

Status fixup_datasecs(ParseContext& ctx) {
  if (ctx.btf == nullptr) return {};
  const uint32_t type_count = btf__type_cnt(ctx.btf);
  for (uint32_t id = 1; id < type_count; ++id) {
    // The BTF object owns a private copy of the raw data, so patching it in place is safe; the
    // types are handed out const only because most users must not.
    auto* datasec = const_cast<btf_type*>(btf__type_by_id(ctx.btf, id));
    if (datasec == nullptr || !btf_is_datasec(datasec)) continue;
    const char* name = btf__name_by_offset(ctx.btf, datasec->name_off);
    const ElfSection* section = name ? ctx.elf.find_section(name) : nullptr;
    if (section == nullptr) continue;  // .ksyms, .kconfig: not backed by a section
    if (datasec->size == 0) datasec->size = static_cast<uint32_t>(section->size);
    btf_var_secinfo* vars = btf_var_secinfos(datasec);
    for (uint16_t i = 0; i < btf_vlen(datasec); ++i) {
      const btf_type* var = btf__type_by_id(ctx.btf, vars[i].type);
      if (var == nullptr || !btf_is_var(var)) continue;
      const char* var_name = btf__name_by_offset(ctx.btf, var->name_off);
      for (const ElfSymbol& symbol : ctx.elf.symbols) {
        if (symbol.shndx != section->index || symbol.type != STT_OBJECT || !var_name ||
            symbol.name != var_name)
          continue;
        if (symbol.value + vars[i].size > section->size) {
          return make_error(EINVAL, std::string("section '") + name + "': variable '" + var_name +
                                        "' lies outside the section");
        }
        vars[i].offset = static_cast<uint32_t>(symbol.value);
        break;
      }
    }
  }
  return {};
}

}  // namespace hourglass::object::detail
