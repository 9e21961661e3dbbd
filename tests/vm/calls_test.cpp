// Calls: bpf-to-bpf frames and their limit, callx, tail calls through a prog_array (the 33-call
// limit, fall-through on failure), callbacks run through CallbackTarget, and errors of nested runs.
#include <gtest/gtest.h>

#include "common/run_context.h"
#include "maps/epoch.h"
#include "maps/map.h"
#include "support.h"

namespace hourglass::vm::testing {
namespace {

Result<Program*> create(std::vector<isa::Insn> insns, std::vector<maps::Map*> maps = {},
                        std::vector<helpers::HelperFn> kfuncs = {},
                        std::vector<std::pair<uint32_t, std::string>> names = {}) {
  return create_program("calls", std::move(insns), std::move(maps), std::move(kfuncs),
                        std::move(names));
}

TEST(LocalCalls, CalleeSavedRegistersAndOwnStackFrame) {
  auto r0 = run_text({
      "mov %r6, 6", "mov %r9, 9", "stdw [%r10-8], 111", "mov %r1, 5", "call local f",
      "ldxdw %r2, [%r10-8]", "jne %r2, 111, bad", "jne %r6, 6, bad", "jne %r9, 9, bad",
      "exit",  // r0 from f
      "bad:", "mov %r0, -1", "exit",
      "f:", "stdw [%r10-8], 222", "mov %r6, 0", "mov %r9, 0", "mov %r0, %r1", "add %r0, 1",
      "exit",
  });
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 6u);
}

// depth(n) = n == 0 ? 0 : depth(n - 1) + 1; main calls depth(N): N + 2 frames in all.
std::vector<std::string> recursion(int n) {
  return {"mov %r1, " + std::to_string(n), "call local depth", "exit",
          "depth:", "mov %r0, 0", "jeq %r1, 0, +4", "mov %r6, %r1", "sub %r1, 1",
          "call local depth", "add %r0, 1", "exit"};
}

TEST(LocalCalls, EightFramesAllowedNineRefused) {
  auto deepest = run_text(recursion(6));  // 8 frames
  ASSERT_TRUE(deepest.ok()) << deepest.error().message;
  EXPECT_EQ(*deepest, 6u);
  auto too_deep = run_text(recursion(7));  // 9 frames
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.error().message, "instruction 7: call stack deeper than 8 frames");
}

TEST(LocalCalls, FramesHaveSeparate512ByteStacks) {
  // Each level writes its depth at r10-512 (the lowest byte of its frame) and checks, after the
  // inner calls returned, that its value survived.
  auto r0 = run_text({
      "mov %r1, 6", "call local level", "exit",
      "level:", "stxb [%r10-512], %r1", "mov %r6, %r1", "mov %r0, 0", "jeq %r1, 0, +5",
      "sub %r1, 1", "call local level", "ldxb %r2, [%r10-512]", "jne %r2, %r6, +2",
      "add %r0, %r6", "exit", "mov %r0, 1000", "exit",
  });
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 6u + 5 + 4 + 3 + 2 + 1);
}

// ld_imm64 BPF_PSEUDO_FUNC yields a CallbackTarget; callx to it runs the subprogram as a call.
std::vector<isa::Insn> func_ref_program(const std::vector<std::string>& body,
                                        const std::vector<std::string>& subprog) {
  std::vector<isa::Insn> insns;
  // Slot 0-1: r7 = &callback(subprog right after the body).
  auto main_body = assemble_or_die(body);
  append_ld_imm64(insns, 7, isa::kPseudoFunc, static_cast<int32_t>(main_body.size() + 1));
  insns.insert(insns.end(), main_body.begin(), main_body.end());
  append(insns, subprog);
  return insns;
}

TEST(Callbacks, CallxToAFunctionReference) {
  auto program = create(func_ref_program({"mov %r1, 20", "mov %r2, 22", "call %r7", "exit"},
                                         {"mov %r0, %r1", "add %r0, %r2", "exit"}));
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder holder(*program);
  auto r0 = holder->run(0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 42u);
}

