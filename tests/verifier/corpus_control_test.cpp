// Corpus part 2: control flow: CFG shape, branches and range refinement, loops (bounded accepted,
// infinite rejected, complexity limit), bpf-to-bpf calls, recursion, frames, stack depth, and
// synchronous callbacks (bpf_loop, bpf_for_each_map_elem).
#include "asm.h"

namespace hourglass::verifier::test {
namespace {

constexpr ProgType XDP = ProgType::Xdp, TC = ProgType::SchedCls;

Case with_subprogs(Case c, const Asm& code, std::vector<std::string> names) {
  for (const std::string& name : names) c.subprogs.push_back({code.address(name), name});
  return c;
}

// main -> f1 -> f2 ... -> f<depth-1>, each frame touching 8 bytes of stack.
Asm call_chain(int calls) {
  Asm a;
  a.call_sub("f1").exit();
  for (int i = 1; i <= calls; ++i) {
    a.label("f" + std::to_string(i));
    if (i < calls) a.call_sub("f" + std::to_string(i + 1)).exit();
    else a.ret(0);
  }
  return a;
}

// `count` branches in a row on random values, one side setting bit i of r6, which is returned
// at the end and never needs its range. Without precision tracking every combination is its own
// state (2^24 paths: past the 1M-instruction limit); with it the sides merge at once.
Asm bit_diamonds(int count) {
  Asm a;
  a.mov(6, 0);
  for (int i = 0; i < count; ++i) {
    const std::string side = "side" + std::to_string(i), join = "join" + std::to_string(i);
    a.call(7).j(JGT, 0, 100, side).alu64(OR, 6, 1 << i).ja(join).label(side).add(6, 0).label(join);
  }
  return a.movr(0, 6).exit();
}

std::vector<Case> cases() {
  std::vector<Case> c;
  // ---- CFG
  c.push_back(reject("jump_out_of_range", XDP, Asm().ja_off(5).ret(0), "jump out of range from insn 0 to 6", EINVAL));
  c.push_back(reject("jump_before_start", XDP, Asm().ja_off(-3).ret(0), "jump out of range from insn 0 to -2"));
  c.push_back(reject("unreachable_insn", XDP, Asm().ret(0).ret(1), "unreachable insn 2", EINVAL));
  c.push_back(reject("fall_off_end", XDP, Asm().mov(0, 0), "last insn is not an exit or jmp"));
  c.push_back(reject("jump_into_ld_imm64", XDP,
                     Asm().mov(0, 0).j(JEQ, 0, 0, "mid").ld_imm64(1, 5).label("mid").exit()
                         .raw(Insn{}),  // placeholder, patched below
                     "jump into the middle of ldimm64 insn"));
  // Patch the last case: the jump must land on the second slot of the ld_imm64 (insn 3).
  c.back().insns.pop_back();
  c.back().insns[1].off = 1;
  c.push_back(reject("unknown_pseudo_call", XDP, Asm().raw(Insn{kOpCall, 0, kPseudoCall, 0, 100}).ret(0),
                     "call to invalid destination"));
  // ---- branches and refinement
  c.push_back(accept("dead_branch_not_explored", XDP,
                     Asm().mov(1, 1).j(JEQ, 1, 0, "bad").ret(0).label("bad").movr(0, 5).exit()));
  c.push_back(reject("both_branches_explored", XDP,
                     Asm().call(7).j(JEQ, 0, 0, "bad").ret(0).label("bad").movr(0, 5).exit(),
                     "R5 !read_ok"));
  c.push_back(accept("refine_jgt", XDP,
                     Asm().call(7).j(JGT, 0, 7, "out").st(DW, 10, -8, 0).movr(2, 10).add(2, -8)
                         .addr(2, 0).ldx(B, 0, 2, 0).exit().label("out").ret(0)));
  c.push_back(reject("refine_jgt_off_by_one", XDP,
                     Asm().call(7).j(JGT, 0, 8, "out").st(DW, 10, -8, 0).movr(2, 10).add(2, -8)
                         .addr(2, 0).ldx(B, 0, 2, 0).exit().label("out").ret(0),
                     "stack R2"));
  c.push_back(accept("refine_jmp32_after_zext", XDP,
                     Asm().call(7).mov32r(0, 0).j32(JGT, 0, 7, "out").st(DW, 10, -8, 0).movr(2, 10)
                         .add(2, -8).addr(2, 0).ldx(B, 0, 2, 0).exit().label("out").ret(0)));
  c.push_back(reject("refine_jmp32_upper_bits_unknown", XDP,
                     Asm().call(7).ld_imm64(1, 0x100000000ull).addr(0, 1).j32(JGT, 0, 7, "out")
                         .st(DW, 10, -8, 0).movr(2, 10).add(2, -8).addr(2, 0).ldx(B, 0, 2, 0).exit()
                         .label("out").ret(0),
                     "stack R2"));
  c.push_back(accept("refine_signed_both", XDP,
                     Asm().call(7).alu64(LSH, 0, 32).alu64(ARSH, 0, 32).j(JSGT, 0, 7, "out")
                         .j(JSLT, 0, 0, "out").st(DW, 10, -8, 0).movr(2, 10).add(2, -8).addr(2, 0)
                         .ldx(B, 0, 2, 0).exit().label("out").ret(0)));
  c.push_back(reject("refine_signed_upper_only", XDP,
                     Asm().call(7).alu64(LSH, 0, 32).alu64(ARSH, 0, 32).j(JSGT, 0, 7, "out")
                         .st(DW, 10, -8, 0).movr(2, 10).add(2, -8).addr(2, 0).ldx(B, 0, 2, 0).exit()
                         .label("out").ret(0),
                     "stack R2"));
  c.push_back(accept("refine_jeq_const", XDP,
                     Asm().call(7).j(JNE, 0, 3, "out").st(DW, 10, -8, 0).movr(2, 10).add(2, -8)
                         .addr(2, 0).ldx(B, 0, 2, 0).exit().label("out").ret(0)));
  c.push_back(accept("refine_reg_compare", XDP,
                     Asm().call(7).movr(6, 0).mov(7, 6).jr(JGE, 6, 7, "out").st(DW, 10, -8, 0)
                         .movr(2, 10).add(2, -8).addr(2, 6).ldx(B, 0, 2, 0).exit().label("out").ret(0)));
  c.push_back(accept("refine_jset_clear", XDP,
                     Asm().call(7).alu64(AND, 0, 15).j(JSET, 0, 8, "out").st(DW, 10, -8, 0)
                         .movr(2, 10).add(2, -8).addr(2, 0).ldx(B, 0, 2, 0).exit().label("out").ret(0)));
  // ---- loops
  c.push_back(accept("bounded_loop", XDP,
                     Asm().mov(1, 0).label("loop").add(1, 1).j(JLT, 1, 10, "loop").ret(0)));
  c.push_back(accept("bounded_loop_sum", XDP,
                     Asm().mov(1, 0).mov(0, 0).label("loop").addr(0, 1).add(1, 1).j(JLT, 1, 100, "loop")
                         .exit()));
  c.push_back(accept("bounded_loop_stack_index", XDP,
                     Asm().st(DW, 10, -8, 0).mov(1, 0).label("loop").movr(2, 10).add(2, -8).addr(2, 1)
                         .st(B, 2, 0, 1).add(1, 1).j(JLT, 1, 8, "loop").ret(0)));
  c.push_back(reject("bounded_loop_overruns_stack", XDP,
                     Asm().st(DW, 10, -8, 0).mov(1, 0).label("loop").movr(2, 10).add(2, -8).addr(2, 1)
                         .st(B, 2, 0, 1).add(1, 1).j(JLT, 1, 9, "loop").ret(0),
                     "invalid write to stack R2 off=0 size=1"));
  c.push_back(reject("infinite_loop_self_jump", XDP, Asm().label("l").ja("l"),
                     "infinite loop detected at insn 0", EINVAL));
  c.push_back(reject("infinite_loop_condition", XDP,
                     Asm().mov(0, 0).label("l").j(JEQ, 0, 0, "l").exit(), "infinite loop detected at insn 1"));
  c.push_back(reject("infinite_loop_reset_counter", XDP,
                     Asm().label("l").mov(1, 5).j(JGT, 1, 3, "l").ret(0), "infinite loop detected at insn 0"));
  c.push_back(reject("too_many_insns", XDP,
                     Asm().mov(1, 0).label("loop").add(1, 1).j(JLT, 1, 2000000, "loop").ret(0),
                     "BPF program is too large. Processed 1000001 insn", E2BIG));
  c.push_back(accept("imprecise_scalars_prune", XDP, bit_diamonds(24)));
  c.push_back(reject("too_many_pending_branches", XDP,
                     Asm().call(7).movr(6, 0).mov(1, 0).label("loop").add(1, 1)
                         .j(JEQ, 6, 3, "next").label("next").j(JLT, 1, 100000, "loop").ret(0),
                     "The sequence of 8193 jumps is too complex.", E2BIG));
  // ---- bpf-to-bpf calls
  {
    Asm a;
    a.call_sub("f").exit().label("f").ret(1);
    c.push_back(with_subprogs(accept("subprog_call", XDP, a), a, {"f"}));
  }
  c.push_back(reject("subprog_r1_clobbered", XDP,
                     Asm().call_sub("f").movr(0, 1).exit().label("f").ret(1), "R1 !read_ok"));
  c.push_back(accept("subprog_r6_preserved", XDP,
                     Asm().mov(6, 5).call_sub("f").movr(0, 6).exit().label("f").ret(1)));
  c.push_back(reject("subprog_reads_callee_saved", XDP,
                     Asm().mov(6, 5).call_sub("f").exit().label("f").movr(0, 6).exit(), "R6 !read_ok"));
  c.push_back(accept("subprog_stack_arg", XDP,
                     Asm().st(DW, 10, -8, 7).movr(1, 10).add(1, -8).call_sub("f").exit().label("f")
                         .ldx(DW, 0, 1, 0).exit()));
  c.push_back(accept("subprog_writes_caller_stack", XDP,
                     Asm().movr(1, 10).add(1, -8).call_sub("f").ldx(DW, 0, 10, -8).exit().label("f")
                         .st(DW, 1, 0, 3).ret(0)));
  c.push_back(reject("subprog_returns_stack_pointer", XDP,
                     Asm().call_sub("f").ret(0).label("f").movr(0, 10).exit(),
                     "cannot return stack pointer to the caller"));
  c.push_back(reject("subprog_leaks_own_frame", XDP,
                     Asm().movr(1, 10).add(1, -8).call_sub("f").ldx(DW, 2, 10, -8).ldx(DW, 0, 2, -8).exit()
                         .label("f").st(DW, 10, -8, 1).stx(DW, 1, 10, 0).ret(0),
                     "R2 invalid mem access 'scalar'"));
  // f's frame is its own: the caller's fp-8 is not f's fp-8, which nothing wrote (allowed, an
  // unknown number, as for the kernel's privileged loader).
  c.push_back(accept("subprog_uninit_own_stack", XDP,
                     Asm().st(DW, 10, -8, 1).call_sub("f").exit().label("f").ldx(DW, 0, 10, -8).exit()));
  {
    Asm a;
    a.call_sub("f").exit().label("f").call_sub("f").exit();
    c.push_back(with_subprogs(reject("recursion_self", XDP, a, "recursive call from f() to f()", EINVAL), a, {"f"}));
  }
  {
    Asm a;
    a.call_sub("f").exit().label("f").call_sub("g").exit().label("g").call_sub("f").exit();
    c.push_back(with_subprogs(reject("recursion_mutual", XDP, a, "recursive call from g() to f()"), a, {"f", "g"}));
  }
  c.push_back(reject("call_stack_too_deep", XDP, call_chain(8), "the call stack of 9 frames is too deep", E2BIG));
  c.push_back(accept("call_stack_8_frames", XDP, call_chain(7)));
  c.push_back(reject("combined_stack_too_large", XDP,
                     Asm().st(DW, 10, -288, 0).call_sub("f").exit().label("f").st(DW, 10, -288, 0).ret(0),
                     "combined stack size of 2 calls is 576. Too large", EACCES));
  c.push_back(accept("combined_stack_512", XDP,
                     Asm().st(DW, 10, -256, 0).call_sub("f").exit().label("f").st(DW, 10, -256, 0).ret(0)));
  c.push_back(reject("subprog_falls_off", XDP,
                     Asm().call_sub("f").exit().label("f").mov(0, 1), "last insn is not an exit or jmp"));
  c.push_back(reject("jump_into_other_subprog", XDP,
                     Asm().call_sub("f").ja("inside").exit().label("f").mov(0, 1).label("inside").exit(),
                     "jump out of range"));
  {
    Asm a;
    a.ret(0).label("g").ret(1);
    c.push_back(with_subprogs(reject("uncalled_subprog", XDP, a, "unreachable insn 2"), a, {"g"}));
  }
  // ---- synchronous callbacks
  c.push_back(accept("bpf_loop", XDP,
                     Asm().mov(1, 10).ld_func(2, "cb").mov(3, 0).mov(4, 0).call(181).ret(0)
                         .label("cb").ret(0)));
  c.push_back(reject("bpf_loop_callback_returns_5", XDP,
                     Asm().mov(1, 10).ld_func(2, "cb").mov(3, 0).mov(4, 0).call(181).ret(0)
                         .label("cb").ret(5),
                     "At callback return the register R0 has smin=5 smax=5 should have been in [0, 1]"));
  c.push_back(accept("bpf_loop_ctx_on_stack", XDP,
                     Asm().st(DW, 10, -8, 0).mov(1, 10).ld_func(2, "cb").movr(3, 10).add(3, -8).mov(4, 0)
                         .call(181).ldx(DW, 0, 10, -8).exit()
                         .label("cb").ldx(DW, 0, 2, 0).add(0, 1).stx(DW, 2, 0, 0).ret(0)));
  // The callback may run zero times, so fp-8 may never be written; and a callback may read its
  // caller's never-written stack through ctx. Both read an unknown number (privileged kernel).
  c.push_back(accept("bpf_loop_zero_iterations", XDP,
                     Asm().mov(1, 10).ld_func(2, "cb").movr(3, 10).add(3, -8).mov(4, 0).call(181)
                         .ldx(DW, 0, 10, -8).exit()
                         .label("cb").st(DW, 2, 0, 1).ret(0)));
  c.push_back(accept("bpf_loop_ctx_uninit", XDP,
                     Asm().mov(1, 10).ld_func(2, "cb").movr(3, 10).add(3, -8).mov(4, 0).call(181).ret(0)
                         .label("cb").ldx(DW, 0, 2, 0).ret(0)));
  c.push_back(reject("bpf_loop_not_a_function", XDP,
                     Asm().mov(1, 10).mov(2, 0).mov(3, 0).mov(4, 0).call(181).ret(0),
                     "R2 type=scalar expected=func"));
  c.push_back(reject("bpf_loop_callback_uses_r3", XDP,
                     Asm().mov(1, 10).ld_func(2, "cb").mov(3, 0).mov(4, 0).call(181).ret(0)
                         .label("cb").movr(0, 3).exit(),
                     "R3 !read_ok"));
  c.push_back(accept("for_each_map_elem", TC,
                     Asm().ld_map(1, kArray).ld_func(2, "cb").mov(3, 0).mov(4, 0).call(164).ret(0)
                         .label("cb").ldx(W, 0, 2, 0).ldx(DW, 0, 3, 40).ret(0)));
  c.push_back(reject("for_each_key_past_end", TC,
                     Asm().ld_map(1, kArray).ld_func(2, "cb").mov(3, 0).mov(4, 0).call(164).ret(0)
                         .label("cb").ldx(W, 0, 2, 4).ret(0),
                     "invalid access to map key, key_size=4 off=4 size=4"));
  c.push_back(reject("for_each_key_write", TC,
                     Asm().ld_map(1, kArray).ld_func(2, "cb").mov(3, 0).mov(4, 0).call(164).ret(0)
                         .label("cb").st(W, 2, 0, 1).ret(0),
                     "R2 cannot write into map_key"));
  c.push_back(reject("for_each_value_past_end", TC,
                     Asm().ld_map(1, kArray).ld_func(2, "cb").mov(3, 0).mov(4, 0).call(164).ret(0)
                         .label("cb").ldx(DW, 0, 3, 48).ret(0),
                     "invalid access to map value, value_size=48 off=48 size=8"));
  // Callbacks run any number of times (kernel 6.7+): iterated until the state at the call
  // converges. A counter the callback bumps in the caller's stack is unbounded afterwards...
  c.push_back(reject("bpf_loop_counter_unbounded", XDP,
                     Asm().st(DW, 10, -8, 0).st(DW, 10, -16, 0).mov(1, 1000).ld_func(2, "cb")
                         .movr(3, 10).add(3, -8).mov(4, 0).call(181)
                         .ldx(DW, 1, 10, -8).movr(2, 10).add(2, -16).addr(2, 1).ldx(B, 0, 2, 0).exit()
                         .label("cb").ldx(DW, 3, 2, 0).add(3, 1).stx(DW, 2, 3, 0).ret(0),
                     "unbounded"));
  // ... unless the callback bounds it itself (0..4 after any number of calls).
  c.push_back(accept("bpf_loop_counter_bounded", XDP,
                     Asm().st(DW, 10, -8, 0).st(DW, 10, -16, 0).mov(1, 10).ld_func(2, "cb")
                         .movr(3, 10).add(3, -8).mov(4, 0).call(181)
                         .ldx(DW, 1, 10, -8).movr(2, 10).add(2, -16).addr(2, 1).ldx(B, 0, 2, 0).exit()
                         .label("cb").ldx(DW, 3, 2, 0).j(JGE, 3, 4, "stop").add(3, 1).stx(DW, 2, 3, 0)
                         .ret(0).label("stop").ret(1)));
  // The second call sees what the first one wrote (a 0/1-call model would accept this).
  c.push_back(reject("bpf_loop_second_call_differs", XDP,
                     Asm().st(DW, 10, -8, 0).mov(1, 10).ld_func(2, "cb").movr(3, 10).add(3, -8)
                         .mov(4, 0).call(181).ret(0)
                         .label("cb").ldx(DW, 3, 2, 0).j(JNE, 3, 0, "again").st(DW, 2, 0, 1).ret(0)
                         .label("again").ldx(DW, 0, 10, 8).mov(0, 0).exit(),
                     "invalid read from stack R10 off=8 size=8"));
  c.push_back(reject("for_each_second_call_differs", TC,
                     Asm().st(DW, 10, -8, 0).ld_map(1, kArray).ld_func(2, "cb").movr(3, 10).add(3, -8)
                         .mov(4, 0).call(164).ret(0)
                         .label("cb").ldx(DW, 1, 4, 0).j(JEQ, 1, 0, "first").ldx(DW, 0, 3, 48)
                         .label("first").st(DW, 4, 0, 1).ret(0),
                     "invalid access to map value, value_size=48 off=48 size=8"));
  c.push_back(reject("callback_is_main", XDP,
                     Asm().label("main").mov(1, 10).ld_func(2, "main").mov(3, 0).mov(4, 0).call(181).ret(0),
                     "callback function cannot be the main program", EINVAL));
  return c;
}

class ControlCorpus : public CorpusTest {};
TEST_P(ControlCorpus, Verdict) { check_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Control, ControlCorpus, ::testing::ValuesIn(cases()), case_name);

// Thirty independent unknown branches: 2^30 paths without pruning; with it, a few hundred insns.
TEST(Pruning, IndependentBranchesConverge) {
  Asm a;
  a.mov(6, 0);
  for (int i = 0; i < 30; ++i) {
    const std::string skip = "s" + std::to_string(i);
    a.call(7).j(JEQ, 0, 0, skip).mov(6, 1).label(skip);
  }
  a.ret(0);
  Case c = accept("pruning", XDP, a);
  auto result = run_case(c);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_GT(result->stats.pruned, 0u);
  EXPECT_LT(result->stats.insns_processed, 2000u);
}

// A loop whose every iteration forks a short exit path that gets its own checkpoint, and a
// counter the exit path's branch makes precise: each exit path's precision walk goes back over
// the loop. Checkpoints keep that walk short; when a sibling's checkpoint kept resetting the
// loop's checkpoint counters, the walk covered every iteration so far (quadratic: ~1000 steps
// per processed instruction here, 4.6 s for the fuzzer's 100k-instruction version).
TEST(Limits, PrecisionWalksStayLinearInLoopsThatForkEveryIteration) {
  Asm a;
  a.call(7).movr(1, 0).alu64(AND, 1, 4095).mov(6, 1000);
  a.label("loop").add(6, 1).alu64(SUB, 1, 1).j(JSGT, 1, 0, "loop");
  a.j(JSLE, 6, 0, "done").label("done").ret(0);
  Case c = accept("fork_every_iteration", XDP, a);
  auto result = run_case(c);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_GT(result->stats.insns_processed, 4096u * 3);
  EXPECT_LT(result->stats.precision_walk_steps, 100ull * result->stats.insns_processed)
      << result->stats.insns_processed << " instructions processed";
}

TEST(Limits, ComplexityLimitIsAnInputSetting) {
  // 3 instructions per iteration: 30k iterations fit the default limit, not a limit of 50k.
  Case c = accept("loop", XDP, Asm().mov(1, 0).label("loop").add(1, 1).j(JLT, 1, 30000, "loop").ret(0));
  VerifyInput input;
  input.prog_name = "loop";
  input.type = XDP;
  input.insns = &c.insns;
  auto result = verify(input);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_GT(result->stats.insns_processed, 60000u);
  input.complexity_limit = 50'000;
  result = verify(input);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, E2BIG);
  EXPECT_NE(result.error().message.find("BPF program is too large. Processed 50001 insn"),
            std::string::npos)
      << result.error().message;
}

TEST(Log, VerboseErrorCarriesPathAndState) {
  Case c = reject("log", XDP, Asm().st(DW, 10, -8, 1).ldx(DW, 0, 10, 8).exit(), "invalid read");
  auto result = run_case(c, true);
  ASSERT_FALSE(result.ok());
  const std::string& msg = result.error().message;
  EXPECT_EQ(msg.rfind("prog 'log': insn 1: invalid read from stack R10 off=8 size=8\n", 0), 0u) << msg;
  EXPECT_NE(msg.find("R10=fp0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fp-8="), std::string::npos) << msg;
}

TEST(Log, SourceLineInMessage) {
  Case c = reject("lines", XDP, Asm().mov(0, 0).ldx(DW, 0, 10, 8).exit(), "invalid read");
  VerifyInput input;
  input.prog_name = "lines";
  input.type = XDP;
  input.insns = &c.insns;
  input.line_info.push_back(object::LineInfo{0, "/src/prog.bpf.c", "int x = 0;", 10, 3});
  input.line_info.push_back(object::LineInfo{1, "/src/prog.bpf.c", "return buf[0];", 12, 5});
  auto result = verify(input);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message,
            "prog 'lines': insn 1 (prog.bpf.c:12: `return buf[0];`): invalid read from stack R10 "
            "off=8 size=8");
}

TEST(Output, SubprogramsAndStackDepth) {
  Asm a;
  a.st(DW, 10, -40, 0).call_sub("f").exit().label("f").st(DW, 10, -8, 0).ret(0);
  Case c = with_subprogs(accept("depths", XDP, a), a, {"f"});
  auto result = run_case(c);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->subprogs.size(), 2u);
  EXPECT_EQ(result->subprogs[0].name, "depths");
  EXPECT_EQ(result->subprogs[0].stack_depth, 40u);
  EXPECT_EQ(result->subprogs[1].name, "f");
  EXPECT_EQ(result->subprogs[1].entry, a.address("f"));
  EXPECT_EQ(result->subprogs[1].stack_depth, 8u);
  EXPECT_EQ(result->stats.max_stack_depth, 64u + 32u);
}

}  // namespace
}  // namespace hourglass::verifier::test
