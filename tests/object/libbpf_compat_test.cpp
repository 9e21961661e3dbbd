// Cross-check against libbpf itself: bpf_object__open_mem() parses the same objects without a
// kernel, so its programs and maps (names, types, sizes, flags, order) must match ours.
#include <bpf/libbpf.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>

#include "object_test_util.h"

namespace hourglass::object::testing {
namespace {

struct LibbpfObjectDeleter {
  void operator()(bpf_object* object) const { bpf_object__close(object); }
};

class LibbpfCompat : public ::testing::TestWithParam<std::string> {};

TEST_P(LibbpfCompat, ProgramsAndMapsMatchLibbpf) {
  const std::vector<uint8_t> bytes = read_bytes(prog_path(GetParam()));
  ASSERT_FALSE(bytes.empty());
  std::unique_ptr<bpf_object, LibbpfObjectDeleter> theirs(
      bpf_object__open_mem(bytes.data(), bytes.size(), nullptr));
  ASSERT_NE(theirs, nullptr) << "libbpf cannot open " << GetParam();
  ObjectSpec ours = load_ok(GetParam());

  size_t program_count = 0;
  bpf_program* program = nullptr;
  bpf_object__for_each_program(program, theirs.get()) {
    ASSERT_LT(program_count, ours.programs.size());
    const ProgramSpec& mine = ours.programs[program_count++];
    SCOPED_TRACE(mine.name);
    EXPECT_EQ(mine.name, bpf_program__name(program));
    EXPECT_EQ(mine.section, bpf_program__section_name(program));
    if (mine.type != helpers::ProgType::Unspec) {
      EXPECT_EQ(static_cast<uint32_t>(mine.type), static_cast<uint32_t>(bpf_program__type(program)));
    }
    // Before loading, libbpf holds only the entry function: our image starts with it.
    const size_t entry_size = mine.func_info.size() > 1 ? mine.func_info[1].insn_index
                                                        : mine.insns.size();
    EXPECT_EQ(entry_size, bpf_program__insn_cnt(program));
  }
  EXPECT_EQ(program_count, ours.programs.size());

  std::vector<const MapSpec*> real_maps;
  for (const MapSpec& spec : ours.maps) {
    if (!spec.is_inner_template) real_maps.push_back(&spec);
  }
  size_t map_count = 0;
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, theirs.get()) {
    ASSERT_LT(map_count, real_maps.size());
    const MapSpec& mine = *real_maps[map_count++];
    SCOPED_TRACE(mine.name);
    if (!bpf_map__is_internal(map)) {
      EXPECT_EQ(mine.name, bpf_map__name(map));
    }
    EXPECT_EQ(static_cast<uint32_t>(mine.attr.type), static_cast<uint32_t>(bpf_map__type(map)));
    EXPECT_EQ(mine.attr.key_size, bpf_map__key_size(map));
    EXPECT_EQ(mine.attr.value_size, bpf_map__value_size(map));
    EXPECT_EQ(mine.attr.max_entries, bpf_map__max_entries(map));
    // Deliberate difference: every global data map is BPF_F_MMAPABLE here, while libbpf leaves
    // it off for sections without a non-static variable (e.g. .rodata.str1.1).
    const uint32_t mmapable_ignored = bpf_map__is_internal(map) ? maps::kFlagMmapable : 0;
    EXPECT_EQ(mine.attr.map_flags & ~mmapable_ignored, bpf_map__map_flags(map) & ~mmapable_ignored);
    if (bpf_map__is_internal(map)) {
      EXPECT_NE(mine.attr.map_flags & maps::kFlagMmapable, 0u);
    }
    const bpf_map* inner = bpf_map__inner_map(map);
    EXPECT_EQ(inner != nullptr, mine.inner_map_index >= 0);
    if (inner != nullptr && mine.inner_map_index >= 0) {
      const MapSpec& template_spec = ours.maps[mine.inner_map_index];
      EXPECT_EQ(static_cast<uint32_t>(template_spec.attr.type),
                static_cast<uint32_t>(bpf_map__type(inner)));
      EXPECT_EQ(template_spec.attr.value_size, bpf_map__value_size(inner));
    }
  }
  EXPECT_EQ(map_count, real_maps.size());
}

// Every object built from tests/progs except the deliberately broken obj_err_* ones: the other
// parts' programs are real-world input for the loader too.
std::vector<std::string> all_test_objects() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(HG_TEST_PROGS_DIR, error)) {
    const std::string file = entry.path().filename().string();
    const std::string suffix = ".bpf.o";
    if (file.size() <= suffix.size() ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string name = file.substr(0, file.size() - suffix.size());
    if (name.rfind("obj_err_", 0) != 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The listing must at least hold this part's own objects, or the suite below checks nothing.
TEST(LibbpfCompatListing, FindsTheObjectTestPrograms) {
  const std::vector<std::string> names = all_test_objects();
  for (const char* name : {"obj_sections", "obj_maps", "obj_kfunc_globals"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTestProgs, LibbpfCompat, ::testing::ValuesIn(all_test_objects()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace hourglass::object::testing