TEST(Callbacks, InvokeRunsTheSubprogramWithItsOwnFrame) {
  // main returns the CallbackTarget pointer itself.
  auto insns = func_ref_program({"mov %r0, %r7", "exit"},
                                {"stdw [%r10-8], 5", "ldxdw %r0, [%r10-8]", "mul %r0, %r1",
                                 "add %r0, %r2", "exit"});
  auto program = create(insns, {}, {}, {{0, "main"}, {4, "multiply_add"}});
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder holder(*program);
  auto r0 = holder->run(0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  const auto* target = reinterpret_cast<const CallbackTarget*>(*r0);
  EXPECT_EQ(target->program, holder.program);
  EXPECT_EQ(target->entry_insn, 4u);
  EXPECT_STREQ(target->name, "multiply_add");
  ASSERT_NE(target->invoke, nullptr);
  EXPECT_EQ(target->invoke(target, 3, 4, 0, 0, 0), 19u);
  EXPECT_EQ(current_run(), nullptr);
}

TEST(Callbacks, BpfLoopInvokesTheCallbackThroughTheHelperTable) {
  // bpf_loop(10, callback, ctx = r10-8, 0); callback(i, ctx): *ctx += i.
  auto insns = func_ref_program(
      {"stdw [%r10-8], 0", "mov %r1, 10", "mov %r2, %r7", "mov %r3, %r10", "add %r3, -8",
       "mov %r4, 0", "call 181", "ldxdw %r1, [%r10-8]", "lsh %r0, 32", "or %r0, %r1", "exit"},
      {"ldxdw %r3, [%r2]", "add %r3, %r1", "stxdw [%r2], %r3", "mov %r0, 0", "exit"});
  auto program = create(insns);
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder holder(*program);
  auto r0 = holder->run(0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, (10ull << 32) | 45);
}

TEST(Callbacks, ANestedRunErrorStopsTheOuterRun) {
  // The callback recurses without end; its error surfaces from the outer run.
  auto insns = func_ref_program(
      {"mov %r1, 1", "mov %r2, %r7", "mov %r3, 0", "mov %r4, 0", "call 181", "mov %r0, 7", "exit"},
      {"call local -1", "exit"});
  auto program = create(insns);
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder holder(*program);
  auto r0 = holder->run(0);
  ASSERT_FALSE(r0.ok());
  EXPECT_EQ(r0.error().message, "instruction 9: call stack deeper than 8 frames");
  EXPECT_EQ(current_run(), nullptr);
}

class TailCalls : public ::testing::Test {
 protected:
  void SetUp() override {
    maps::MapAttr attr;
    attr.type = maps::MapType::ProgArray;
    attr.name = "jump_table";
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 4;
    auto map = maps::create_map(attr);
    ASSERT_TRUE(map.ok()) << map.error().message;
    prog_array_ = *map;
  }
  void TearDown() override {
    // Slots hold program references and programs hold the map: clear the slots to break cycles.
    for (uint32_t key = 0; key < 4; ++key) (void)prog_array_->remove(&key);
    for (Program* program : programs_) program->release();
    prog_array_->release();
    maps::synchronize();  // frees the slots' program references, which drop the map's last ones
    maps::synchronize();
  }

  // Counts its runs in *(u64 *)ctx, then tail-calls slot `slot`; r0 = 1000 + count if it falls
  // through.
  Program* counting_program(int32_t slot) {
    std::vector<isa::Insn> insns = assemble_or_die(
        {"mov %r6, %r1", "mov %r2, 1", "lock add [%r6], %r2", "mov %r0, 77"});
    append_ld_imm64(insns, 2, isa::kPseudoMapFd, 0);
    append(insns, {"mov %r1, %r6", "mov %r3, " + std::to_string(slot), "call 12",
                   "jne %r0, 77, +2", "ldxdw %r0, [%r6]", "add %r0, 1000", "exit"});
    auto program = create(insns, {prog_array_});
    EXPECT_TRUE(program.ok()) << program.error().message;
    if (!program.ok()) return nullptr;
    programs_.push_back(*program);
    return *program;
  }

  void install(uint32_t slot, Program* program) {
    ASSERT_EQ(prog_array_->update_program(&slot, program, maps::kAny), 0);
  }

  maps::Map* prog_array_ = nullptr;
  std::vector<Program*> programs_;
};

TEST_F(TailCalls, AtMost33PerRun) {
  Program* self_caller = counting_program(0);
  ASSERT_NE(self_caller, nullptr);
  install(0, self_caller);
  uint64_t runs = 0;
  auto r0 = self_caller->run(reinterpret_cast<uint64_t>(&runs));
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(runs, 34u) << "the entry run plus 33 tail calls";
  EXPECT_EQ(*r0, 1034u) << "the 34th tail call falls through with r0 unchanged";
  // The count is per run: a second run gets 33 again.
  runs = 0;
  ASSERT_TRUE(self_caller->run(reinterpret_cast<uint64_t>(&runs)).ok());
  EXPECT_EQ(runs, 34u);
}

TEST_F(TailCalls, EmptySlotAndOutOfRangeIndexFallThrough) {
  Program* to_empty = counting_program(2);
  Program* out_of_range = counting_program(4);
  ASSERT_NE(to_empty, nullptr);
  ASSERT_NE(out_of_range, nullptr);
  uint64_t runs = 0;
  auto r0 = to_empty->run(reinterpret_cast<uint64_t>(&runs));
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 1001u);
  runs = 0;
  r0 = out_of_range->run(reinterpret_cast<uint64_t>(&runs));
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 1001u);
}

