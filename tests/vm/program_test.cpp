// Program::create: encoding checks with the instruction index, relocation binding (maps, map
// values, helpers, kfuncs), map references, and the RunContext a run sets up.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>

#include "common/run_context.h"
#include "helpers/helpers.h"
#include "maps/epoch.h"
#include "maps/map.h"
#include "support.h"

namespace hourglass::vm::testing {
namespace {

// A map the test can watch die, with an optional direct value (like a .data section).
std::atomic<int> fake_maps_alive{0};

class FakeMap final : public maps::Map {
 public:
  explicit FakeMap(bool with_value) : Map(attr()), with_value_(with_value) { ++fake_maps_alive; }
  ~FakeMap() override { --fake_maps_alive; }
  static maps::MapAttr attr() {
    maps::MapAttr attr;
    attr.type = maps::MapType::Array;
    attr.name = "fake";
    attr.key_size = 4;
    attr.value_size = sizeof(value);
    attr.max_entries = 1;
    return attr;
  }
  void* lookup(const void*) override { return value; }
  long update(const void*, const void*, uint64_t) override { return -EOPNOTSUPP; }
  long remove(const void*) override { return -EOPNOTSUPP; }
  long for_each(const std::function<long(const void*, void*)>&) override { return 0; }
  const void* key_of_value(const void*, uint32_t* scratch) const override { return scratch; }
  void* direct_value_base() override { return with_value_ ? value : nullptr; }
  long get_next_key(const void*, void*) override { return -ENOENT; }
  uint32_t element_count() const override { return 1; }

  alignas(8) uint8_t value[32] = {};

