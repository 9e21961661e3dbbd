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
