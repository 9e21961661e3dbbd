// Map specs: BTF-defined maps of the ".maps" section (libbpf's __uint/__type/__array encoding),
// global data sections (.data, .rodata, .bss and their dotted variants), and the static
// initialisers of map-in-map and prog_array maps.
//
// How libbpf's macros encode a map definition in BTF (bpf_helpers.h):
//   __uint(name, N)       -> member `name` of type `int (*)[N]`: PTR -> ARRAY with nelems N
//   __type(name, T)       -> member `name` of type `T *`: PTR -> T
//   __array(name, T)      -> member `name` of type `T *[]`: zero-length ARRAY of PTR -> T
// clang leaves DATASEC variable offsets at zero in an object file, so the offset of each map
// inside ".maps" comes from its ELF symbol, as libbpf does.
#include <bpf/btf.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "object/object_internal.h"

namespace hourglass::object::detail {
namespace {

using maps::FieldRecord;
using maps::MapType;

constexpr uint32_t kMaxKnownMapType = 33;  // BPF_MAP_TYPE_ARENA
constexpr uint32_t kPinByName = 1;          // LIBBPF_PIN_BY_NAME
constexpr uint64_t kMaxGlobalDataSize = 64u << 20;
constexpr int kMaxTypeDepth = 32;           // nesting bound against malformed (cyclic) BTF

Error map_error(const std::string& map_name, const std::string& what) {
  return make_error(EINVAL, "map '" + map_name + "': " + what);
}

// Follows typedefs and const/volatile/restrict/type_tag to the underlying type.
const btf_type* skip_modifiers(const struct btf* btf, uint32_t id, uint32_t* out_id = nullptr) {
  const btf_type* type = btf__type_by_id(btf, id);
  for (int depth = 0; type != nullptr && depth < kMaxTypeDepth; ++depth) {
    if (!btf_is_mod(type) && !btf_is_typedef(type)) break;
    id = type->type;
    type = btf__type_by_id(btf, id);
  }
  if (type != nullptr && (btf_is_mod(type) || btf_is_typedef(type))) return nullptr;
  if (out_id != nullptr) *out_id = id;
  return type;
}

std::string type_name(const struct btf* btf, const btf_type* type) {
  const char* name = btf__name_by_offset(btf, type->name_off);
  return name != nullptr ? name : "";
}

// ---- special fields (bpf_timer, bpf_wq, bpf_spin_lock) of a value type ----

struct SpecialField {
  const char* struct_name;
  int32_t FieldRecord::*slot;
  uint32_t size;
  uint32_t alignment;
};
constexpr SpecialField kSpecialFields[] = {
    {"bpf_timer", &FieldRecord::timer_off, 16, 8},
    {"bpf_wq", &FieldRecord::wq_off, 16, 8},
    {"bpf_spin_lock", &FieldRecord::spin_lock_off, 4, 4},
};

Status add_special_field(const SpecialField& field, const btf_type* type, uint64_t offset,
                         FieldRecord& record, const std::string& map_name) {
  if (record.*field.slot >= 0) {
    return make_error(E2BIG, "map '" + map_name + "' has more than one 'struct " +
                                 field.struct_name + "'");
  }
  if (type->size != field.size) {
    return map_error(map_name, std::string("'struct ") + field.struct_name + "' is " +
                                   std::to_string(type->size) + " bytes, expected " +
                                   std::to_string(field.size));
  }
  if (offset % field.alignment != 0) {
    return map_error(map_name, std::string("'struct ") + field.struct_name + "' at offset " +
                                   std::to_string(offset) + " is not " +
                                   std::to_string(field.alignment) + "-byte aligned");
  }
  record.*field.slot = static_cast<int32_t>(offset);
  return {};
}

// Walks a value type, nested structs and arrays included, recording where special fields sit.
Status find_special_fields(const struct btf* btf, uint32_t type_id, uint64_t offset,
                           FieldRecord& record, const std::string& map_name, int depth) {
  if (depth > kMaxTypeDepth) return map_error(map_name, "value type nests too deeply");
  const btf_type* type = skip_modifiers(btf, type_id);
  if (type == nullptr) return map_error(map_name, "value type [" + std::to_string(type_id) +
                                                      "] is missing or malformed");
  if (btf_is_composite(type)) {
    const std::string name = type_name(btf, type);
    for (const SpecialField& field : kSpecialFields) {
      if (btf_is_struct(type) && name == field.struct_name) {
        return add_special_field(field, type, offset, record, map_name);
      }
    }
    const btf_member* members = btf_members(type);
    for (uint16_t i = 0; i < btf_vlen(type); ++i) {
      if (btf_member_bitfield_size(type, i) != 0) continue;  // a bitfield holds no struct
      const uint64_t member_offset = offset + btf_member_bit_offset(type, i) / 8;
      if (Status s = find_special_fields(btf, members[i].type, member_offset, record, map_name,
                                         depth + 1);
          !s) {
        return s;
      }
    }
    return {};
  }
  if (btf_is_array(type)) {
    const struct btf_array* array = btf_array(type);
    if (array->nelems == 0) return {};
    FieldRecord element;  // fields of one element; more than one element duplicates them
    if (Status s = find_special_fields(btf, array->type, offset, element, map_name, depth + 1);
        !s) {
      return s;
    }
    for (const SpecialField& field : kSpecialFields) {
      if (element.*field.slot < 0) continue;
      if (array->nelems > 1 || record.*field.slot >= 0) {
        return make_error(E2BIG, "map '" + map_name + "' has more than one 'struct " +
                                     field.struct_name + "'");
      }
      record.*field.slot = element.*field.slot;
    }
  }
  return {};
}

// ---- one map definition ----

struct MapDefinition {
  MapSpec spec;
  bool has_inner = false;
  MapSpec inner;
  uint32_t values_offset = 0;  // byte offset of the `values` member (initialisers)
  bool has_values = false;
};

// __uint(name, N): PTR -> ARRAY[N].
Result<uint32_t> read_uint_member(const struct btf* btf, const btf_member& member,
                                  const std::string& map_name, const std::string& field) {
  const btf_type* pointer = skip_modifiers(btf, member.type);
  if (pointer == nullptr || !btf_is_ptr(pointer)) {
    return map_error(map_name, "attribute '" + field + "' is not a pointer (__uint encoding)");
  }
  const btf_type* array = btf__type_by_id(btf, pointer->type);
  if (array == nullptr || !btf_is_array(array)) {
    return map_error(map_name, "attribute '" + field + "' does not point to an array");
  }
  return btf_array(array)->nelems;
}

// __type(name, T): PTR -> T; returns T's id and size.
Status read_type_member(const struct btf* btf, const btf_member& member,
                        const std::string& map_name, const std::string& field, uint32_t& type_id,
                        uint32_t& size) {
  const btf_type* pointer = skip_modifiers(btf, member.type);
  if (pointer == nullptr || !btf_is_ptr(pointer)) {
    return map_error(map_name, "attribute '" + field + "' is not a pointer (__type encoding)");
  }
  const long long resolved = btf__resolve_size(btf, pointer->type);
  if (resolved < 0 || resolved > UINT32_MAX) {
    return map_error(map_name, "cannot size the type of '" + field + "'");
  }
  type_id = pointer->type;
  size = static_cast<uint32_t>(resolved);
  return {};
}

Status set_size(const std::string& map_name, const char* what, uint32_t& slot, uint32_t size) {
  if (slot != 0 && slot != size) {
    return map_error(map_name, std::string("conflicting ") + what + " size " +
                                   std::to_string(slot) + " != " + std::to_string(size));
  }
  slot = size;
  return {};
}

bool is_map_in_map(MapType type) {
  return type == MapType::ArrayOfMaps || type == MapType::HashOfMaps;
}

Result<MapDefinition> parse_map_definition(const struct btf* btf, const std::string& map_name,
                                           const btf_type* def, bool is_inner);

// __array(values, T): the last member; T is the inner map definition or a function prototype.
Status parse_values_member(const struct btf* btf, const btf_type* def, uint16_t index,
                           MapDefinition& out, bool is_inner) {
  const std::string& name = out.spec.name;
  maps::MapAttr& attr = out.spec.attr;
  if (is_inner) return map_error(name, "multi-level inner maps are not supported");
  if (index != btf_vlen(def) - 1) return map_error(name, "'values' must be the last member");
  const bool prog_array = attr.type == MapType::ProgArray;
  if (!is_map_in_map(attr.type) && !prog_array) {
    return map_error(name, "'values' is only for map-in-map and prog_array maps (type set first)");
  }
  if (Status s = set_size(name, "value", attr.value_size, 4); !s) return s;
  const btf_type* array = btf__type_by_id(btf, btf_members(def)[index].type);
  if (array == nullptr || !btf_is_array(array) || btf_array(array)->nelems != 0) {
    return map_error(name, "'values' is not a zero-length array (__array encoding)");
  }
  const btf_type* pointer = skip_modifiers(btf, btf_array(array)->type);
  if (pointer == nullptr || !btf_is_ptr(pointer)) {
    return map_error(name, "'values' elements are not pointers");
  }
  uint32_t target_id = 0;
  const btf_type* target = skip_modifiers(btf, pointer->type, &target_id);
  out.values_offset = btf_member_bit_offset(def, index) / 8;
  out.has_values = true;
  if (prog_array) {
    if (target == nullptr || !btf_is_func_proto(target)) {
      return map_error(name, "prog_array 'values' must point to function prototypes");
    }
    return {};
  }
  if (target == nullptr || !btf_is_struct(target)) {
    return map_error(name, "map-in-map 'values' must point to an inner map definition struct");
  }
  Result<MapDefinition> inner = parse_map_definition(btf, name + ".inner", target, true);
  if (!inner) return inner.take_error();
  out.inner = std::move(inner->spec);
  out.inner.is_inner_template = true;
  out.has_inner = true;
  return {};
}

Status check_map_type(const std::string& map_name, uint32_t type) {
  if (type == 0) return map_error(map_name, "no map type given");
  if (type > kMaxKnownMapType) {
    return map_error(map_name, "unknown map type " + std::to_string(type));
  }
  return {};
}

Result<MapDefinition> parse_map_definition(const struct btf* btf, const std::string& map_name,
                                           const btf_type* def, bool is_inner) {
  MapDefinition out;
  out.spec.name = map_name;
  out.spec.attr.name = map_name;
  maps::MapAttr& attr = out.spec.attr;
  if (!btf_is_struct(def)) return map_error(map_name, "definition is not a struct");
  const btf_member* members = btf_members(def);
  for (uint16_t i = 0; i < btf_vlen(def); ++i) {
    const char* raw_name = btf__name_by_offset(btf, members[i].name_off);
    const std::string field = raw_name != nullptr ? raw_name : "";
    Status status;
    if (field == "type" || field == "max_entries" || field == "map_flags" ||
        field == "key_size" || field == "value_size" || field == "pinning" ||
        field == "numa_node" || field == "map_extra") {
      Result<uint32_t> number = read_uint_member(btf, members[i], map_name, field);
      if (!number) return number.take_error();
      if (field == "type") {
        if (Status s = check_map_type(map_name, *number); !s) return s.take_error();
        attr.type = static_cast<MapType>(*number);
      } else if (field == "max_entries") {
        attr.max_entries = *number;
      } else if (field == "map_flags") {
        attr.map_flags = *number;
      } else if (field == "key_size") {
        status = set_size(map_name, "key", attr.key_size, *number);
      } else if (field == "value_size") {
        status = set_size(map_name, "value", attr.value_size, *number);
      } else if (field == "pinning") {
        if (is_inner && *number != 0) return map_error(map_name, "inner maps cannot be pinned");
        if (*number > kPinByName) {
          return map_error(map_name, "invalid pinning value " + std::to_string(*number));
        }
        out.spec.pinning = *number;
      }
      // numa_node and map_extra mean nothing in a userspace runtime: accepted and ignored.
    } else if (field == "key") {
      uint32_t size = 0;
      status = read_type_member(btf, members[i], map_name, field, out.spec.key_type_id, size);
      if (status) status = set_size(map_name, "key", attr.key_size, size);
    } else if (field == "value") {
      uint32_t size = 0;
      status = read_type_member(btf, members[i], map_name, field, out.spec.value_type_id, size);
      if (status) status = set_size(map_name, "value", attr.value_size, size);
      attr.has_value_btf = true;
    } else if (field == "values") {
      status = parse_values_member(btf, def, i, out, is_inner);
    } else {
      return map_error(map_name, "unknown field '" + field + "'");
    }
    if (!status) return status.take_error();
  }
  if (attr.type == MapType::Unspec) return map_error(map_name, "no map type given");
  if (attr.has_value_btf) {
    if (Status s = find_special_fields(btf, out.spec.value_type_id, 0, attr.record, map_name, 0);
        !s) {
      return s.take_error();
    }
  }
  return out;
}

// The ELF symbol of a .maps variable; clang keeps one per map, named like the variable.
const ElfSymbol* find_maps_symbol(const ParseContext& ctx, const std::string& name) {
  for (const ElfSymbol& symbol : ctx.elf.symbols) {
    if (symbol.shndx == ctx.maps_section && symbol.name == name && symbol.type == STT_OBJECT) {
      return &symbol;
    }
  }
  return nullptr;
}

bool is_data_section_name(const std::string& name, MapKind& kind) {
  auto matches = [&](const char* base) {
    const size_t length = std::strlen(base);
    return name.compare(0, length, base) == 0 && (name.size() == length || name[length] == '.');
  };
  if (matches(".data")) kind = MapKind::Data;
  else if (matches(".rodata")) kind = MapKind::Rodata;
  else if (matches(".bss")) kind = MapKind::Bss;
  else return false;
  return true;
}

// Special fields among the variables of a global data section (e.g. a bpf_spin_lock in
// ".bss.A", as the kernel's selftests place them next to bpf_list_head). clang leaves the VAR
// offsets at zero, so each variable's offset comes from its ELF symbol when it has one.
Status find_datasec_fields(const ParseContext& ctx, const ElfSection& section,
                           uint32_t datasec_id, FieldRecord& record) {
  const btf_type* datasec = btf__type_by_id(ctx.btf, datasec_id);
  const btf_var_secinfo* vars = btf_var_secinfos(datasec);
  for (uint16_t i = 0; i < btf_vlen(datasec); ++i) {
    const btf_type* var = btf__type_by_id(ctx.btf, vars[i].type);
    if (var == nullptr || !btf_is_var(var)) continue;
    const std::string name = type_name(ctx.btf, var);
    uint64_t offset = vars[i].offset;
    for (const ElfSymbol& symbol : ctx.elf.symbols) {
      if (symbol.shndx == section.index && symbol.type == STT_OBJECT && symbol.name == name) {
        offset = symbol.value;
        break;
      }
    }
    if (offset >= section.size) {
      return map_error(section.name, "variable '" + name + "' lies outside the section");
    }
    if (Status s = find_special_fields(ctx.btf, var->type, offset, record, section.name, 0); !s) {
      return s;
    }
  }
  return {};
}

}  // namespace

Status collect_btf_maps(ParseContext& ctx) {
  const ElfSection* maps = ctx.elf.find_section(".maps");
  if (ctx.elf.find_section("maps") != nullptr) {
    return make_error(ENOTSUP, "legacy 'maps' section (struct bpf_map_def) is not supported; "
                               "define maps in '.maps' with BTF");
  }
  if (maps == nullptr) return {};
  ctx.maps_section = maps->index;
  if (ctx.btf == nullptr) return make_error(EINVAL, "section '.maps' needs BTF, but there is no .BTF");
  const int datasec_id = btf__find_by_name_kind(ctx.btf, ".maps", BTF_KIND_DATASEC);
  if (datasec_id <= 0) return make_error(EINVAL, "BTF has no DATASEC '.maps'");
  const btf_type* datasec = btf__type_by_id(ctx.btf, datasec_id);
  const btf_var_secinfo* vars = btf_var_secinfos(datasec);
  struct Entry {
    uint64_t offset;
    std::string name;
    const btf_type* def;
  };
  std::vector<Entry> entries;
  for (uint16_t i = 0; i < btf_vlen(datasec); ++i) {
    const btf_type* var = btf__type_by_id(ctx.btf, vars[i].type);
    if (var == nullptr || !btf_is_var(var)) {
      return make_error(EINVAL, "'.maps' DATASEC entry " + std::to_string(i) + " is not a VAR");
    }
    const std::string name = type_name(ctx.btf, var);
    const btf_type* def = skip_modifiers(ctx.btf, var->type);
    if (def == nullptr) return map_error(name, "definition type is missing or malformed");
    const ElfSymbol* symbol = find_maps_symbol(ctx, name);
    if (symbol == nullptr) return map_error(name, "no ELF symbol in '.maps'");
    if (symbol->value >= maps->size || symbol->value % 8 != 0) {
      return map_error(name, "symbol offset " + std::to_string(symbol->value) +
                                 " is not a valid position in '.maps'");
    }
    entries.push_back(Entry{symbol->value, name, def});
  }
  // libbpf orders maps by their position in ".maps" (it sorts the DATASEC by offset).
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.offset < b.offset; });
  for (const Entry& entry : entries) {
    const std::string& name = entry.name;
    const btf_type* def = entry.def;
    if (ctx.map_at_maps_offset.count(entry.offset) != 0) {
      return map_error(name, "shares its '.maps' offset with another map");
    }
    Result<MapDefinition> parsed = parse_map_definition(ctx.btf, name, def, false);
    if (!parsed) return parsed.take_error();
    const uint32_t index = static_cast<uint32_t>(ctx.spec.maps.size());
    ctx.map_at_maps_offset[entry.offset] = index;
    if (parsed->has_values) ctx.values_offset[index] = parsed->values_offset;
    if (parsed->has_inner) ctx.pending_inner.emplace_back(index, std::move(parsed->inner));
    ctx.spec.maps.push_back(std::move(parsed->spec));
  }
  return {};
}