 private:
  bool with_value_;
};

Result<Program*> create(std::vector<isa::Insn> insns, std::vector<maps::Map*> maps = {},
                        std::vector<helpers::HelperFn> kfuncs = {}) {
  return create_program("test_prog", std::move(insns), std::move(maps), std::move(kfuncs));
}

std::string create_error(std::vector<isa::Insn> insns, std::vector<maps::Map*> maps = {}) {
  auto program = create(std::move(insns), std::move(maps));
  if (program.ok()) {
    (*program)->release();
    return "(accepted)";
  }
  return program.error().message;
}

TEST(Create, RejectsMalformedEncodingsNamingTheInstruction) {
  EXPECT_EQ(create_error({}), "empty program");
  EXPECT_EQ(create_error({insn(0xb7, 0, 0, 0, 1), insn(0x8f), insn(0x95)}),
            "instruction 1: unknown opcode 0x8f");
  EXPECT_EQ(create_error({insn(0x05, 0, 0, 5), insn(0x95)}),
            "instruction 0: jump out of range (target 6)");
  EXPECT_EQ(create_error({insn(0x15, 1, 0, -2), insn(0x95)}),
            "instruction 0: jump out of range (target -1)");
  EXPECT_EQ(create_error({insn(0x05, 0, 0, 1), insn(0x18, 0, 0, 0, 1), insn(0), insn(0x95)}),
            "instruction 0: jump into the middle of ld_imm64 at 2");
  EXPECT_EQ(create_error({insn(0xb7), insn(0x18, 0, 0, 0, 1)}), "instruction 1: truncated ld_imm64");
  EXPECT_EQ(create_error({insn(0x18, 0, 0, 0, 1), insn(0x95), insn(0x95)}),
            "instruction 1: bad second slot of ld_imm64");
  EXPECT_EQ(create_error({insn(0xb7, 11, 0, 0, 1), insn(0x95)}), "instruction 0: bad register r11");
  EXPECT_EQ(create_error({insn(0xbf, 0, 12), insn(0x95)}), "instruction 0: bad register r12");
  EXPECT_EQ(create_error({insn(0x85, 0, 1, 0, 5), insn(0x95)}),
            "instruction 0: call out of range (target 6)");
  EXPECT_EQ(create_error({insn(0x20, 0, 0, 0, 1), insn(0x95)}),
            "instruction 0: legacy packet access (BPF_ABS/BPF_IND) is not supported");
}

TEST(Create, UnknownHelperAndKfunc) {
  EXPECT_EQ(create_error({insn(0xb7), insn(0x85, 0, 0, 0, 9999), insn(0x95)}),
            "instruction 1: unknown helper id 9999");
  auto kfunc = create({insn(0x85, 0, isa::kPseudoKfuncCall, 0, 0), insn(0x95)}, {}, {nullptr});
  ASSERT_FALSE(kfunc.ok());
  EXPECT_EQ(kfunc.error().message, "instruction 0: unresolved kfunc index 0");
}

TEST(Create, BadMapReferences) {
  std::vector<isa::Insn> program;
  append_ld_imm64(program, 1, isa::kPseudoMapFd, 2);
  program.push_back(insn(0x95));
  EXPECT_EQ(create_error(program), "instruction 0: bad map index 2");

  auto* no_value = new FakeMap(false);
  std::vector<isa::Insn> value_ref;
  append_ld_imm64(value_ref, 1, isa::kPseudoMapValue, 0, 0);
  value_ref.push_back(insn(0x95));
  EXPECT_EQ(create_error(value_ref, {no_value}),
            "instruction 0: map 'fake' has no direct value access");
  no_value->release();
  maps::synchronize();
  EXPECT_EQ(fake_maps_alive.load(), 0) << "a rejected program must drop the map references it took";
}

// The program holds one reference on each map it uses and drops it when freed.
TEST(Create, MapValueRelocationAndReferences) {
  auto* map = new FakeMap(true);
  const uint64_t magic = 0x1122334455667788;
  std::memcpy(map->value + 8, &magic, sizeof(magic));
  std::vector<isa::Insn> insns;
  append_ld_imm64(insns, 1, isa::kPseudoMapValue, 0, 8);  // r1 = &value[8]
  append(insns, {"ldxdw %r0, [%r1]"});
  append_ld_imm64(insns, 2, isa::kPseudoMapFd, 0);  // r2 = the Map* itself, same map again
  append(insns, {"mov %r3, 0x42", "stxb [%r1+8], %r3", "exit"});
  auto program = create(insns, {map});
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder holder(*program);
  auto r0 = holder->run(0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, magic);
  EXPECT_EQ(map->value[16], 0x42);

  map->release();  // ours; the program still holds one
  maps::synchronize();
  EXPECT_EQ(fake_maps_alive.load(), 1);
  holder.program->release();
  holder.program = nullptr;
  maps::synchronize();
  EXPECT_EQ(fake_maps_alive.load(), 0);
}

// Kfuncs use the helper calling convention; while one runs, the RunContext names the program
// and its environment, and an EpochGuard is held.
struct Observed {
  ProgramRef* program = nullptr;
  const HelperEnv* env = nullptr;
  bool in_epoch = false;
};
thread_local Observed observed;

uint64_t observe(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t) {
  RunContext* run = current_run();
  observed.program = run ? run->program : nullptr;
  observed.env = run ? run->env : nullptr;
  observed.in_epoch = maps::in_epoch();
  return r1 + r2;
}

TEST(Run, KfuncSeesRunContext) {
  HelperEnv env;
  ImageInput input;
  input.engine = kTestEngine;
  input.name = "observer";
  input.insns = assemble_or_die({"mov %r1, 40", "mov %r2, 2", "call runtime 0", "exit"});
  input.kfuncs = {observe};
  input.env = &env;
  auto program = Program::create(std::move(input));
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder holder(*program);
  EXPECT_STREQ(holder->name(), "observer");
  auto r0 = holder->run(0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 42u);
  EXPECT_EQ(observed.program, holder.program);
  EXPECT_EQ(observed.env, &env);
  EXPECT_TRUE(observed.in_epoch);
  EXPECT_EQ(current_run(), nullptr) << "the run context must be restored after the run";
}

TEST(Run, ArgumentsAndHelpersFromTheTable) {
  // bpf_get_smp_processor_id (8) reads the thread's vCPU.
  set_current_vcpu(3);
  // R1-R5 are clobbered by a call: keep the arguments in callee-saved registers.
  auto program = create(assemble_or_die(
      {"mov %r6, %r1", "mov %r7, %r5", "call 8", "add %r0, %r6", "add %r0, %r7", "exit"}));
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder holder(*program);
  auto r0 = holder->run(100, 0, 0, 0, 1000);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 1103u);
  set_current_vcpu(0);
}

TEST(Run, FallingOffTheEndIsAnError) {
  auto program = create(assemble_or_die({"mov %r0, 1", "jeq %r0, 2, -2"}));
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder holder(*program);
  auto r0 = holder->run(0);
  ASSERT_FALSE(r0.ok());
  EXPECT_EQ(r0.error().message, "instruction 2: fell off the end of the program");
}

TEST(Run, RefCounting) {
  auto program = create(assemble_or_die({"mov %r0, 0", "exit"}));
  ASSERT_TRUE(program.ok());
  Program* prog = *program;
  prog->acquire();
  EXPECT_TRUE(prog->try_acquire());
  prog->release();
  prog->release();
  EXPECT_TRUE(prog->try_acquire());
  prog->release();
  prog->release();  // frees it
}

TEST(HelperName, ReadsTheTable) {
  EXPECT_STREQ(helper_name(1), "bpf_map_lookup_elem");
  EXPECT_EQ(helper_name(100000), nullptr);
  EXPECT_EQ(isa::disassemble(insn(0x85, 0, 0, 0, 1), nullptr, helper_name),
            "call bpf_map_lookup_elem#1");
}

}  // namespace
}  // namespace hourglass::vm::testing
