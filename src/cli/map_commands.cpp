// map list | dump | lookup | update | delete. Each invocation loads OBJ afresh, so update and
// delete print the map afterwards; long-lived state is `hourglass run` / `hourglass test`.
#include <fmt/format.h>

#include <iostream>

#include "cli/btf_json.h"
#include "cli/commands.h"
#include "maps/map.h"
#include "object/object.h"

namespace hourglass::cli {

std::function<int()>& selected_command();

namespace {

struct MapArgs {
  std::string object;
  std::string map;
  std::string key;
  std::string value;
  uint64_t flags = 0;
};

MapHandle find_map(const Object& object, const std::string& name) {
  MapHandle map = object.map(name);
  if (!map) {
    std::string known;
    for (const auto& n : object.map_names()) known += (known.empty() ? "" : ", ") + n;
    throw CliError(fmt::format("no map '{}' in {} (maps: {})", name, object.path(), known));
  }
  return map;
}

std::vector<uint8_t> bytes_or_throw(const std::string& text, size_t size, const char* what) {
  auto bytes = parse_bytes(text, size);
  if (bytes.empty() && size)
    throw CliError(fmt::format("bad {} '{}': give {} bytes as hex (\"01 00 00 00\" or 0x01000000) "
                               "or a decimal integer", what, text, size));
  return bytes;
}

// What every command naming one map works on. Members in lifetime order: the runtime outlives
// the object, the object the map handle.
struct OpenedMap {
  std::unique_ptr<Runtime> runtime;
  Object object;
  MapHandle map;
};

OpenedMap open_map(const MapArgs& args, const GlobalOptions& options) {
  auto runtime = make_runtime(options);
  Object object = load_or_throw(*runtime, args.object);
  MapHandle map = find_map(object, args.map);
  return OpenedMap{std::move(runtime), std::move(object), std::move(map)};
}

// Turns a map operation's error into the CLI's error, naming the map.
void check(const Status& status, const MapArgs& args) {
  if (!status.ok()) throw CliError(fmt::format("map '{}': {}", args.map, status.error().message));
}

int map_list(const MapArgs& args, const GlobalOptions& options) {
  auto runtime = make_runtime(options);
  Object object = load_or_throw(*runtime, args.object);
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& map : object.maps()) {
    if (!map) continue;
    out.push_back({{"id", map.id()}, {"name", map.name()}, {"type", map.type_name()},
                   {"key_size", map.key_size()}, {"value_size", map.value_size()},
                   {"max_entries", map.max_entries()}, {"flags", map.flags()},
                   {"entries", map.element_count()}});
    rows.push_back({std::to_string(map.id()), map.name(), map.type_name(),
                    std::to_string(map.key_size()), std::to_string(map.value_size()),
                    std::to_string(map.max_entries()), fmt::format("0x{:x}", map.flags()),
                    std::to_string(map.element_count())});
  }
  if (options.json) std::cout << out.dump(2) << "\n";
  else std::cout << format_table({"ID", "NAME", "TYPE", "KEY", "VALUE", "MAX", "FLAGS", "ENTRIES"}, rows);
  return 0;
}

void print_dump(const Object& object, const MapHandle& map, const GlobalOptions& options) {
  nlohmann::json entries = dump_map_json(object, map);
  if (options.json) {
    std::cout << entries.dump(2) << "\n";
    return;
  }
  for (const auto& entry : entries)
    std::cout << fmt::format("key: {}  value: {}\n", entry["key"].dump(), entry["value"].dump());
  std::cout << fmt::format("Found {} element(s)\n", entries.size());
}

int map_dump(const MapArgs& args, const GlobalOptions& options) {
  OpenedMap opened = open_map(args, options);
  print_dump(opened.object, opened.map, options);
  return 0;
}

int map_lookup(const MapArgs& args, const GlobalOptions& options) {
  OpenedMap opened = open_map(args, options);
  auto key = bytes_or_throw(args.key, opened.map.key_size(), "key");
  auto value = opened.map.lookup(key.data());
  if (!value.ok()) throw CliError(fmt::format("map '{}': {}", args.map, value.error().message));
  auto [key_type, value_type] = map_btf_types(opened.object, opened.map.name());
  const struct btf* btf = opened.object.spec().btf ? opened.object.spec().btf->btf : nullptr;
  nlohmann::json entry{{"key", btf_to_json(btf, key_type, key.data(), key.size())},
                       {"value", btf_to_json(btf, value_type, value->data(), value->size())}};
  std::cout << (options.json ? entry.dump(2) : fmt::format("key: {}  value: {}", entry["key"].dump(), entry["value"].dump())) << "\n";
  return 0;
}

int map_update(const MapArgs& args, const GlobalOptions& options) {
  OpenedMap opened = open_map(args, options);
  auto key = bytes_or_throw(args.key, opened.map.key_size(), "key");
  auto value = bytes_or_throw(args.value, opened.map.value_size(), "value");
  check(opened.map.update(key.data(), value.data(), args.flags), args);
  print_dump(opened.object, opened.map, options);
  return 0;
}

int map_delete(const MapArgs& args, const GlobalOptions& options) {
  OpenedMap opened = open_map(args, options);
  auto key = bytes_or_throw(args.key, opened.map.key_size(), "key");
  check(opened.map.remove(key.data()), args);
  print_dump(opened.object, opened.map, options);
  return 0;
}

CLI::App* add_map_command(CLI::App* parent, const char* name, const char* help,
                          std::shared_ptr<MapArgs> args, bool needs_map) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->add_option("object", args->object, "BPF object (.bpf.o)")->required()->check(CLI::ExistingFile);
  if (needs_map) cmd->add_option("--map", args->map, "Map name")->required();
  return cmd;
}

}  // namespace

void register_map_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<MapArgs>();
  CLI::App* map = app.add_subcommand("map", "Maps of an object")->require_subcommand(1);
  auto bind = [&options, args](CLI::App* cmd, int (*fn)(const MapArgs&, const GlobalOptions&)) {
    cmd->callback([args, &options, fn] { selected_command() = [args, &options, fn] { return fn(*args, options); }; });
  };
  bind(add_map_command(map, "list", "List the maps of OBJ", args, false), map_list);
  bind(add_map_command(map, "dump", "Print every element, decoded with BTF", args, true), map_dump);
  CLI::App* lookup = add_map_command(map, "lookup", "Print one element", args, true);
  lookup->add_option("--key", args->key, "Key bytes")->required();
  bind(lookup, map_lookup);
  CLI::App* update = add_map_command(map, "update", "Update one element, then dump the map", args, true);
  update->add_option("--key", args->key, "Key bytes")->required();
  update->add_option("--value", args->value, "Value bytes")->required();
  update->add_option("--flags", args->flags, "0 any, 1 noexist, 2 exist, 4 lock");
  bind(update, map_update);
  CLI::App* del = add_map_command(map, "delete", "Delete one element, then dump the map", args, true);
  del->add_option("--key", args->key, "Key bytes")->required();
  bind(del, map_delete);
}

void register_misc_commands(CLI::App&, GlobalOptions&) {}

}  // namespace hourglass::cli
