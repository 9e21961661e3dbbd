// Every compiled test program (tests/progs/*.bpf.o) and example (examples/*/*.bpf.c) must pass the
// verifier: parse each object with object::parse_object_file and verify each of its programs the
// way the runtime will (map attributes from the specs, kfunc prototypes by name, BTF func and
// line info).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "helpers/proto.h"
#include "object_inputs.h"
#include "object/object.h"
#include "verifier/verifier.h"

namespace hourglass::verifier {
namespace {

namespace fs = std::filesystem;

using test_objects::input_for;
using test_objects::objects_in;

// Programs written for other parts' tests that the kernel's verifier would reject as well, with
// the reason: they must keep failing for exactly that reason (and nothing else may fail).
struct KnownRejection {
  const char* object;
  const char* program;
  const char* reason;
};
// Programs that must keep failing, for that reason. Only one, built to be rejected (for the CLI's
// error paths, as obj_err_* are for the loader); every other program of tests/progs and examples
// verifies (vm_checksum_prog, once listed here, now bounds its `% 48` slot explicitly).
constexpr KnownRejection kKnownRejections[] = {
    {"verif_reject.bpf.o", "verif_reject_modulo", "invalid unbounded variable-offset read from stack"},
};

const KnownRejection* known_rejection(const std::string& object, const std::string& program) {
  for (const KnownRejection& k : kKnownRejections)
    if (object == k.object && program == k.program) return &k;
  return nullptr;
}

void verify_all_in(const std::string& dir, size_t* verified) {
  for (const std::string& path : objects_in(dir)) {
    auto spec = object::parse_object_file(path);
    const std::string name = fs::path(path).filename().string();
    if (!spec.ok()) {
      // Objects built to exercise the loader's own error paths never reach the verifier.
      EXPECT_TRUE(name.starts_with("obj_err_")) << path << ": " << spec.error().message;
      continue;
    }
    for (const object::ProgramSpec& prog : spec->programs) {
      const VerifyInput input = input_for(*spec, prog);
      // A program calling a kfunc the helper table does not provide cannot run here; the
      // runtime refuses it before verification.
      if (std::find(input.kfuncs.begin(), input.kfuncs.end(), nullptr) != input.kfuncs.end() &&
          name.starts_with("obj_"))
        continue;
      auto result = verify(input);
      if (const KnownRejection* known = known_rejection(name, prog.name)) {
        ASSERT_FALSE(result.ok()) << name << ": " << prog.name << " is now accepted";
        EXPECT_NE(result.error().message.find(known->reason), std::string::npos)
            << result.error().message;
        continue;
      }
      if (!result.ok()) {
        VerifyInput verbose = input_for(*spec, prog);
        verbose.verbose_log = true;
        auto again = verify(verbose);
        ADD_FAILURE() << name << ": " << (again.ok() ? result.error().message : again.error().message);
        continue;
      }
      // clang initialises whatever these programs read, so no frame needs zeroing by the vm
      // (reads of never-written stack: corpus_uninit_stack_test.cpp), except in the one
      // program written to leave a key's padding unset.
      const bool padding_unset = name == "uninit_stack.bpf.o" && prog.name == "lookup_padded";
      for (const SubprogInfo& sub : result->subprogs)
        EXPECT_EQ(sub.reads_uninit_stack, padding_unset) << name << ": " << prog.name << "/" << sub.name;
      ++*verified;
    }
  }
}

TEST(Objects, EveryTestProgramVerifies) {
  size_t verified = 0;
  verify_all_in(HG_TEST_PROGS_DIR, &verified);
  EXPECT_GT(verified, 5u);
}

// verif_shapes.bpf.c: clang's own output for callbacks and timers, checked in detail.
TEST(Objects, ShapesReportCallbacks) {
  auto spec = object::parse_object_file(std::string(HG_TEST_PROGS_DIR) + "/verif_shapes.bpf.o");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  std::map<std::string, VerifyOutput> outputs;
  for (const object::ProgramSpec& prog : spec->programs) {
    auto result = verify(input_for(*spec, prog));
    ASSERT_TRUE(result.ok()) << result.error().message;
    outputs[prog.name] = std::move(*result);
  }
  ASSERT_EQ(outputs.size(), 4u);
  auto find = [&](const std::string& prog, const std::string& sub) -> const SubprogInfo* {
    for (const SubprogInfo& info : outputs[prog].subprogs)
      if (info.name == sub) return &info;
    return nullptr;
  };
  const SubprogInfo* tick = find("verif_timer", "tick");
  ASSERT_NE(tick, nullptr);
  EXPECT_TRUE(tick->is_async_callback);
  ASSERT_NE(find("verif_callbacks", "add_index"), nullptr);
  EXPECT_TRUE(find("verif_callbacks", "add_index")->is_callback);
  EXPECT_TRUE(find("verif_callbacks", "add_value")->is_callback);
  ASSERT_NE(find("verif_loops", "fold"), nullptr);
  EXPECT_GE(outputs["verif_loops"].stats.max_stack_depth, 64u);  // values[16] + fold's frame
}

// Pruning keeps clang's loops around switch-lowered calls cheap: vm_checksum_prog takes 198k
// processed instructions with the kernel's spacing of loop checkpoints (20 jumps / 100 insns),
// 11k with explore.cpp's (4 / 16, with eviction).
TEST(Objects, PruningKeepsVmChecksumSmall) {
  auto spec = object::parse_object_file(std::string(HG_TEST_PROGS_DIR) + "/vm_programs.bpf.o");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  for (const object::ProgramSpec& prog : spec->programs) {
    if (prog.name != "vm_checksum_prog") continue;
    auto result = verify(input_for(*spec, prog));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_LT(result->stats.insns_processed, 50000u);
    return;
  }
  FAIL() << "vm_checksum_prog not found";
}

TEST(Objects, EveryExampleVerifies) {
  size_t verified = 0;
  verify_all_in(HG_EXAMPLES_DIR, &verified);
  if (!fs::exists(HG_EXAMPLES_DIR)) GTEST_SKIP() << "examples not built";
}

}  // namespace
}  // namespace hourglass::verifier
