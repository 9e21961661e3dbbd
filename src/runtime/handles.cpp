// Map, program and object handles: reference counting like file descriptors.
#include <cstring>

#include "hourglass/runtime.h"
#include "helpers/proto.h"
#include "isa/insn.h"
#include "maps/map.h"
#include "object/object.h"
#include "vm/vm.h"

namespace hourglass {

namespace {
Status errno_status(long rc, const char* what) {
  if (rc >= 0) return {};
  return make_error(static_cast<int>(-rc), std::string(what) + ": " + std::strerror(static_cast<int>(-rc)));
}
}  // namespace

// ---- MapHandle: one reference plus one user reference, like an fd ----

MapHandle MapHandle::adopt_user_ref(maps::Map* map) {
  MapHandle handle;
  if (map) {
    map->acquire();
    map->acquire_user();
    handle.map_ = map;
  }
  return handle;
}

MapHandle::MapHandle(const MapHandle& other) : map_(other.map_) {
  if (map_) {
    map_->acquire();
    map_->acquire_user();
  }
}

MapHandle::MapHandle(MapHandle&& other) noexcept : map_(other.map_) { other.map_ = nullptr; }

MapHandle& MapHandle::operator=(MapHandle other) noexcept {
  std::swap(map_, other.map_);
  return *this;
}

MapHandle::~MapHandle() { reset(); }

void MapHandle::reset() {
  if (!map_) return;
  maps::Map* map = map_;
  map_ = nullptr;
  map->release_user();  // may cancel the map's timers (map_release_uref)
  map->release();
}

uint32_t MapHandle::id() const { return map_->id(); }
const std::string& MapHandle::name() const { return map_->name(); }
uint32_t MapHandle::type() const { return static_cast<uint32_t>(map_->type()); }
const char* MapHandle::type_name() const { return maps::map_type_name(map_->type()); }
uint32_t MapHandle::key_size() const { return map_->attr().key_size; }
uint32_t MapHandle::value_size() const { return map_->user_value_size(); }
uint32_t MapHandle::max_entries() const { return map_->attr().max_entries; }
uint32_t MapHandle::flags() const { return map_->attr().map_flags; }
uint32_t MapHandle::element_count() const { return map_->element_count(); }

Result<std::vector<uint8_t>> MapHandle::lookup(const void* key) const {
  if (!map_) return make_error(EBADF, "lookup: invalid map handle");
  std::vector<uint8_t> value(map_->user_value_size());
  long rc = map_->user_lookup(key, value.data());
  if (rc < 0) return errno_status(rc, "lookup").take_error();
  return value;
}

Status MapHandle::update(const void* key, const void* value, uint64_t flags) {
  if (!map_) return make_error(EBADF, "update: invalid map handle");
  return errno_status(map_->user_update(key, value, flags), "update");
}

Status MapHandle::remove(const void* key) {
  if (!map_) return make_error(EBADF, "delete: invalid map handle");
  return errno_status(map_->user_delete(key), "delete");
}

Result<std::vector<uint8_t>> MapHandle::next_key(const void* key) const {
  if (!map_) return make_error(EBADF, "next_key: invalid map handle");
  std::vector<uint8_t> next(map_->attr().key_size);
  long rc = map_->get_next_key(key, next.data());
  if (rc < 0) return errno_status(rc, "next_key").take_error();
  return next;
}

std::vector<std::vector<uint8_t>> MapHandle::keys() const {
  std::vector<std::vector<uint8_t>> all;
  if (!map_ || map_->attr().key_size == 0) return all;
  auto next = next_key(nullptr);
  // Bounded by max_entries: a concurrent writer cannot make this loop forever.
  while (next.ok() && all.size() <= map_->attr().max_entries) {
    all.push_back(*next);
    next = next_key(all.back().data());
  }
  return all;
}

// ---- ProgramHandle: one program reference ----

ProgramHandle::ProgramHandle(const ProgramHandle& other)
    : prog_(other.prog_), meta_(other.meta_), runtime_(other.runtime_) {
  if (prog_) prog_->acquire();
}

ProgramHandle::ProgramHandle(ProgramHandle&& other) noexcept
    : prog_(other.prog_), meta_(std::move(other.meta_)), runtime_(other.runtime_) {
  other.prog_ = nullptr;
}

ProgramHandle& ProgramHandle::operator=(ProgramHandle other) noexcept {
  std::swap(prog_, other.prog_);
  std::swap(meta_, other.meta_);
  std::swap(runtime_, other.runtime_);
  return *this;
}

ProgramHandle::~ProgramHandle() { reset(); }

void ProgramHandle::reset() {
  if (prog_) prog_->release();
  prog_ = nullptr;
}

const std::string& ProgramHandle::name() const { return meta_->name; }
const std::string& ProgramHandle::section() const { return meta_->section; }
uint32_t ProgramHandle::type() const { return static_cast<uint32_t>(prog_->type()); }
const char* ProgramHandle::type_name() const { return helpers::prog_type_name(prog_->type()); }
size_t ProgramHandle::insn_count() const { return prog_->insns().size(); }

std::vector<std::string> ProgramHandle::disassemble() const {
  std::vector<std::string> lines;
  const auto& insns = prog_->insns();
  for (size_t i = 0; i < insns.size(); ++i) {
    const isa::Insn* next = i + 1 < insns.size() ? &insns[i + 1] : nullptr;
    lines.push_back(isa::disassemble(insns[i], next));
    if (isa::is_ld_imm64(insns[i]) && next) {
      lines.emplace_back();  // the second slot belongs to the ld_imm64 above
      ++i;
    }
  }
  return lines;
}

// ---- Object ----

Object::Object(Object&&) noexcept = default;
Object& Object::operator=(Object&&) noexcept = default;
Object::~Object() {
  // Programs first, then maps: the same order as a process exit closing its fds.
  release_programs();
  release_all_maps();
}

const ProgramHandle* Object::program(std::string_view name) const {
  for (const auto& prog : programs_)
    if (prog.valid() && prog.name() == name) return &prog;
  return nullptr;
}

MapHandle Object::map(std::string_view name) const {
  for (size_t i = 0; i < maps_.size(); ++i)
    if (map_names_[i] == name) return maps_[i];
  return {};
}

bool Object::release_map(std::string_view name) {
  for (size_t i = 0; i < maps_.size(); ++i) {
    if (map_names_[i] == name) {
      maps_[i].reset();
      return true;
    }
  }
  return false;
}

void Object::release_all_maps() {
  for (auto& map : maps_) map.reset();
}

void Object::release_programs() {
  for (auto& prog : programs_) prog.reset();
}

}  // namespace hourglass
