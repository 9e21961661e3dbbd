// Clang-compiled programs (tests/progs/vm_programs.bpf.c) loaded with object/ and run by the
// interpreter: results must match the same C code compiled for the host.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "maps/epoch.h"
#include "maps/map.h"
#include "object/object.h"
#include "support.h"
#include "vm_programs_shared.h"

namespace hourglass::vm::testing {
namespace {

// Every map and program of one object, created the way the runtime does it (without verifying).
class LoadedObject {
 public:
  ~LoadedObject() {
    for (maps::Map* map : maps_) {
      if (!map || map->type() != maps::MapType::ProgArray) continue;
      for (uint32_t key = 0; key < map->attr().max_entries; ++key) (void)map->remove(&key);
    }
    for (auto& [name, program] : programs_) program->release();
    for (maps::Map* map : maps_)
      if (map) map->release();
    maps::synchronize();
    maps::synchronize();
  }

  Status load(const std::string& path) {
    auto spec = object::parse_object_file(path);
    if (!spec.ok()) return spec.take_error();
    spec_ = std::move(*spec);
    for (const object::MapSpec& map_spec : spec_.maps) {
      if (map_spec.is_inner_template) {
        maps_.push_back(nullptr);
        continue;
      }
      auto map = maps::create_map(map_spec.attr);
      if (!map.ok()) return make_error(map.error().code, map_spec.name + ": " + map.error().message);
      maps_.push_back(*map);
      if (!map_spec.initial_data.empty())
        std::memcpy((*map)->direct_value_base(), map_spec.initial_data.data(), map_spec.initial_data.size());
    }
    for (const object::ProgramSpec& prog_spec : spec_.programs) {
      ImageInput input;
      input.engine = kTestEngine;
      input.name = prog_spec.name;
      input.type = prog_spec.type;
      input.insns = prog_spec.insns;
      input.maps = maps_;
      for (const auto& func : prog_spec.func_info) input.subprog_names.emplace_back(func.insn_index, func.name);
      auto program = Program::create(std::move(input));
      if (!program.ok()) return make_error(program.error().code, prog_spec.name + ": " + program.error().message);
      programs_[prog_spec.name] = *program;
    }
    return {};
  }

  Program* program(const std::string& name) const {
    auto found = programs_.find(name);
    return found == programs_.end() ? nullptr : found->second;
  }
  maps::Map* map(const std::string& name) const {
    for (size_t i = 0; i < spec_.maps.size(); ++i)
      if (spec_.maps[i].name == name) return maps_[i];
    return nullptr;
  }

 private:
  object::ObjectSpec spec_;
  std::vector<maps::Map*> maps_;
  std::map<std::string, Program*> programs_;
};

class BpfPrograms : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = object_.load(std::string(HG_TEST_PROGS_DIR) + "/vm_programs.bpf.o");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  }
  LoadedObject object_;
};

TEST_F(BpfPrograms, ChecksumMatchesTheHostBuild) {
  Program* program = object_.program("vm_checksum_prog");
  ASSERT_NE(program, nullptr);
  for (int32_t seed : {0, 1, -5, 12345, -99999}) {
    for (uint32_t len : {0u, 1u, 17u, 64u}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " len " + std::to_string(len));
      vm_input in_vm{}, in_host{};
      for (int i = 0; i < 64; ++i) in_vm.data[i] = static_cast<uint8_t>(i * 37 + seed);
      in_vm.len = len;
      in_vm.seed = seed;
      in_host = in_vm;
      const int expected = static_cast<int>(vm_checksum(&in_host));
      auto r0 = program->run(reinterpret_cast<uint64_t>(&in_vm));
      ASSERT_TRUE(r0.ok()) << r0.error().message;
      EXPECT_EQ(static_cast<int>(*r0), expected);
      EXPECT_EQ(in_vm.out[0], in_host.out[0]);
      EXPECT_EQ(in_vm.out[1], in_host.out[1]);
      EXPECT_EQ(in_vm.out[2], in_host.out[2]);
    }
  }
}

TEST_F(BpfPrograms, BpfLoopCallback) {
  Program* program = object_.program("vm_loop_prog");
  ASSERT_NE(program, nullptr);
  vm_input in{};
  in.len = 10;
  auto r0 = program->run(reinterpret_cast<uint64_t>(&in));
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(in.out[0], 285u);  // 0² + ... + 9²
  EXPECT_EQ(in.out[1], 11u);   // ten iterations plus the one that stopped
}

TEST_F(BpfPrograms, GlobalDataThroughMapValues) {
  Program* program = object_.program("vm_global_prog");
  ASSERT_NE(program, nullptr);
  vm_input in{};
  ASSERT_TRUE(program->run(reinterpret_cast<uint64_t>(&in)).ok());
  EXPECT_EQ(in.out[0], 1005u);
  ASSERT_TRUE(program->run(reinterpret_cast<uint64_t>(&in)).ok());
  EXPECT_EQ(in.out[0], 1010u);
}

TEST_F(BpfPrograms, TailCallThroughProgArray) {
  Program* entry = object_.program("vm_tail_entry");
  Program* target = object_.program("vm_tail_target");
  maps::Map* table = object_.map("vm_jump_table");
  ASSERT_TRUE(entry && target && table);
  vm_input in{};
  auto r0 = entry->run(reinterpret_cast<uint64_t>(&in));
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 99u) << "empty slot: falls through";
  EXPECT_EQ(in.out[0], 2u);

  const uint32_t slot = 0;
  ASSERT_EQ(table->update_program(&slot, target, maps::kAny), 0);
  in = vm_input{};
  r0 = entry->run(reinterpret_cast<uint64_t>(&in));
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 7u);
  EXPECT_EQ(in.out[0], 1u);
  EXPECT_EQ(in.out[1], 1u);
}

}  // namespace
}  // namespace hourglass::vm::testing