Status append_inner_templates(ParseContext& ctx) {
  for (auto& [outer_index, inner] : ctx.pending_inner) {
    MapSpec& outer = ctx.spec.maps[outer_index];
    outer.inner_map_index = static_cast<int>(ctx.spec.maps.size());
    outer.attr.inner_template = std::make_shared<const maps::MapAttr>(inner.attr);
    ctx.spec.maps.push_back(std::move(inner));
  }
  ctx.pending_inner.clear();
  return {};
}

Status collect_data_maps(ParseContext& ctx) {
  for (const ElfSection& section : ctx.elf.sections) {
    MapKind kind;
    if (section.index == 0 || !is_data_section_name(section.name, kind)) continue;
    if (section.type != SHT_PROGBITS && section.type != SHT_NOBITS) continue;
    if (section.size == 0) continue;  // nothing to map; references to it fail by name
    if (section.size > kMaxGlobalDataSize) {
      return make_error(E2BIG, "section '" + section.name + "' is " +
                                   std::to_string(section.size) +
                                   " bytes, too large for a global data map");
    }
    MapSpec spec;
    spec.name = section.name;
    spec.kind = kind;
    spec.attr.name = section.name;
    spec.attr.type = MapType::Array;
    spec.attr.key_size = 4;
    spec.attr.value_size = static_cast<uint32_t>(section.size);
    spec.attr.max_entries = 1;
    spec.attr.map_flags = maps::kFlagMmapable;
    if (kind == MapKind::Rodata) spec.attr.map_flags |= maps::kFlagRdonlyProg;
    if (section.data != nullptr) {
      spec.initial_data.assign(section.data, section.data + section.size);
    } else {
      spec.initial_data.assign(section.size, 0);
    }
    if (ctx.btf != nullptr) {
      const int datasec_id = btf__find_by_name_kind(ctx.btf, section.name.c_str(), BTF_KIND_DATASEC);
      if (datasec_id > 0) {
        spec.value_type_id = static_cast<uint32_t>(datasec_id);
        spec.attr.has_value_btf = true;
        if (Status s = find_datasec_fields(ctx, section, static_cast<uint32_t>(datasec_id),
                                           spec.attr.record);
            !s) {
          return s;
        }
      }
    }
    ctx.map_of_data_section[section.index] = static_cast<uint32_t>(ctx.spec.maps.size());
    ctx.spec.maps.push_back(std::move(spec));
  }
  return {};
}

