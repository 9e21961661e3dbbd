// Map specs as parsed from real clang objects: BTF-defined maps of every shape, the special-field
// record, map-in-map and prog_array static initialisers, global data sections; and the map
// definition errors the loader must report by name.
#include <cstring>
#include <set>

#include "elf_editor.h"
#include "object_test_util.h"

namespace hourglass::object::testing {
namespace {

using maps::MapType;

class ObjectMaps : public ::testing::Test {
 protected:
  void SetUp() override { spec_ = load_ok("obj_maps"); }
  const MapSpec& map(const std::string& name) {
    const int index = map_index(spec_, name);
    EXPECT_GE(index, 0) << name;
    static const MapSpec missing;
    return index < 0 ? missing : spec_.maps[index];
  }
  ObjectSpec spec_;
};

// .maps maps by offset (libbpf's order; clang decides the layout), then data sections in ELF
// section order, then inner templates.
TEST_F(ObjectMaps, RealMapsKeepLibbpfOrderAndTemplatesComeLast) {
  const std::vector<std::string> defined = {"inner_b", "inner_a", "outer", "outer_hash",
                                            "jump_table",
                                            "timer_hash", "wq_array", "sized_array",
                                            "percpu_counts", "lru", "ring", "queue"};
  ElfEditor elf(read_bytes(prog_path("obj_maps")));
  std::vector<std::pair<uint64_t, std::string>> by_offset;
  for (const std::string& name : defined) {
    by_offset.emplace_back(elf.symbol(elf.symbol_index(name)).st_value, name);
  }
  std::sort(by_offset.begin(), by_offset.end());
  std::vector<std::string> expected;
  for (const auto& entry : by_offset) expected.push_back(entry.second);
  for (const char* name :
       {".data", ".rodata", ".bss", ".rodata.str1.1", "outer.inner", "outer_hash.inner"}) {
    expected.push_back(name);
  }
  std::vector<std::string> names;
  for (const MapSpec& spec : spec_.maps) names.push_back(spec.name);
  EXPECT_EQ(names, expected);
  for (const MapSpec& spec : spec_.maps) {
    EXPECT_EQ(spec.attr.name, spec.name);
    EXPECT_EQ(spec.is_inner_template, spec.name.find(".inner") != std::string::npos);
  }
}

TEST_F(ObjectMaps, TypedMapTakesSizesAndRecordFromBtf) {
  const MapSpec& timers = map("timer_hash");
  EXPECT_EQ(timers.kind, MapKind::Defined);
  EXPECT_EQ(timers.attr.type, MapType::Hash);
  EXPECT_EQ(timers.attr.key_size, 4u);
  EXPECT_EQ(timers.attr.value_size, 40u);
  EXPECT_EQ(timers.attr.max_entries, 64u);
  EXPECT_TRUE(timers.attr.has_value_btf);
  EXPECT_NE(timers.key_type_id, 0u);
  EXPECT_NE(timers.value_type_id, 0u);
  EXPECT_EQ(timers.attr.record.timer_off, 16);      // after u64 + struct nested (12 bytes)
  EXPECT_EQ(timers.attr.record.spin_lock_off, 12);  // inside the nested struct
  EXPECT_EQ(timers.attr.record.wq_off, -1);

  const MapSpec& work = map("wq_array");
  EXPECT_EQ(work.attr.record.wq_off, 0);
  EXPECT_EQ(work.attr.record.timer_off, -1);
  EXPECT_EQ(work.attr.record.spin_lock_off, -1);
  EXPECT_TRUE(map("lru").attr.record.empty());
}

TEST_F(ObjectMaps, SizedMapsFlagsPinningAndKeylessTypes) {
  const MapSpec& sized = map("sized_array");
  EXPECT_EQ(sized.attr.type, MapType::Array);
  EXPECT_EQ(sized.attr.key_size, 4u);
  EXPECT_EQ(sized.attr.value_size, 24u);
  EXPECT_EQ(sized.attr.max_entries, 4u);
  EXPECT_EQ(sized.attr.map_flags, maps::kFlagMmapable);
  EXPECT_FALSE(sized.attr.has_value_btf);
  EXPECT_EQ(sized.value_type_id, 0u);

  const MapSpec& percpu = map("percpu_counts");
  EXPECT_EQ(percpu.attr.type, MapType::PercpuArray);
  EXPECT_EQ(percpu.pinning, 1u);
  EXPECT_EQ(map("lru").attr.type, MapType::LruHash);
  EXPECT_EQ(map("lru").attr.key_size, 8u);

  const MapSpec& ring = map("ring");
  EXPECT_EQ(ring.attr.type, MapType::RingBuf);
  EXPECT_EQ(ring.attr.max_entries, 4096u);
  EXPECT_EQ(ring.attr.key_size, 0u);
  EXPECT_EQ(ring.attr.value_size, 0u);

  const MapSpec& queue = map("queue");
  EXPECT_EQ(queue.attr.type, MapType::Queue);
  EXPECT_EQ(queue.attr.key_size, 0u);
  EXPECT_EQ(queue.attr.value_size, 4u);
}

TEST_F(ObjectMaps, MapInMapHasInnerTemplateAndStaticSlots) {
  const MapSpec& outer = map("outer");
  EXPECT_EQ(outer.attr.type, MapType::ArrayOfMaps);
  EXPECT_EQ(outer.attr.key_size, 4u);
  EXPECT_EQ(outer.attr.value_size, 4u);
  EXPECT_EQ(outer.attr.max_entries, 4u);
  ASSERT_GE(outer.inner_map_index, 0);
  ASSERT_LT(static_cast<size_t>(outer.inner_map_index), spec_.maps.size());
  const MapSpec& inner = spec_.maps[outer.inner_map_index];
  EXPECT_EQ(inner.name, "outer.inner");
  EXPECT_TRUE(inner.is_inner_template);
  EXPECT_EQ(inner.attr.type, MapType::Array);
  EXPECT_EQ(inner.attr.key_size, 4u);
  EXPECT_EQ(inner.attr.value_size, 8u);
  EXPECT_EQ(inner.attr.max_entries, 1u);
  ASSERT_NE(outer.attr.inner_template, nullptr);
  EXPECT_EQ(outer.attr.inner_template->value_size, 8u);

  const std::vector<std::pair<uint32_t, uint32_t>> slots = {
      {1, static_cast<uint32_t>(map_index(spec_, "inner_b"))},
      {3, static_cast<uint32_t>(map_index(spec_, "inner_a"))}};
  EXPECT_EQ(outer.initial_slots, slots);
}

TEST_F(ObjectMaps, HashOfMapsGetsItsOwnTemplateAndSlots) {
  const MapSpec& outer = map("outer_hash");
  EXPECT_EQ(outer.attr.type, MapType::HashOfMaps);
  EXPECT_EQ(outer.attr.value_size, 4u);
  ASSERT_GE(outer.inner_map_index, 0);
  ASSERT_LT(static_cast<size_t>(outer.inner_map_index), spec_.maps.size());
  EXPECT_NE(outer.inner_map_index, map("outer").inner_map_index);
  EXPECT_EQ(spec_.maps[outer.inner_map_index].name, "outer_hash.inner");
  const std::vector<std::pair<uint32_t, uint32_t>> slots = {
      {5, static_cast<uint32_t>(map_index(spec_, "inner_a"))}};
  EXPECT_EQ(outer.initial_slots, slots);
}

TEST_F(ObjectMaps, ProgArrayInitialiserNamesProgramIndex) {
  const MapSpec& jumps = map("jump_table");
  EXPECT_EQ(jumps.attr.type, MapType::ProgArray);
  EXPECT_EQ(jumps.attr.value_size, 4u);
  EXPECT_EQ(jumps.inner_map_index, -1);
  ASSERT_EQ(jumps.initial_slots.size(), 1u);
  EXPECT_EQ(jumps.initial_slots[0].first, 2u);
  const uint32_t program = jumps.initial_slots[0].second;
  ASSERT_LT(program, spec_.programs.size());
  EXPECT_EQ(spec_.programs[program].name, "tail_target");
}

TEST_F(ObjectMaps, GlobalDataSectionsBecomeSingleElementArrays) {
  const MapSpec& data = map(".data");
  EXPECT_EQ(data.kind, MapKind::Data);
  EXPECT_EQ(data.attr.type, MapType::Array);
  EXPECT_EQ(data.attr.key_size, 4u);
  EXPECT_EQ(data.attr.max_entries, 1u);
  EXPECT_EQ(data.attr.map_flags, maps::kFlagMmapable);
  ASSERT_EQ(data.attr.value_size, 12u);
  ASSERT_EQ(data.initial_data.size(), 12u);
  uint64_t counter = 0;
  uint32_t second = 0;
  std::memcpy(&counter, data.initial_data.data(), 8);
  std::memcpy(&second, data.initial_data.data() + 8, 4);
  EXPECT_EQ(counter, 5u);
  EXPECT_EQ(second, 9u);
  EXPECT_NE(data.value_type_id, 0u);  // the DATASEC

  const MapSpec& rodata = map(".rodata");
  EXPECT_EQ(rodata.kind, MapKind::Rodata);
  EXPECT_EQ(rodata.attr.map_flags, maps::kFlagMmapable | maps::kFlagRdonlyProg);
  uint32_t limit = 0;
  ASSERT_GE(rodata.initial_data.size(), 4u);
  std::memcpy(&limit, rodata.initial_data.data(), 4);
  EXPECT_EQ(limit, 42u);

  const MapSpec& strings = map(".rodata.str1.1");
  EXPECT_EQ(strings.kind, MapKind::Rodata);
  const std::string text(strings.initial_data.begin(), strings.initial_data.end());
  EXPECT_NE(text.find("literal\n"), std::string::npos);

  const MapSpec& bss = map(".bss");
  EXPECT_EQ(bss.kind, MapKind::Bss);
  EXPECT_EQ(bss.attr.value_size, 40u);
  EXPECT_EQ(bss.initial_data, std::vector<uint8_t>(40, 0));
  EXPECT_EQ(bss.attr.map_flags, maps::kFlagMmapable);
}

Error load_error(const std::string& name) {
  Result<ObjectSpec> spec = parse_object_file(prog_path(name));
  EXPECT_FALSE(spec.ok()) << name << " loaded";
  return spec.ok() ? Error{} : spec.error();
}

TEST(ObjectMapErrors, TwoTimersInOneValueAreRefused) {
  Error error = load_error("obj_err_two_timers");
  EXPECT_NE(error.message.find("map 'doubled' has more than one 'struct bpf_timer'"),
            std::string::npos)
      << error.message;
}

TEST(ObjectMapErrors, UnknownMapTypeIsNamed) {
  Error error = load_error("obj_err_map_type");
  EXPECT_NE(error.message.find("map 'strange': unknown map type 99"), std::string::npos)
      << error.message;
}

TEST(ObjectMapErrors, CoreRelocationsAreRefused) {
  Error error = load_error("obj_err_core");
  EXPECT_NE(error.message.find("CO-RE"), std::string::npos) << error.message;
  EXPECT_EQ(error.code, ENOTSUP);
}

TEST(ObjectMapErrors, KconfigExternWithoutValueIsRefusedByName) {
  Error error = load_error("obj_err_kconfig");
  EXPECT_NE(error.message.find("kconfig extern 'CONFIG_HG_NOT_A_REAL_OPTION'"), std::string::npos)
      << error.message;
  EXPECT_NE(error.message.find("__weak"), std::string::npos) << error.message;
}

}  // namespace
}  // namespace hourglass::object::testing