TEST_F(TailCalls, JumpsToAnotherProgramWithTheSameContext) {
  Program* first = counting_program(1);
  // The second program returns ctx's count * 10 and reports which program the run context names.
  auto second = create(assemble_or_die({"ldxdw %r0, [%r1]", "mul %r0, 10", "exit"}), {prog_array_});
  ASSERT_TRUE(second.ok()) << second.error().message;
  programs_.push_back(*second);
  install(1, *second);
  uint64_t runs = 0;
  auto r0 = first->run(reinterpret_cast<uint64_t>(&runs));
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 10u);
}

TEST_F(TailCalls, RepeatedRunsEachGetTheirOwnBudgetAcrossEpochBatches) {
  // run_repeated (the test-run loop) restarts the run context before every run: each of the
  // 3000 runs (three epoch batches of 1024) makes its own 33 tail calls.
  Program* self_caller = counting_program(0);
  ASSERT_NE(self_caller, nullptr);
  install(0, self_caller);
  uint64_t runs = 0;
  auto r0 = self_caller->run_repeated(reinterpret_cast<uint64_t>(&runs), 3000);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(runs, 3000u * 34u);
  EXPECT_EQ(*r0, 1000u + runs) << "the last run's r0";
  EXPECT_EQ(current_run(), nullptr);
  runs = 0;
  r0 = self_caller->run_repeated(reinterpret_cast<uint64_t>(&runs), 0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(runs, 34u) << "repeat 0 runs once, as the kernel's test-run does";
}

// The programs a kfunc saw as the run context's current one, in call order.
std::vector<ProgramRef*> seen_programs;
uint64_t record_current_program(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  seen_programs.push_back(current_run()->program);
  return 0;
}

TEST_F(TailCalls, AfterATailCallInASubprogramTheCallerIsCurrentAgain) {
  // Kernel semantics: a helper sees the program whose instruction calls it. main calls f, f
  // tail-calls slot 1 (the target records itself and returns to main), then main records.
  const isa::Insn kfunc_call = insn(isa::kOpCall, 0, isa::kPseudoKfuncCall, 0, 0);
  std::vector<isa::Insn> caller_insns = assemble_or_die(
      {"call local f", "call 1", "mov %r0, 1", "exit",
       "f:", "mov %r3, 1", "lddw %r2, 0", "call 12", "mov %r0, 99", "exit"});
  ASSERT_EQ(caller_insns.size(), 10u);
  caller_insns[1] = kfunc_call;              // in place of "call 1"
  caller_insns[5].src = isa::kPseudoMapFd;  // lddw of map 0, the prog_array
  std::vector<isa::Insn> target_insns{kfunc_call};
  append(target_insns, {"mov %r0, 5", "exit"});

  auto caller = create(caller_insns, {prog_array_}, {record_current_program});
  auto target = create(target_insns, {prog_array_}, {record_current_program});
  ASSERT_TRUE(caller.ok()) << caller.error().message;
  ASSERT_TRUE(target.ok()) << target.error().message;
  programs_.push_back(*caller);
  programs_.push_back(*target);
  install(1, *target);
  seen_programs.clear();
  auto r0 = (*caller)->run(0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 1u);
  ASSERT_EQ(seen_programs.size(), 2u);
  EXPECT_EQ(seen_programs[0], *target) << "the tail-called program records itself";
  EXPECT_EQ(seen_programs[1], *caller) << "back in the caller, the caller is current again";
}

}  // namespace
}  // namespace hourglass::vm::testing
