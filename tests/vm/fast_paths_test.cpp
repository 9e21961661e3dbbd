// The JIT's fast paths (docs/vm.md, "Fast paths"), run on both engines so that the interpreter's
// results are the reference: the inline array lookup (same pointers and NULLs as the helper, and
// never taken for per-CPU arrays or other maps at the same call site), the inline bpf_loop and
// callbacks called as nested calls of the current run (results, errors, tail calls inside
// callbacks, nesting bounds).
#include <gtest/gtest.h>

#include <cerrno>

#include "common/run_context.h"
#include "maps/epoch.h"
#include "maps/map.h"
#include "support.h"
#include "vm/image.h"

namespace hourglass::vm::testing {
namespace {

Result<Program*> create(std::vector<isa::Insn> insns, std::vector<maps::Map*> maps = {},
                        std::vector<helpers::HelperFn> kfuncs = {}) {
  return create_program("fast_paths", std::move(insns), std::move(maps), std::move(kfuncs));
}

// The JIT build must really have compiled the program (else these tests test the interpreter).
void expect_engine(const Program* program) {
  EXPECT_EQ(program->image()->jit != nullptr, kTestEngine == Engine::Jit);
}

// Makes slot `at` (an lddw of the assembler) an ld_imm64 BPF_PSEUDO_FUNC of instruction `target`.
void make_func_ref(std::vector<isa::Insn>& insns, size_t at, size_t target) {
  insns[at].src = isa::kPseudoFunc;
  insns[at].imm = static_cast<int32_t>(target) - static_cast<int32_t>(at) - 1;
}

// Makes slot `at` (an lddw) an ld_imm64 of map `map_index`.
void make_map_ref(std::vector<isa::Insn>& insns, size_t at, int32_t map_index) {
  insns[at].src = isa::kPseudoMapFd;
  insns[at].imm = map_index;
}

maps::Map* make_map(maps::MapType type, uint32_t value_size, uint32_t max_entries,
                    maps::FieldRecord record = {}) {
  maps::MapAttr attr;
  attr.type = type;
  attr.name = "fast_path_map";
  attr.key_size = 4;
  attr.value_size = value_size;
  attr.max_entries = max_entries;
  attr.ncpus = 4;
  attr.record = record;
  auto map = maps::create_map(attr);
  EXPECT_TRUE(map.ok()) << map.error().message;
  return map.ok() ? *map : nullptr;
}

// Owns the maps of one test (released at the end, after a grace period for the hash).
struct MapHolder {
  std::vector<maps::Map*> maps;
  ~MapHolder() {
    for (maps::Map* map : maps)
      if (map) map->release();
    maps::synchronize();
  }
};

// r0 = bpf_map_lookup_elem(map 0 if r2 == 0 else map 1, key = r1): both maps at one call site.
Result<Program*> lookup_program(maps::Map* first, maps::Map* second) {
  auto insns = assemble_or_die({"mov %r6, %r1", "jne %r2, 0, +3", "lddw %r1, 0", "ja +2",
                                "lddw %r1, 0", "mov %r2, %r6", "call 1", "exit"});
  make_map_ref(insns, 2, 0);
  make_map_ref(insns, 5, 1);
  return create(insns, {first, second});
}

uint64_t program_lookup(Program* program, uint32_t key, uint64_t which_map) {
  auto r0 = program->run(reinterpret_cast<uint64_t>(&key), which_map);
  EXPECT_TRUE(r0.ok()) << r0.error().message;
  return r0.ok() ? *r0 : ~0ull;
}

uint64_t helper_lookup(maps::Map* map, uint32_t key) {
  maps::EpochGuard guard;
  return reinterpret_cast<uint64_t>(map->lookup(&key));
}

TEST(InlineArrayLookup, SamePointersAndNullsAsTheHelper) {
  MapHolder holder;
  maps::FieldRecord with_timer;
  with_timer.timer_off = 8;
  // 12-byte values: a stride of 16; the second map has a timer and a spin lock in its values.
  maps::FieldRecord with_lock = with_timer;
  with_lock.spin_lock_off = 24;
  maps::Map* plain = make_map(maps::MapType::Array, 12, 10);
  maps::Map* special = make_map(maps::MapType::Array, 32, 3, with_lock);
  holder.maps = {plain, special};
  ASSERT_TRUE(plain && special);
  EXPECT_EQ(plain->inline_lookup().kind, maps::InlineLookup::kArray);
  EXPECT_EQ(plain->inline_lookup().value_stride, 16u);
  EXPECT_EQ(special->inline_lookup().kind, maps::InlineLookup::kArray);
  auto program = lookup_program(plain, special);
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder owner(*program);
  expect_engine(owner.program);
  for (uint32_t key : {0u, 1u, 9u, 10u, 11u, 0x7fffffffu, 0xffffffffu}) {
    SCOPED_TRACE("key " + std::to_string(key));
    EXPECT_EQ(program_lookup(owner.program, key, 0), helper_lookup(plain, key));
    EXPECT_EQ(program_lookup(owner.program, key, 1), helper_lookup(special, key));
  }
  EXPECT_NE(program_lookup(owner.program, 9, 0), 0u);
  EXPECT_EQ(program_lookup(owner.program, 10, 0), 0u) << "index == max_entries";
  EXPECT_EQ(program_lookup(owner.program, 0xffffffffu, 0), 0u);
  EXPECT_EQ(program_lookup(owner.program, 3, 1), 0u) << "index == max_entries";
}

TEST(InlineArrayLookup, PerCpuArraysAndHashesCallTheHelperAtTheSameCallSite) {
  MapHolder holder;
  maps::Map* percpu = make_map(maps::MapType::PercpuArray, 8, 4);
  maps::Map* hash = make_map(maps::MapType::Hash, 8, 16);
  holder.maps = {percpu, hash};
  ASSERT_TRUE(percpu && hash);
  EXPECT_EQ(percpu->inline_lookup().kind, maps::InlineLookup::kNone);
  EXPECT_EQ(hash->inline_lookup().kind, maps::InlineLookup::kNone);
  const uint32_t present = 3;
  const uint64_t value = 77;
  ASSERT_EQ(hash->update(&present, &value, maps::kAny), 0);
  auto program = lookup_program(percpu, hash);
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder owner(*program);
  expect_engine(owner.program);
  const uint32_t saved_vcpu = current_vcpu();
  for (uint32_t vcpu : {0u, 1u, 3u}) {
    set_current_vcpu(vcpu);  // the per-CPU slot depends on the thread's vCPU: the helper's job
    for (uint32_t key : {0u, 3u, 4u, 0xffffffffu}) {
      SCOPED_TRACE("vcpu " + std::to_string(vcpu) + " key " + std::to_string(key));
      EXPECT_EQ(program_lookup(owner.program, key, 0), helper_lookup(percpu, key));
    }
  }
  set_current_vcpu(saved_vcpu);
  EXPECT_EQ(program_lookup(owner.program, present, 1), helper_lookup(hash, present));
  EXPECT_NE(program_lookup(owner.program, present, 1), 0u);
  EXPECT_EQ(program_lookup(owner.program, 4, 1), 0u);
}

// Sum of bpf_loop(3, outer) where outer(i, ctx) = bpf_loop(4, inner, ctx) and inner adds 1 to
// *ctx: loops nested inside a callback.
TEST(LoopFastPaths, NestedLoopsAndTheHelpersErrorCodes) {
  // nr_loops and flags of the outer loop come from the caller's r1 and r2.
  auto insns = assemble_or_die({
      "mov %r8, %r1", "mov %r9, %r2", "lddw %r7, 0", "stdw [%r10-8], 0", "mov %r1, %r8",
      "mov %r2, %r7", "mov %r3, %r10", "add %r3, -8", "mov %r4, %r9", "call 181",
      "ldxdw %r1, [%r10-8]", "lsh %r0, 32", "or %r0, %r1", "exit",
      // outer (15): the same ctx, four iterations of inner
      "mov %r3, %r2", "lddw %r2, 0", "mov %r1, 4", "mov %r4, 0", "call 181", "mov %r0, 0", "exit",
      // inner (23)
      "ldxdw %r3, [%r2]", "add %r3, 1", "stxdw [%r2], %r3", "mov %r0, 0", "exit"});
  ASSERT_EQ(insns.size(), 28u);
  make_func_ref(insns, 2, 15);
  make_func_ref(insns, 16, 23);
  auto program = create(insns);
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder owner(*program);
  expect_engine(owner.program);
  auto r0 = owner->run(3, 0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, (3ull << 32) | 12) << "3 iterations, 12 inner ones";
  r0 = owner->run(0, 0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 0u) << "zero iterations";
  r0 = owner->run(3, 1);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(static_cast<uint32_t>(*r0 >> 32), static_cast<uint32_t>(-EINVAL)) << "flags";
  r0 = owner->run((1u << 23) + 1, 0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(static_cast<uint32_t>(*r0 >> 32), static_cast<uint32_t>(-E2BIG)) << "nr_loops";
}

// callback(i, ctx) = bpf_loop(1, callback, 0): recursion without end, stopped by the bound on
// nested runs; afterwards the thread's count of nested runs is back to zero.
TEST(LoopFastPaths, RecursiveLoopsStopAtTheNestingBound) {
  auto insns = assemble_or_die({"lddw %r2, 0", "mov %r1, 1", "mov %r3, 0", "mov %r4, 0",
                                "call 181", "mov %r0, 7", "exit",
                                // callback (8)
                                "lddw %r2, 0", "mov %r1, 1", "mov %r3, 0", "mov %r4, 0",
                                "call 181", "mov %r0, 0", "exit"});
  make_func_ref(insns, 0, 8);
  make_func_ref(insns, 8, 8);
  auto program = create(insns);
  ASSERT_TRUE(program.ok()) << program.error().message;
  ProgramHolder owner(*program);
  expect_engine(owner.program);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r0 = owner->run(0);
    ASSERT_FALSE(r0.ok());
    EXPECT_EQ(r0.error().message, "runs nested more than 16 deep");
    EXPECT_EQ(current_run(), nullptr);
  }
  // 15 levels of callbacks still fit: a leaked nesting count would make this fail.
  auto counted = assemble_or_die({"lddw %r2, 0", "mov %r1, 1", "mov %r3, %r10", "add %r3, -8",
                                  "stdw [%r10-8], 14", "mov %r4, 0", "call 181", "exit",
                                  // callback (9): *ctx -= 1 and loop again, down to 0
                                  "ldxdw %r1, [%r2]", "jeq %r1, 0, +8", "sub %r1, 1",
                                  "stxdw [%r2], %r1", "mov %r3, %r2", "lddw %r2, 0",
                                  "mov %r1, 1", "mov %r4, 0", "call 181", "mov %r0, 0", "exit"});
  make_func_ref(counted, 0, 9);
  make_func_ref(counted, 14, 9);
  auto nested = create(counted);
  ASSERT_TRUE(nested.ok()) << nested.error().message;
  ProgramHolder nested_owner(*nested);
  auto r0 = nested_owner->run(0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 1u);
}

class CallbackTailCalls : public ::testing::Test {
 protected:
  void SetUp() override {
    prog_array_ = make_map(maps::MapType::ProgArray, 4, 2);
    ASSERT_NE(prog_array_, nullptr);
  }
  void TearDown() override {
    for (uint32_t key = 0; key < 2; ++key) (void)prog_array_->remove(&key);
    for (Program* program : programs_) program->release();
    prog_array_->release();
    maps::synchronize();  // frees the slots' program references
    maps::synchronize();
  }
  Program* keep(Result<Program*> program) {
    EXPECT_TRUE(program.ok()) << program.error().message;
    if (!program.ok()) return nullptr;
    programs_.push_back(*program);
    expect_engine(*program);
    return *program;
  }

