// Object::read_global / write_global: global variables located through the BTF DATASEC of their
// section, read and written through the section's single-element array map.
#include <bpf/btf.h>

#include <cstring>

#include "common/relaxed_copy.h"
#include "hourglass/runtime.h"
#include "maps/map.h"
#include "object/object.h"

namespace hourglass {

namespace {

struct GlobalLocation {
  maps::Map* map = nullptr;
  uint32_t offset = 0;
  uint32_t size = 0;
};

Result<GlobalLocation> locate(const Object& object, std::string_view name) {
  const auto& spec = object.spec();
  const struct btf* btf = spec.btf ? spec.btf->btf : nullptr;
  if (!btf) return make_error(ENOENT, "object has no BTF");
  for (const auto& map_spec : spec.maps) {
    if (map_spec.kind == object::MapKind::Defined) continue;
    int32_t datasec = btf__find_by_name_kind(btf, map_spec.name.c_str(), BTF_KIND_DATASEC);
    if (datasec <= 0) continue;
    const struct btf_type* sec = btf__type_by_id(btf, datasec);
    const struct btf_var_secinfo* var = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); ++i, ++var) {
      const struct btf_type* var_type = btf__type_by_id(btf, var->type);
      if (!var_type || name != btf__name_by_offset(btf, var_type->name_off)) continue;
      MapHandle handle = object.map(map_spec.name);
      if (!handle) return make_error(ENOENT, "global '" + std::string(name) + "': map released");
      return GlobalLocation{handle.raw(), var->offset, var->size};
    }
  }
  return make_error(ENOENT, "no global variable '" + std::string(name) + "'");
}

}  // namespace

Result<std::vector<uint8_t>> Object::read_global(std::string_view name) const {
  auto where = locate(*this, name);
  if (!where.ok()) return where.take_error();
  auto* base = static_cast<const uint8_t*>(where->map->direct_value_base());
  if (!base || where->offset + where->size > where->map->attr().value_size)
    return make_error(EINVAL, "global '" + std::string(name) + "' is outside its section");
  // Programs may be writing it concurrently; a plain copy gives a value as racy as the
  // kernel's mmap'ed globals, which is what applications expect.
  std::vector<uint8_t> bytes(where->size);
  relaxed_copy(bytes.data(), base + where->offset, where->size);
  return bytes;
}

Status Object::write_global(std::string_view name, const void* data, size_t size) {
  auto where = locate(*this, name);
  if (!where.ok()) return where.take_error();
  if (size != where->size) return make_error(EINVAL, "global '" + std::string(name) + "' has size " + std::to_string(where->size));
  auto* base = static_cast<uint8_t*>(where->map->direct_value_base());
  if (!base || where->offset + size > where->map->attr().value_size)
    return make_error(EINVAL, "global '" + std::string(name) + "' is outside its section");
  relaxed_copy(base + where->offset, data, size);
  return {};
}

}  // namespace hourglass