namespace {

// The map whose ".maps" variable covers the 8 bytes at `offset`: (map index, variable offset).
std::optional<std::pair<uint32_t, uint64_t>> map_covering(const ParseContext& ctx,
                                                          uint64_t offset) {
  auto it = ctx.map_at_maps_offset.upper_bound(offset);
  if (it == ctx.map_at_maps_offset.begin()) return std::nullopt;
  --it;
  const ElfSymbol* symbol = find_maps_symbol(ctx, ctx.spec.maps[it->second].name);
  if (symbol == nullptr || offset + 8 > it->first + symbol->size) return std::nullopt;
  return std::make_pair(it->second, it->first);
}

Result<uint32_t> initialiser_target(const ParseContext& ctx, const MapSpec& outer,
                                    const ElfSymbol& symbol) {
  if (outer.attr.type == MapType::ProgArray) {
    if (symbol.type == STT_FUNC && symbol.shndx < ctx.elf.sections.size() &&
        symbol.value % 8 == 0) {
      const Function* function = ctx.function_at(symbol.shndx, symbol.value / 8);
      if (function != nullptr && function->program_index >= 0 &&
          function->first_insn == symbol.value / 8) {
        return static_cast<uint32_t>(function->program_index);
      }
    }
    return map_error(outer.name, "initial value '" + symbol.name +
                                     "' is not an entry-point program");
  }
  auto it = ctx.map_at_maps_offset.find(symbol.value);
  if (symbol.shndx != ctx.maps_section || it == ctx.map_at_maps_offset.end()) {
    return map_error(outer.name, "initial value '" + symbol.name + "' is not a map in '.maps'");
  }
  return it->second;
}

}  // namespace