  maps::Map* prog_array_ = nullptr;
  std::vector<Program*> programs_;
};

// The programs a kfunc saw as the run context's current one, in call order.
std::vector<ProgramRef*> seen_programs;
uint64_t record_current_program(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  seen_programs.push_back(current_run()->program);
  return 0;
}

TEST_F(CallbackTailCalls, EachCallbackRunHasItsOwnBudgetAndTheLoopsProgramStaysCurrent) {
  // main: r0 = bpf_loop(40, callback, 0, 0), then a kfunc records the current program.
  // callback(i): tail call to slot 0 (stop the loop if it falls through). The target counts its
  // runs in `runs`: 40 tail calls in one run, more than 33, since each callback run counts its
  // own, as each would in a run of its own.
  uint64_t runs = 0;
  const isa::Insn kfunc_call = insn(isa::kOpCall, 0, isa::kPseudoKfuncCall, 0, 0);
  auto main_insns = assemble_or_die({"lddw %r2, 0", "mov %r1, 40", "mov %r3, 0", "mov %r4, 0",
                                     "call 181", "mov %r6, %r0", "call 1", "mov %r0, %r6", "exit",
                                     // callback (10)
                                     "lddw %r2, 0", "mov %r3, 0", "call 12", "mov %r0, 1", "exit"});
  make_func_ref(main_insns, 0, 10);
  make_map_ref(main_insns, 10, 0);
  main_insns[7] = kfunc_call;
  auto target_insns = assemble_or_die({"lddw %r1, 0", "mov %r2, 1", "lock add [%r1], %r2",
                                       "call 1", "mov %r0, 0", "exit"});
  target_insns[0].imm = static_cast<int32_t>(reinterpret_cast<uint64_t>(&runs));
  target_insns[1].imm = static_cast<int32_t>(reinterpret_cast<uint64_t>(&runs) >> 32);
  target_insns[4] = kfunc_call;
  Program* main = keep(create(main_insns, {prog_array_}, {record_current_program}));
  Program* target = keep(create(target_insns, {}, {record_current_program}));
  ASSERT_TRUE(main && target);
  const uint32_t slot = 0;
  ASSERT_EQ(prog_array_->update_program(&slot, target, maps::kAny), 0);

  seen_programs.clear();
  auto r0 = main->run(0);
  ASSERT_TRUE(r0.ok()) << r0.error().message;
  EXPECT_EQ(*r0, 40u);
  EXPECT_EQ(runs, 40u);
  ASSERT_EQ(seen_programs.size(), 41u);
  EXPECT_EQ(seen_programs.front(), target) << "the tail-called program records itself";
  EXPECT_EQ(seen_programs.back(), main) << "after the loop, its program is current again";
  EXPECT_EQ(current_run(), nullptr);
}

TEST_F(CallbackTailCalls, AnErrorInTheCallbackOfAnImageWithTailCallsStopsTheRun) {
  // The image has a tail call (never reached), so its callbacks take the nested-call path
  // rather than the inline loop; the callback recurses without end.
  auto insns = assemble_or_die({"lddw %r2, 0", "mov %r1, 3", "mov %r3, 0", "mov %r4, 0",
                                "call 181", "mov %r0, 7", "exit", "call 12", "exit",
                                // callback (10)
                                "call local -1", "exit"});
  make_func_ref(insns, 0, 10);
  Program* program = keep(create(insns, {prog_array_}));
  ASSERT_NE(program, nullptr);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r0 = program->run(0);
    ASSERT_FALSE(r0.ok());
    EXPECT_EQ(r0.error().message, "instruction 10: call stack deeper than 8 frames");
    EXPECT_EQ(current_run(), nullptr);
  }
}

}  // namespace
}  // namespace hourglass::vm::testing