namespace hourglass::object::testing {
namespace {

TEST(ObjectGlobals, CustomDataSectionKeepsSpinLockRecordAndStaticVariables) {
  ObjectSpec spec = load_ok("obj_kfunc_globals");
  const int custom = map_index(spec, ".bss.A");
  ASSERT_GE(custom, 0);
  const MapSpec& section_a = spec.maps[custom];
  EXPECT_EQ(section_a.kind, MapKind::Bss);
  EXPECT_EQ(section_a.attr.value_size, 24u);
  // clang picks the layout; the record must follow the lock's ELF symbol (BTF says offset 0).
  ElfEditor elf(read_bytes(prog_path("obj_kfunc_globals")));
  const auto lock_offset = static_cast<int32_t>(elf.symbol(elf.symbol_index("global_lock")).st_value);
  const auto count_offset = static_cast<int32_t>(elf.symbol(elf.symbol_index("locked_count")).st_value);
  EXPECT_NE(lock_offset, count_offset);
  EXPECT_NE(lock_offset, 0);
  EXPECT_EQ(section_a.attr.record.spin_lock_off, lock_offset);
  EXPECT_EQ(section_a.attr.record.timer_off, -1);

  const int data = map_index(spec, ".data");
  ASSERT_GE(data, 0);
  ASSERT_EQ(spec.maps[data].initial_data.size(), 4u);
  EXPECT_EQ(spec.maps[data].initial_data[0], 3);  // static hidden_state = 3
}

TEST(ObjectGlobals, KconfigExternsBecomeAReadOnlyMap) {
  ObjectSpec spec = load_ok("obj_kconfig");
  const int index = map_index(spec, ".kconfig");
  ASSERT_GE(index, 0);
  const MapSpec& kconfig = spec.maps[index];
  EXPECT_EQ(kconfig.kind, MapKind::Kconfig);
  EXPECT_EQ(kconfig.attr.type, maps::MapType::Array);
  EXPECT_EQ(kconfig.attr.map_flags, maps::kFlagRdonlyProg | maps::kFlagMmapable);
  // libbpf's layout: u64 (align 8) at 0, int at 8, bool at 12.
  ASSERT_EQ(kconfig.attr.value_size, 13u);
  ASSERT_EQ(kconfig.initial_data.size(), 13u);
  uint32_t version = 0;
  std::memcpy(&version, kconfig.initial_data.data() + 8, 4);
  EXPECT_EQ(version, (6u << 16) | (18u << 8));
  EXPECT_EQ(kconfig.initial_data[0], 0);
  EXPECT_EQ(kconfig.initial_data[12], 0);
  std::set<std::pair<int32_t, int32_t>> loads;  // (map index, offset) of ld_imm64 src=2
  const auto& insns = spec.programs.at(0).insns;
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    if (!isa::is_ld_imm64(insns[i])) continue;
    if (insns[i].src == isa::kPseudoMapValue) loads.emplace(insns[i].imm, insns[i + 1].imm);
    ++i;
  }
  EXPECT_EQ(loads, (std::set<std::pair<int32_t, int32_t>>{{index, 0}, {index, 8}, {index, 12}}));
}

TEST(ObjectGlobals, StrongKsymKfuncsResolveThroughKsymsDatasec) {
  ObjectSpec spec = load_ok("obj_kfunc_globals");
  ASSERT_EQ(spec.kfuncs.size(), 2u);
  EXPECT_EQ(spec.kfuncs[0].name, "bpf_rcu_read_lock");
  EXPECT_EQ(spec.kfuncs[1].name, "bpf_rcu_read_unlock");
  EXPECT_NE(spec.kfuncs[0].btf_type_id, 0u);
  EXPECT_NE(spec.kfuncs[0].btf_type_id, spec.kfuncs[1].btf_type_id);
  ASSERT_EQ(spec.programs.size(), 1u);
  std::vector<int32_t> kfunc_calls;
  for (const isa::Insn& insn : spec.programs[0].insns) {
    if (insn.opcode == isa::kOpCall && insn.src == isa::kPseudoKfuncCall) {
      kfunc_calls.push_back(insn.imm);
    }
  }
  EXPECT_EQ(kfunc_calls, (std::vector<int32_t>{0, 1}));
}

}  // namespace
}  // namespace hourglass::object::testing
