// Corpus part 5: reads of never-written stack, allowed as the kernel allows them to a privileged
// (CAP_PERFMON) loader: the bytes read as an unknown number, directly, through helpers' memory
// arguments, atomics, variable offsets and pointers into other frames. Each case also states which
// subprograms must report SubprogInfo::reads_uninit_stack (the frames the vm zeroes at entry):
// exactly the owners of the frames read, never the readers.
#include "asm.h"

namespace hourglass::verifier::test {
namespace {

constexpr ProgType XDP = ProgType::Xdp, TC = ProgType::SchedCls;

struct UninitCase {
  Case c;
  std::vector<bool> reads_uninit;  // per subprogram, by entry; only checked when accepted
};

UninitCase accepted(std::string name, ProgType type, const Asm& code, std::vector<bool> flags,
                    std::vector<std::string> subprogs = {}) {
  Case c = accept(std::move(name), type, code);
  for (const std::string& sub : subprogs) c.subprogs.push_back({code.address(sub), sub});
  return {std::move(c), std::move(flags)};
}
UninitCase rejected(std::string name, ProgType type, const Asm& code, const char* error) {
  return {reject(std::move(name), type, code, error), {}};
}

// r0 = &arr[0] (48-byte value) or exit with 0; ends with r6 = r0.
Asm& array_value(Asm& a) { return a.lookup(kArray).j(JEQ, 0, 0, "null").movr(6, 0); }
// r0 = *(u8 *)(r6 + r3): accepted only if r3 is proven inside the 48-byte value.
Asm& index_value_by_r3(Asm& a) { return a.movr(0, 6).addr(0, 3).ldx(B, 0, 0, 0).exit(); }
Asm& null_exit(Asm& a) { return a.label("null").ret(0); }

std::vector<UninitCase> uninit_cases() {
  std::vector<UninitCase> c;
  // ---- what a read yields: an unknown number of the load's width, never a known value.
  {
    Asm a;  // one never-written byte: [0, 255], past the 48-byte value
    array_value(a).ldx(B, 3, 10, -16);
    c.push_back(rejected("uninit_byte_is_unknown", TC, null_exit(index_value_by_r3(a)),
                         "R0 max value is outside of the allowed memory range"));
  }
  {
    Asm a;  // the same byte masked to [0, 31]: in bounds
    array_value(a).ldx(B, 3, 10, -16).alu64(AND, 3, 31);
    c.push_back(accepted("uninit_byte_masked", TC, null_exit(index_value_by_r3(a)), {true}));
  }
  {
    Asm a;  // two Zero bytes and two never-written ones are not 0
    array_value(a).st(H, 10, -16, 0).ldx(W, 3, 10, -16);
    c.push_back(rejected("zero_and_uninit_is_unknown", TC, null_exit(index_value_by_r3(a)),
                         "R0 unbounded memory access"));
  }
  {
    Asm a;  // four Zero bytes are 0 (the contrast: nothing read was never written)
    array_value(a).st(W, 10, -16, 0).ldx(W, 3, 10, -16);
    c.push_back(accepted("zero_read_is_zero", TC, null_exit(index_value_by_r3(a)), {false}));
  }
  // ---- a 4-byte spill read back as 8 bytes: the other half was never written
  {
    Asm a;
    array_value(a).mov(3, 5).stx(W, 10, 3, -16).ldx(DW, 3, 10, -16);
    c.push_back(rejected("partial_spill_full_read_is_unknown", TC, null_exit(index_value_by_r3(a)),
                         "R0 min value is negative"));
  }
  {
    Asm a;
    array_value(a).mov(3, 5).stx(W, 10, 3, -16).ldx(W, 3, 10, -16);
    c.push_back(accepted("partial_spill_same_size_read", TC, null_exit(index_value_by_r3(a)),
                         {false}));
  }
  c.push_back(accepted("partial_spill_full_read", XDP,
                       Asm().mov(3, 5).stx(W, 10, 3, -12).ldx(DW, 0, 10, -16).exit(), {true}));
  // ---- structs with padding holes passed to helpers
  // struct { u8 a; /* hole */ u16 b; } as a hash key at fp-4: fp-3 never written.
  c.push_back(accepted("key_padding_hole", TC,
                       Asm().st(B, 10, -4, 1).st(H, 10, -2, 7).movr(2, 10).add(2, -4)
                           .ld_map(1, kHash).call(1).ret(0),
                       {true}));
  // struct { u32 a; u8 b; /* 3 bytes of tail padding */ } as an 8-byte value.
  c.push_back(accepted("value_tail_padding", TC,
                       Asm().st(W, 10, -4, 0).st(W, 10, -16, 1).st(B, 10, -12, 2).ld_map(1, kHash)
                           .movr(2, 10).add(2, -4).movr(3, 10).add(3, -16).mov(4, 0).call(2).exit(),
                       {true}));
  // ---- helpers' memory arguments
  c.push_back(accepted("helper_reads_uninit", TC,
                       Asm().movr(1, 10).add(1, -8).mov(2, 8).call(6).ret(0), {true}));
  c.push_back(accepted("helper_reads_uninit_var_off", TC,
                       Asm().call(7).alu64(AND, 0, 7).movr(1, 10).add(1, -16).addr(1, 0).mov(2, 8)
                           .call(6).ret(0),
                       {true}));
  {
    // A spilled map value pointer as the value of a map update: a host address into a map.
    Asm a;
    array_value(a).stx(DW, 10, 6, -16).ld_map(1, kHash).movr(2, 10).add(2, -4).movr(3, 10)
        .add(3, -16).mov(4, 0).call(2).exit();
    c.push_back(rejected("helper_reads_spilled_pointer", TC, null_exit(a),
                         "invalid indirect read from stack R3 off -16+0 size 8"));
  }
  // A helper writing a buffer fills all of it: reading it back reads nothing never written.
  c.push_back(accepted("helper_write_then_read", TC,
                       Asm().ld_map(1, kQueue).movr(2, 10).add(2, -8).call(88).ldx(DW, 0, 10, -8).exit(),
                       {false}));
  // At a variable offset only the bytes every offset covers are surely written.
  c.push_back(accepted("helper_write_var_off", TC,
                       Asm().call(7).alu64(AND, 0, 7).ld_map(1, kQueue).movr(2, 10).add(2, -16)
                           .addr(2, 0).call(88).ret(0),
                       {true}));
  // ---- variable-offset stores: the bytes they may miss count as read when read later, and
  // are flagged at the store (they become Misc, as in the kernel).
  c.push_back(accepted("var_store_may_miss", XDP,
                       Asm().call(7).alu64(AND, 0, 7).movr(2, 10).add(2, -16).addr(2, 0)
                           .st(B, 2, 0, 1).ldx(DW, 0, 10, -16).exit(),
                       {true}));
  c.push_back(accepted("var_store_over_written", XDP,
                       Asm().st(DW, 10, -16, 0).call(7).alu64(AND, 0, 7).movr(2, 10).add(2, -16)
                           .addr(2, 0).st(B, 2, 0, 1).ldx(DW, 0, 10, -16).exit(),
                       {false}));
  // ---- frames: the owner of the frame read is flagged, not the reader
  c.push_back(accepted("callee_reads_caller_frame", XDP,
                       Asm().movr(1, 10).add(1, -8).call_sub("f").exit()
                           .label("f").ldx(DW, 0, 1, 0).exit(),
                       {true, false}, {"f"}));
  c.push_back(accepted("callee_reads_own_frame", XDP,
                       Asm().st(DW, 10, -8, 1).call_sub("f").exit()
                           .label("f").ldx(DW, 0, 10, -8).exit(),
                       {false, true}, {"f"}));
  c.push_back(accepted("loop_callback_reads_caller_frame", XDP,
                       Asm().mov(1, 10).ld_func(2, "cb").movr(3, 10).add(3, -8).mov(4, 0).call(181)
                           .ret(0)
                           .label("cb").ldx(DW, 0, 2, 0).ret(0),
                       {true, false}, {"cb"}));
  c.push_back(accepted("loop_callback_reads_own_frame", XDP,
                       Asm().mov(1, 10).ld_func(2, "cb").mov(3, 0).mov(4, 0).call(181).ret(0)
                           .label("cb").ldx(W, 0, 10, -4).alu64(AND, 0, 1).exit(),
                       {false, true}, {"cb"}));
  c.push_back(accepted("loop_may_skip_callback", XDP,
                       Asm().mov(1, 10).ld_func(2, "cb").movr(3, 10).add(3, -8).mov(4, 0).call(181)
                           .ldx(DW, 0, 10, -8).exit()
                           .label("cb").st(DW, 2, 0, 1).ret(0),
                       {true, false}, {"cb"}));
  {
    Asm a;  // a timer callback runs later on a fresh stack of its own
    a.lookup(kTimerHash).j(JEQ, 0, 0, "null").movr(6, 0);
    a.movr(1, 6).add(1, 8).ld_map(2, kTimerHash).mov(3, 1).call(169);
    a.movr(1, 6).add(1, 8).ld_func(2, "cb").call(170);
    a.movr(1, 6).add(1, 8).mov(2, 1000).mov(3, 0).call(171);
    a.label("null").ret(0);
    a.label("cb").ldx(DW, 1, 10, -8).ret(0);
    c.push_back(accepted("timer_callback_reads_own_frame", TC, a, {false, true}, {"cb"}));
  }
  // ---- pruning keeps the flag exact and pointers out of numbers
  // The fall-through path (explored first) writes fp-1, the jump reaches the read without: the
  // checkpoint's written byte must not subsume the never-written one.
  c.push_back(accepted("join_written_on_one_side", XDP,
                       Asm().call(7).j(JGT, 0, 100, "read").st(B, 10, -1, 1)
                           .label("read").ldx(B, 0, 10, -1).exit(),
                       {true}));
  {
    // Plain bytes on the path explored first, a spilled pointer on the other: the read below
    // the join yields a number on one path and the pointer on the other.
    Asm a;
    array_value(a).call(7).j(JGT, 0, 100, "spill");
    a.st(H, 10, -16, 1).st(H, 10, -14, 1).st(H, 10, -12, 1).st(H, 10, -10, 1).ja("join");
    a.label("spill").stx(DW, 10, 6, -16);
    a.label("join").ldx(DW, 1, 10, -16).stx(DW, 6, 1, 0).ret(0);
    c.push_back(rejected("pointer_under_written_bytes", TC, null_exit(a), "R1 leaks addr into map"));
  }
  {
    // The same with never-written bytes on the path explored first (read as a number there).
    Asm a;
    array_value(a).call(7).j(JGT, 0, 100, "spill").ja("join");
    a.label("spill").stx(DW, 10, 6, -16);
    a.label("join").ldx(DW, 1, 10, -16).stx(DW, 6, 1, 0).ret(0);
    c.push_back(rejected("pointer_under_uninit_bytes", TC, null_exit(a), "R1 leaks addr into map"));
  }
  return c;
}

// The plain cases, for the differential harness (differential_corpus_uninit_stack.cpp).
[[maybe_unused]] std::vector<Case> cases() {
  std::vector<Case> out;
  for (UninitCase& u : uninit_cases()) out.push_back(std::move(u.c));
  return out;
}

[[maybe_unused]] void PrintTo(const UninitCase& u, std::ostream* os) { *os << u.c.name; }

class UninitStackCorpus : public ::testing::TestWithParam<UninitCase> {};
TEST_P(UninitStackCorpus, VerdictAndFrameOwners) {
  const UninitCase& u = GetParam();
  check_case(u.c);
  if (u.c.error) return;
  auto result = run_case(u.c);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->subprogs.size(), u.reads_uninit.size());
  for (size_t i = 0; i < u.reads_uninit.size(); ++i)
    EXPECT_EQ(result->subprogs[i].reads_uninit_stack, u.reads_uninit[i])
        << "subprogram " << result->subprogs[i].name;
}
INSTANTIATE_TEST_SUITE_P(UninitStack, UninitStackCorpus, ::testing::ValuesIn(uninit_cases()),
                         [](const ::testing::TestParamInfo<UninitCase>& info) {
                           return info.param.c.name;
                         });

}  // namespace
}  // namespace hourglass::verifier::test
