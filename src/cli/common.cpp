#include <bpf/btf.h>

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <iterator>

#include "cli/btf_json.h"
#include "cli/cli.h"
#include "object/object.h"

namespace hourglass::cli {

std::unique_ptr<Runtime> make_runtime(const GlobalOptions& options) {
  RuntimeOptions runtime_options;
  runtime_options.ncpus = options.cpus;
  runtime_options.virtual_time = options.virtual_time;
  runtime_options.dangerously_skip_verification = options.skip_verification;
  runtime_options.precision_timers = options.precision_timers;
  runtime_options.realtime_timer_workers = !options.no_realtime_timers;
  runtime_options.engine = options.engine == "interpreter" ? ExecEngine::Interpreter : ExecEngine::Jit;
  auto runtime = Runtime::create(runtime_options);
  if (!runtime.ok()) throw CliError(runtime.error().message);
  return std::move(*runtime);
}

Object load_or_throw(Runtime& runtime, const std::string& path) {
  auto object = runtime.load_file(path);
  if (!object.ok()) throw CliError(object.error().message);
  return std::move(*object);
}

std::vector<uint8_t> read_file_or_throw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError("cannot open '" + path + "'");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out += std::string(widths[c] - cells[c].size() + 2, ' ');
    }
    return out + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::pair<uint32_t, uint32_t> map_btf_types(const Object& object, const std::string& map_name) {
  for (const auto& spec : object.spec().maps)
    if (spec.name == map_name) return {spec.key_type_id, spec.value_type_id};
  return {0, 0};
}

nlohmann::json dump_map_json(const Object& object, const MapHandle& map) {
  const struct btf* btf = object.spec().btf ? object.spec().btf->btf : nullptr;
  auto [key_type, value_type] = map_btf_types(object, map.name());
  nlohmann::json entries = nlohmann::json::array();
  // Sorted as little-endian numbers so output is stable whatever the hash order.
  auto keys = map.keys();
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(a.rbegin(), a.rend(), b.rbegin(), b.rend());
  });
  for (const auto& key : keys) {
    auto value = map.lookup(key.data());
    if (!value.ok()) continue;  // deleted meanwhile
    nlohmann::json entry;
    entry["key"] = btf_to_json(btf, key_type, key.data(), key.size());
    // Per-CPU values and map-in-map ids are not the BTF value type: show them raw.
    if (value->size() == map.raw()->attr().value_size)
      entry["value"] = btf_to_json(btf, value_type, value->data(), value->size());
    else
      entry["value"] = hex_bytes(value->data(), value->size());
    entries.push_back(std::move(entry));
  }
  return entries;
}

nlohmann::json globals_json(const Object& object) {
  nlohmann::json globals = nlohmann::json::object();
  const struct btf* btf = object.spec().btf ? object.spec().btf->btf : nullptr;
  if (!btf) return globals;
  for (const auto& spec : object.spec().maps) {
    if (spec.kind != object::MapKind::Data && spec.kind != object::MapKind::Rodata &&
        spec.kind != object::MapKind::Bss)
      continue;
    MapHandle map = object.map(spec.name);
    if (!map) continue;
    int32_t datasec = btf__find_by_name_kind(btf, spec.name.c_str(), BTF_KIND_DATASEC);
    if (datasec <= 0) continue;
    uint32_t zero = 0;
    auto value = map.lookup(&zero);
    if (!value.ok()) continue;
    nlohmann::json vars = btf_to_json(btf, datasec, value->data(), value->size());
    for (auto& [name, v] : vars.items()) globals[name] = v;
  }
  return globals;
}

}  // namespace hourglass::cli
