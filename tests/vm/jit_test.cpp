// The JIT against the interpreter: every conformance file and every clang-compiled test program
// must be translated (no silent fallback) and give the interpreter's result, memory and errors.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "data_file.h"
#include "object/object.h"
#include "support.h"
#include "vm/image.h"
#include "vm/jit_x86.h"

namespace hourglass::vm::testing {
namespace {

uint64_t fake_ktime(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return 42; }
helpers::HelperFn raw_resolver(int32_t id) { return id == 5 ? fake_ktime : nullptr; }

// True when `insns` prepares and the JIT translates every instruction.
bool jit_translates(const std::vector<isa::Insn>& insns) {
  ImageInput input;
  input.insns = insns;
  input.engine = Engine::Jit;
  Program::Impl image;
  if (!prepare_image(image, input, raw_resolver).ok()) return true;  // refused before any engine
  return jit_compile(image) != nullptr;
}

std::vector<std::string> conformance_files() {
  std::vector<std::string> files;
  if (DIR* dir = opendir(HG_CONFORMANCE_DIR)) {
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name.size() > 5 && name.substr(name.size() - 5) == ".data")
        files.push_back(std::string(HG_CONFORMANCE_DIR) + "/" + name);
    }
    closedir(dir);
  }
  return files;
}

TEST(JitConformance, EveryFileTranslatesAndMatchesTheInterpreter) {
  const auto files = conformance_files();
  ASSERT_GE(files.size(), 300u);
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    std::ifstream stream(path);
    std::stringstream text;
    text << stream.rdbuf();
    auto test_case = conformance::parse_data_file(text.str());
    ASSERT_TRUE(test_case.ok()) << test_case.error().message;
    if (test_case->skip_reason) continue;
    EXPECT_TRUE(jit_translates(test_case->program));
    std::vector<uint8_t> interpreted_memory = test_case->memory, jit_memory = test_case->memory;
    auto interpreted = run_raw(test_case->program, interpreted_memory.data(),
                               interpreted_memory.size(), Engine::Interpreter);
    auto jitted = run_raw(test_case->program, jit_memory.data(), jit_memory.size(), Engine::Jit);
    ASSERT_EQ(interpreted.ok(), jitted.ok());
    if (interpreted.ok()) {
      bool calls_ktime = false;  // bpf_ktime_get_ns differs between the two runs
      for (const isa::Insn& insn : test_case->program)
        calls_ktime |= insn.opcode == isa::kOpCall && insn.src == 0 && insn.imm == 5;
      if (!calls_ktime) {
        EXPECT_EQ(*interpreted, *jitted);
      }
    } else {
      EXPECT_EQ(interpreted.error().message, jitted.error().message);
    }
    EXPECT_EQ(interpreted_memory, jit_memory);
  }
}

TEST(JitErrors, SameMessagesAsTheInterpreter) {
  const std::vector<std::vector<std::string>> programs = {
      {"mov %r0, 1"},                       // falls off the end
      {"mov %r1, 99", "call %r1", "exit"},  // unknown callx target
      {"mov %r1, 7", "call local f", "exit", "f:", "mov %r0, 0", "jeq %r1, 0, +3", "sub %r1, 1",
       "call local f", "add %r0, 1", "exit"},  // nine frames
  };
  for (const auto& lines : programs) {
    auto interpreted = run_raw(assemble_or_die(lines), nullptr, 0, Engine::Interpreter);
    auto jitted = run_raw(assemble_or_die(lines), nullptr, 0, Engine::Jit);
    ASSERT_FALSE(interpreted.ok());
    ASSERT_FALSE(jitted.ok());
    EXPECT_EQ(interpreted.error().message, jitted.error().message);
  }
}

// Runs `lines` on both engines; both must succeed with the same R0, which is returned.
uint64_t run_both(const std::vector<std::string>& lines) {
  auto interpreted = run_raw(assemble_or_die(lines), nullptr, 0, Engine::Interpreter);
  auto jitted = run_raw(assemble_or_die(lines), nullptr, 0, Engine::Jit);
  EXPECT_TRUE(interpreted.ok()) << interpreted.error().message;
  EXPECT_TRUE(jitted.ok()) << jitted.error().message;
  if (!interpreted.ok() || !jitted.ok()) return UINT64_MAX;
  EXPECT_EQ(*interpreted, *jitted);
  return *jitted;
}

// The JIT folds "if cond goto +1; goto L" into one negated jump: every condition, both widths.
TEST(JitFusedPatterns, NegatedLoopBackEdgesCountLikeTheInterpreter) {
  const char* conditions[] = {"jeq", "jne", "jset", "jgt", "jge", "jlt",
                              "jle", "jsgt", "jsge", "jslt", "jsle"};
  for (const char* condition : conditions) {
    for (const std::string width : {"", "32"}) {
      SCOPED_TRACE(condition + width);
      // r1 counts up from -5; the loop ends when `r1 <condition> 3` holds (or after 100 rounds).
      const uint64_t rounds = run_both({"mov %r0, 0", "mov %r1, -5", "loop:", "add %r0, 1",
                                        "add %r1, 1", "jgt %r0, 99, +2",
                                        std::string(condition) + width + " %r1, 3, +1", "ja loop",
                                        "exit"});
      EXPECT_GE(rounds, 1u);
      EXPECT_LE(rounds, 100u);
    }
  }
  EXPECT_EQ(run_both({"mov %r0, 0", "mov %r1, -5", "loop:", "add %r0, 1", "add %r1, 1",
                      "jsgt %r1, 3, +1", "ja loop", "exit"}),
            9u);
}

