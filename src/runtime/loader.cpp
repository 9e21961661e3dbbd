// Runtime::load_*: from a parsed ObjectSpec to live maps and prepared programs. All or nothing:
// on any error every map and program created so far is released before returning.
#include <cstring>

#include "helpers/proto.h"
#include "hourglass/runtime.h"
#include "maps/map.h"
#include "object/object.h"
#include "runtime/runtime_impl.h"
#include "runtime/verify.h"
#include "vm/vm.h"

namespace hourglass {

namespace {

// Owns the references taken while loading, so an early return releases them all.
struct LoadState {
  std::vector<maps::Map*> maps;  // index = MapSpec index; null for inner templates
  std::vector<vm::Program*> programs;
  ~LoadState() {
    for (auto* prog : programs)
      if (prog) prog->release();
    for (auto* map : maps)
      if (map) map->release();
  }
};

std::string where(const object::ObjectSpec& spec) { return "object '" + spec.path + "': "; }

maps::MapAttr runtime_attr(const maps::MapAttr& base, const Runtime& runtime,
                           timers::TimerEngine* engine) {
  maps::MapAttr attr = base;
  attr.ncpus = runtime.ncpus();
  attr.hooks = engine;
  return attr;
}

Status create_maps(const object::ObjectSpec& spec, const Runtime& runtime,
                   timers::TimerEngine* engine, LoadState& state) {
  state.maps.assign(spec.maps.size(), nullptr);
  for (size_t i = 0; i < spec.maps.size(); ++i) {
    const object::MapSpec& map_spec = spec.maps[i];
    if (map_spec.is_inner_template) continue;
    maps::MapAttr attr = runtime_attr(map_spec.attr, runtime, engine);
    if (map_spec.inner_map_index >= 0) {
      if (static_cast<size_t>(map_spec.inner_map_index) >= spec.maps.size())
        return make_error(EINVAL, where(spec) + "map '" + map_spec.name + "': bad inner map");
      attr.inner_template = std::make_shared<const maps::MapAttr>(
          runtime_attr(spec.maps[map_spec.inner_map_index].attr, runtime, engine));
    }
    auto created = maps::create_map(attr);
    if (!created.ok()) {
      return make_error(created.error().code, where(spec) + "map '" + map_spec.name +
                                                   "': " + created.error().message);
    }
    maps::Map* map = *created;
    state.maps[i] = map;
    if (!map_spec.initial_data.empty()) {
      void* base = map->direct_value_base();
      if (!base || map_spec.initial_data.size() > map->attr().value_size)
        return make_error(EINVAL, where(spec) + "map '" + map_spec.name + "': bad initial data");
      std::memcpy(base, map_spec.initial_data.data(), map_spec.initial_data.size());
    }
  }
  // Static map-in-map initialisers, now that every map exists.
  for (size_t i = 0; i < spec.maps.size(); ++i) {
    const object::MapSpec& map_spec = spec.maps[i];
    if (!state.maps[i] || map_spec.attr.type == maps::MapType::ProgArray) continue;
    for (auto [slot, inner_index] : map_spec.initial_slots) {
      maps::Map* inner = inner_index < state.maps.size() ? state.maps[inner_index] : nullptr;
      long rc = inner ? state.maps[i]->update_inner_map(&slot, inner, maps::kAny) : -EINVAL;
      if (rc < 0)
        return make_error(static_cast<int>(-rc), where(spec) + "map '" + map_spec.name +
                                                     "': cannot set slot " + std::to_string(slot));
    }
  }
  return {};
}

Result<vm::Program*> prepare_program(const object::ObjectSpec& spec,
                                     const object::ProgramSpec& prog_spec, Runtime& runtime,
                                     LoadState& state, VerifierReport& report) {
  std::string prefix = where(spec) + "program '" + prog_spec.name + "': ";
  std::vector<helpers::HelperFn> kfuncs;
  std::vector<const helpers::HelperProto*> kfunc_protos;
  for (const auto& kfunc : spec.kfuncs) {
    const helpers::HelperProto* proto = helpers::find_kfunc(kfunc.name.c_str());
    kfuncs.push_back(proto ? proto->fn : nullptr);
    kfunc_protos.push_back(proto);
  }
  auto verified = verify_program(spec, prog_spec, state.maps, kfunc_protos, runtime);
  if (!verified.ok()) return make_error(verified.error().code, where(spec) + verified.error().message);
  report = std::move(*verified);
  vm::ImageInput input;
  input.name = prog_spec.name;
  input.type = prog_spec.type;
  input.insns = prog_spec.insns;
  input.maps = state.maps;
  input.kfuncs = std::move(kfuncs);
  for (const auto& func : prog_spec.func_info) input.subprog_names.emplace_back(func.insn_index, func.name);
  input.zeroed_frames = report.zeroed_frames;
  input.env = &runtime.impl().env;
  input.engine = runtime.options().engine == ExecEngine::Jit ? vm::Engine::Jit
                                                             : vm::Engine::Interpreter;
  auto prog = vm::Program::create(std::move(input));
  if (!prog.ok()) return make_error(prog.error().code, prefix + prog.error().message);
  return *prog;
}

Status fill_prog_arrays(const object::ObjectSpec& spec, LoadState& state) {
  for (size_t i = 0; i < spec.maps.size(); ++i) {
    const object::MapSpec& map_spec = spec.maps[i];
    if (!state.maps[i] || map_spec.attr.type != maps::MapType::ProgArray) continue;
    for (auto [slot, prog_index] : map_spec.initial_slots) {
      vm::Program* prog = prog_index < state.programs.size() ? state.programs[prog_index] : nullptr;
      long rc = prog ? state.maps[i]->update_program(&slot, prog, maps::kAny) : -EINVAL;
      if (rc < 0)
        return make_error(static_cast<int>(-rc), where(spec) + "prog_array '" + map_spec.name +
                                                     "': cannot set slot " + std::to_string(slot));
    }
  }
  return {};
}

}  // namespace

Result<Object> Runtime::load_spec(std::shared_ptr<object::ObjectSpec> spec) {
  Runtime& runtime = *this;
  LoadState state;
  if (auto created = create_maps(*spec, runtime, runtime.impl().engine.get(), state); !created.ok())
    return created.take_error();
  state.programs.assign(spec->programs.size(), nullptr);
  std::vector<VerifierReport> reports(spec->programs.size());
  for (size_t i = 0; i < spec->programs.size(); ++i) {
    auto prog = prepare_program(*spec, spec->programs[i], runtime, state, reports[i]);
    if (!prog.ok()) return prog.take_error();
    state.programs[i] = *prog;
  }
  if (auto filled = fill_prog_arrays(*spec, state); !filled.ok()) return filled.take_error();

  Object object;
  object.path_ = spec->path;
  for (size_t i = 0; i < spec->maps.size(); ++i) {
    if (!state.maps[i]) continue;
    object.maps_.push_back(MapHandle::adopt_user_ref(state.maps[i]));
    object.map_names_.push_back(spec->maps[i].name);
  }
  for (size_t i = 0; i < spec->programs.size(); ++i) {
    ProgramHandle handle;
    handle.prog_ = state.programs[i];
    state.programs[i] = nullptr;  // reference moves into the handle
    handle.meta_ = std::make_shared<const ProgramHandle::Meta>(
        ProgramHandle::Meta{spec->programs[i].name, spec->programs[i].section, std::move(reports[i])});
    handle.runtime_ = &runtime;
    object.programs_.push_back(std::move(handle));
  }
  object.spec_ = std::move(spec);
  return object;
}

Result<Object> Runtime::load_file(const std::string& path) {
  auto parsed = object::parse_object_file(path);
  if (!parsed.ok()) return parsed.take_error();
  return load_spec(std::make_shared<object::ObjectSpec>(std::move(*parsed)));
}

Result<Object> Runtime::load_memory(const uint8_t* data, size_t size, std::string name) {
  auto parsed = object::parse_object(data, size, std::move(name));
  if (!parsed.ok()) return parsed.take_error();
  return load_spec(std::make_shared<object::ObjectSpec>(std::move(*parsed)));
}

}  // namespace hourglass