Status collect_map_initialisers(ParseContext& ctx) {
  if (ctx.maps_section == 0) return {};
  for (const ElfSection& section : ctx.elf.sections) {
    if (section.type != SHT_REL || section.info != ctx.maps_section) continue;
    Result<std::vector<ElfRelocation>> relocations = ctx.elf.relocations(section);
    if (!relocations) return relocations.take_error();
    for (const ElfRelocation& relocation : *relocations) {
      const ElfSymbol& symbol = ctx.elf.symbols[relocation.symbol];
      const std::string where = "'.maps' offset " + std::to_string(relocation.offset) + ": ";
      if (relocation.type != kRelBpf64Abs64) {
        return make_error(EINVAL, where + "relocation type " + std::to_string(relocation.type) +
                                      " against '" + symbol.name + "' is not supported");
      }
      const auto covering = map_covering(ctx, relocation.offset);
      if (!covering) {
        return make_error(EINVAL, where + "reference to '" + symbol.name + "' is in no map");
      }
      const auto [outer_index, outer_offset] = *covering;
      MapSpec& outer = ctx.spec.maps[outer_index];
      auto values = ctx.values_offset.find(outer_index);
      const uint64_t map_offset = relocation.offset - outer_offset;
      if (values == ctx.values_offset.end() || map_offset < values->second ||
          (map_offset - values->second) % 8 != 0) {
        return map_error(outer.name, "reference to '" + symbol.name +
                                         "' is not inside its 'values' initialiser");
      }
      if (outer.attr.type == MapType::HashOfMaps && outer.attr.key_size != 4) {
        return map_error(outer.name, "hash-of-maps with static initialisers needs key size 4 "
                                     "(the key is the slot index)");
      }
      const uint64_t slot = (map_offset - values->second) / 8;
      if (slot >= outer.attr.max_entries) {
        return map_error(outer.name, "initial value for slot " + std::to_string(slot) +
                                         " is beyond max_entries " +
                                         std::to_string(outer.attr.max_entries));
      }
      Result<uint32_t> target = initialiser_target(ctx, outer, symbol);
      if (!target) return target.take_error();
      outer.initial_slots.emplace_back(static_cast<uint32_t>(slot), *target);
    }
  }
  return {};
}

}  // namespace hourglass::object::detail