TEST(JitFusedPatterns, AJumpIntoAPairKeepsBothInstructions) {
  // The jump at 1 lands on the "ja" of the pair at 3-4; folded, it would land past it (r0 = 1).
  EXPECT_EQ(run_both({"mov %r0, 1", "ja +2", "mov %r0, 2", "jeq %r0, 2, +1", "ja +1", "exit",
                      "add %r0, 10", "exit"}),
            11u);
  // The jump lands on the "add" of "r2 = r1; r2 += 7": r2 = 1 + 7, not 5 + 7.
  EXPECT_EQ(run_both({"mov %r1, 5", "mov %r2, 1", "jeq %r1, 5, +1", "mov %r2, %r1", "add %r2, 7",
                      "mov %r0, %r2", "exit"}),
            8u);
}

TEST(JitFusedPatterns, AddressArithmeticBecomesLea) {
  // r2 = r1 + 7 + r3, with negative and large immediates, and the "+= itself" case (no lea).
  EXPECT_EQ(run_both({"mov %r1, 5", "mov %r3, 100", "mov %r2, %r1", "add %r2, 7", "add %r2, %r3",
                      "mov %r0, %r2", "exit"}),
            112u);
  EXPECT_EQ(run_both({"mov %r1, 5", "mov %r2, %r1", "add %r2, -9", "mov %r0, %r2", "exit"}),
            static_cast<uint64_t>(-4));
  EXPECT_EQ(run_both({"mov %r1, 5", "mov %r2, %r1", "add %r2, 7", "add %r2, %r2", "mov %r0, %r2",
                      "exit"}),
            24u);
  EXPECT_EQ(run_both({"mov %r1, 5", "mov %r1, %r1", "add %r1, 0x7fffffff", "mov %r0, %r1",
                      "exit"}),
            0x80000004u);
  // The register first, then the immediate; a register alone; an add into another register
  // ends the shape.
  EXPECT_EQ(run_both({"mov %r1, 5", "mov %r3, 100", "mov %r2, %r1", "add %r2, %r3", "add %r2, -1",
                      "mov %r0, %r2", "exit"}),
            104u);
  EXPECT_EQ(run_both({"mov %r1, 5", "mov %r3, 100", "mov %r2, %r1", "add %r2, %r3", "add %r3, 1",
                      "mov %r0, %r2", "add %r0, %r3", "exit"}),
            206u);
  EXPECT_EQ(run_both({"mov %r1, 5", "mov %r2, %r1", "add %r2, %r2", "mov %r0, %r2", "exit"}), 10u);
  // A stack address: store through r2 = r10 - 16 + r3 (r3 = 8) and read it back at r10 - 8.
  EXPECT_EQ(run_both({"mov %r3, 8", "mov %r2, %r10", "add %r2, -16", "add %r2, %r3",
                      "stdw [%r2], 77", "ldxdw %r0, [%r10-8]", "exit"}),
            77u);
}

// Every program of tests/progs/vm_programs.bpf.o is translated by the JIT.
TEST(JitPrograms, ClangProgramsTranslate) {
  auto spec = object::parse_object_file(std::string(HG_TEST_PROGS_DIR) + "/vm_programs.bpf.o");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  std::vector<maps::Map*> maps;
  for (const object::MapSpec& map_spec : spec->maps) {
    auto map =
        map_spec.is_inner_template ? Result<maps::Map*>(nullptr) : maps::create_map(map_spec.attr);
    ASSERT_TRUE(map.ok()) << map.error().message;
    maps.push_back(*map);
  }
  ASSERT_FALSE(spec->programs.empty());
  for (const object::ProgramSpec& prog_spec : spec->programs) {
    ImageInput input;
    input.name = prog_spec.name;
    input.insns = prog_spec.insns;
    input.maps = maps;
    input.engine = Engine::Jit;
    auto program = Program::create(std::move(input));
    ASSERT_TRUE(program.ok()) << program.error().message;
    EXPECT_NE((*program)->image()->jit, nullptr) << prog_spec.name;
    (*program)->release();
  }
  for (maps::Map* map : maps)
    if (map) map->release();
}

TEST(JitPrograms, InterpreterEngineHasNoNativeCode) {
  ImageInput input;
  input.insns = assemble_or_die({"mov %r0, 3", "exit"});
  auto program = Program::create(std::move(input));
  ASSERT_TRUE(program.ok());
  EXPECT_EQ((*program)->image()->jit, nullptr);
  auto r0 = (*program)->run(0);
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(*r0, 3u);
  (*program)->release();
}

}  // namespace
}  // namespace hourglass::vm::testing
