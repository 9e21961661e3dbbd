// Corpus part 3: helper calls against their prototypes, spin locks, and every bpf_timer / bpf_wq
// rule of the spec (docs/verifier.md, spec/kernel-timers.md sections 3-4), including programs
// shaped like the kernel selftests timer_mim_reject, timer_failure and async_stack_depth.
#include "asm.h"

namespace hourglass::verifier::test {
namespace {

constexpr ProgType XDP = ProgType::Xdp, TC = ProgType::SchedCls;

// r6 = lookup(map, key); if (!r6) return 0  -- leaves the label "null" to be placed by the caller.
Asm& value_in_r6(Asm& a, int map, int32_t key = 0) {
  return a.lookup(map, key).j(JEQ, 0, 0, "null").movr(6, 0);
}

// r1 = &r6->timer (offset `off`)
Asm& timer_ptr(Asm& a, int32_t off = 8) { return a.movr(1, 6).add(1, off); }

// The complete timer sequence on map kTimerHash with callback "cb"; `cb_body` is emitted at "cb".
Asm timer_program(const std::function<void(Asm&)>& cb_body, int map = kTimerHash) {
  Asm a;
  value_in_r6(a, map);
  timer_ptr(a).ld_map(2, map).mov(3, 1).call(169);
  timer_ptr(a).ld_func(2, "cb").call(170);
  timer_ptr(a).mov(2, 1000).mov(3, 0).call(171);
  a.label("null").ret(0);
  a.label("cb");
  cb_body(a);
  return a;
}

Asm lock_program(const std::function<void(Asm&)>& held) {
  Asm a;
  value_in_r6(a, kLockArray);
  a.movr(1, 6).add(1, 4).call(93);
  held(a);
  a.label("null").ret(0);
  return a;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  // ---- helper prototypes
  c.push_back(reject("unknown_helper", XDP, Asm().call(9999).ret(0), "invalid func unknown#9999", EINVAL));
  c.push_back(accept("ktime_get_ns", XDP, Asm().call(5).exit()));
  c.push_back(reject("helper_clobbers_r1", XDP, Asm().mov(1, 1).call(5).movr(0, 1).exit(), "R1 !read_ok"));
  c.push_back(accept("helper_keeps_r6", XDP, Asm().mov(6, 1).call(5).movr(0, 6).exit()));
  // A key or value of never-written stack is passed as it is (privileged kernel semantics).
  c.push_back(accept("lookup_key_uninit", TC,
                     Asm().movr(2, 10).add(2, -4).ld_map(1, kHash).call(1).ret(0)));
  c.push_back(reject("lookup_key_scalar", TC, Asm().mov(2, 0).ld_map(1, kHash).call(1).ret(0),
                     "R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value"));
  c.push_back(reject("lookup_map_is_stack", TC,
                     Asm().st(W, 10, -4, 0).movr(2, 10).add(2, -4).movr(1, 10).call(1).ret(0),
                     "R1 type=fp expected=map_ptr"));
  c.push_back(reject("lookup_map_is_ctx", TC, Asm().st(W, 10, -4, 0).movr(2, 10).add(2, -4).call(1).ret(0),
                     "R1 type=ctx expected=map_ptr"));
  c.push_back(reject("lookup_map_uninit", TC,
                     Asm().mov(1, 0).call(5).st(W, 10, -4, 0).movr(2, 10).add(2, -4).call(1).ret(0),
                     "R1 !read_ok"));
  c.push_back(accept("update_elem", TC,
                     Asm().st(W, 10, -4, 0).st(DW, 10, -16, 5).ld_map(1, kHash).movr(2, 10).add(2, -4)
                         .movr(3, 10).add(3, -16).mov(4, 0).call(2).exit()));
  c.push_back(accept("update_value_half_init", TC,
                     Asm().st(W, 10, -4, 0).st(W, 10, -16, 5).ld_map(1, kHash).movr(2, 10).add(2, -4)
                         .movr(3, 10).add(3, -16).mov(4, 0).call(2).exit()));
  c.push_back(reject("update_flags_uninit", TC,
                     Asm().st(W, 10, -4, 0).st(DW, 10, -16, 5).ld_map(1, kHash).movr(2, 10).add(2, -4)
                         .movr(3, 10).add(3, -16).call(2).exit(),
                     "R4 !read_ok"));
  c.push_back(accept("delete_elem", TC,
                     Asm().st(W, 10, -4, 0).ld_map(1, kHash).movr(2, 10).add(2, -4).call(3).exit()));
  {
    Asm a;
    value_in_r6(a, kArray).ld_map(1, kHash).movr(2, 6).add(2, 44).call(1).ret(0).label("null").ret(0);
    c.push_back(accept("key_in_map_value", TC, a));
  }
  {
    Asm a;
    value_in_r6(a, kArray).ld_map(1, kHash).movr(2, 6).add(2, 46).call(1).ret(0).label("null").ret(0);
    c.push_back(reject("key_past_map_value", TC, a, "invalid access to map value, value_size=48"));
  }
  {
    Asm a;
    value_in_r6(a, kTimerHash).ld_map(1, kHash).movr(2, 6).add(2, 8).call(1).ret(0).label("null").ret(0);
    c.push_back(reject("key_over_timer_bytes", TC, a, "bpf_timer cannot be accessed directly by load/store"));
  }
  c.push_back(accept("trace_printk", XDP,
                     Asm().st(DW, 10, -8, 0x41).movr(1, 10).add(1, -8).mov(2, 8).call(6).exit()));
  c.push_back(reject("trace_printk_zero_size", XDP,
                     Asm().st(DW, 10, -8, 0x41).movr(1, 10).add(1, -8).mov(2, 0).call(6).exit(),
                     "R2 invalid zero-sized read"));
  c.push_back(reject("trace_printk_unbounded_size", XDP,
                     Asm().call(7).alu64(RSH, 0, 1).alu64(OR, 0, 1).movr(2, 0).st(DW, 10, -8, 0x41).movr(1, 10).add(1, -8).call(6).exit(),
                     "R2 unbounded memory access"));
  c.push_back(reject("trace_printk_negative_size", XDP,
                     Asm().st(DW, 10, -8, 0x41).movr(1, 10).add(1, -8).mov(2, -1).call(6).exit(),
                     "R2 min value is negative"));
  c.push_back(reject("trace_printk_size_past_init", XDP,
                     Asm().st(DW, 10, -8, 0x41).movr(1, 10).add(1, -8).mov(2, 16).call(6).exit(),
                     "invalid indirect access to stack R1 off=-8 size=16"));
  c.push_back(accept("trace_printk_bounded_size", XDP,
                     Asm().call(7).alu64(AND, 0, 7).add(0, 1).movr(2, 0).st(DW, 10, -8, 0x41).movr(1, 10)
                         .add(1, -8).call(6).exit()));
  c.push_back(accept("tail_call", TC, Asm().ld_map(2, kProgArray).mov(3, 0).call(12).ret(0)));
  c.push_back(reject("tail_call_ctx_not_ctx", TC,
                     Asm().movr(1, 10).ld_map(2, kProgArray).mov(3, 0).call(12).ret(0),
                     "R1 type=fp expected=ctx"));
  c.push_back(reject("tail_call_wrong_map", TC, Asm().ld_map(2, kHash).mov(3, 0).call(12).ret(0),
                     "cannot pass map_type 1 into func bpf_tail_call#12"));
  c.push_back(reject("lookup_in_prog_array", TC, Asm().lookup(kProgArray).ret(0),
                     "cannot pass map_type 3 into func bpf_map_lookup_elem#1"));
  c.push_back(accept("queue_push", TC,
                     Asm().st(DW, 10, -8, 1).ld_map(1, kQueue).movr(2, 10).add(2, -8).mov(3, 0).call(87).exit()));
  c.push_back(accept("queue_pop_into_uninit", TC,
                     Asm().ld_map(1, kQueue).movr(2, 10).add(2, -8).call(88).ldx(DW, 0, 10, -8).exit()));
  c.push_back(reject("queue_lookup", TC, Asm().lookup(kQueue).ret(0), "cannot pass map_type 22"));
  c.push_back(reject("push_to_hash", TC,
                     Asm().st(DW, 10, -8, 1).ld_map(1, kHash).movr(2, 10).add(2, -8).mov(3, 0).call(87).exit(),
                     "cannot pass map_type 1 into func bpf_map_push_elem#87"));
  c.push_back(reject("kfunc_unknown", TC, Asm().kfunc(7).ret(0), "calling kernel function #7 is not allowed"));
  // ---- spin locks
  c.push_back(accept("spin_lock_unlock", TC, lock_program([](Asm& a) {
                       a.ldx(DW, 7, 6, 8).add(7, 1).stx(DW, 6, 7, 8).movr(1, 6).add(1, 4).call(94).ret(0);
                     })));
  c.push_back(reject("spin_lock_not_released", TC, lock_program([](Asm& a) { a.ret(0); }),
                     "bpf_spin_unlock is missing"));
  c.push_back(reject("spin_lock_helper_while_held", TC, lock_program([](Asm& a) {
                       a.call(5).movr(1, 6).add(1, 4).call(94).ret(0);
                     }),
                     "function calls are not allowed while holding a lock"));
  c.push_back(reject("spin_lock_twice", TC, lock_program([](Asm& a) {
                       a.movr(1, 6).add(1, 4).call(93).ret(0);
                     }),
                     "function calls are not allowed while holding a lock"));
  {
    Asm a;
    value_in_r6(a, kLockArray).movr(1, 6).add(1, 4).call(93).call_sub("f").movr(1, 6).add(1, 4).call(94);
    a.label("null").ret(0).label("f").ret(0);
    c.push_back(accept("spin_lock_subprog_while_held", TC, a));
  }
  {
    // The callee runs under the caller's lock: no helper there either.
    Asm a;
    value_in_r6(a, kLockArray).movr(1, 6).add(1, 4).call(93).call_sub("f").movr(1, 6).add(1, 4).call(94);
    a.label("null").ret(0).label("f").call(5).ret(0);
    c.push_back(reject("spin_lock_subprog_calls_helper", TC, a,
                       "function calls are not allowed while holding a lock"));
  }
  {
    // A subprogram may return with a lock it took; the caller releases it.
    Asm a;
    value_in_r6(a, kLockArray).movr(1, 6).add(1, 4).call_sub("f").movr(1, 6).add(1, 4).call(94);
    a.label("null").ret(0).label("f").call(93).ret(0);
    c.push_back(accept("spin_lock_taken_in_subprog", TC, a));
  }
  {
    Asm a;
    value_in_r6(a, kLockArray).movr(1, 6).add(1, 4).call(94).label("null").ret(0);
    c.push_back(reject("spin_unlock_without_lock", TC, a, "bpf_spin_unlock without taking a lock"));
  }
  {
    Asm a;
    value_in_r6(a, kLockArray).movr(1, 6).call(93).label("null").ret(0);
    c.push_back(reject("spin_lock_wrong_offset", TC, a,
                       "off 0 doesn't point to 'struct bpf_spin_lock' that is at 4"));
  }
  {
    Asm a;
    value_in_r6(a, kArray).movr(1, 6).add(1, 4).call(93).label("null").ret(0);
    c.push_back(reject("spin_lock_map_without_btf", TC, a,
                       "map 'arr' has to have BTF in order to use bpf_spin_lock"));
  }
  {
    Asm a;
    value_in_r6(a, kWqArray).movr(1, 6).add(1, 4).call(93).label("null").ret(0);
    c.push_back(reject("spin_lock_map_without_lock", TC, a, "map 'wqmap' has no valid bpf_spin_lock"));
  }
  c.push_back(reject("spin_lock_on_stack", TC, Asm().movr(1, 10).add(1, -8).call(93).ret(0),
                     "R1 type=fp expected=map_value"));
  {
    Asm a;
    value_in_r6(a, kLockArray).call(7).alu64(AND, 0, 4).movr(1, 6).addr(1, 0).call(93).label("null").ret(0);
    c.push_back(reject("spin_lock_variable_offset", TC, a,
                       "R1 doesn't have constant offset. bpf_spin_lock has to be at the constant offset"));
  }
  {
    Asm a;
    value_in_r6(a, kLockArray, 0);
    a.lookup(kLockArray, 1).j(JEQ, 0, 0, "null").movr(7, 0);
    a.movr(1, 6).add(1, 4).call(93).movr(1, 7).add(1, 4).call(94).label("null").ret(0);
    c.push_back(reject("spin_unlock_different_lock", TC, a, "bpf_spin_unlock of different lock"));
  }
  // ---- timers
  c.push_back(accept("timer_init_callback_start", TC, timer_program([](Asm& a) { a.ret(0); })));
  c.push_back(accept("timer_cancel", TC,
                     [] {
                       Asm a;
                       value_in_r6(a, kTimerHash);
                       timer_ptr(a).call(172);
                       return a.label("null").ret(0);
                     }()));
  {
    Asm a;
    value_in_r6(a, kTimerHash);
    timer_ptr(a, 0).ld_map(2, kTimerHash).mov(3, 1).call(169);
    a.label("null").ret(0);
    c.push_back(reject("timer_wrong_offset", TC, a, "off 0 doesn't point to 'struct bpf_timer' that is at 8", EINVAL));
  }
  {
    Asm a;
    value_in_r6(a, kTimerNoBtf);
    timer_ptr(a).ld_map(2, kTimerNoBtf).mov(3, 1).call(169);
    a.label("null").ret(0);
    c.push_back(reject("timer_map_without_btf", TC, a,
                       "map 'tmap_nobtf' has to have BTF in order to use bpf_timer"));
  }
  {
    Asm a;
    value_in_r6(a, kLockArray);
    timer_ptr(a).ld_map(2, kLockArray).mov(3, 1).call(169);
    a.label("null").ret(0);
    c.push_back(reject("timer_map_without_timer", TC, a, "map 'locks' has no valid bpf_timer"));
  }
  {
    Asm a;
    value_in_r6(a, kTimerHash).call(7).alu64(AND, 0, 8).movr(1, 6).addr(1, 0).call(172);
    a.label("null").ret(0);
    c.push_back(reject("timer_variable_offset", TC, a,
                       "R1 doesn't have constant offset. bpf_timer has to be at the constant offset"));
  }
  c.push_back(reject("timer_on_stack", TC, Asm().movr(1, 10).add(1, -16).call(172).ret(0),
                     "R1 type=fp expected=map_value"));
  c.push_back(reject("timer_in_global_data", TC, Asm().ld_map_value(1, kRodata, 0).call(172).ret(0),
                     "map 'ro' has to have BTF in order to use bpf_timer"));
  {
    Asm a;
    value_in_r6(a, kTimerHash);
    timer_ptr(a).ld_map(2, kHash).mov(3, 1).call(169);
    a.label("null").ret(0);
    c.push_back(reject("timer_init_other_map", TC, a,
                       "timer pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0", EINVAL));
  }
  c.push_back(reject("timer_not_null_checked", TC,
                     Asm().lookup(kTimerHash).movr(1, 0).add(1, 8).call(172).ret(0),
                     "R1 pointer arithmetic on map_value_or_null prohibited, null-check it first"));
  c.push_back(reject("timer_callback_returns_1", TC, timer_program([](Asm& a) { a.ret(1); }),
                     "At async callback return the register R0 has smin=1 smax=1 should have been in [0, 0]",
                     EINVAL));
  // timer_failure: the callback returns bpf_get_prandom_u32() on one path.
  c.push_back(reject("timer_failure_prandom_path", TC, timer_program([](Asm& a) {
                       a.call(7).j(JEQ, 0, 0, "zero").exit().label("zero").ret(0);
                     }),
                     "should have been in [0, 0]"));
  c.push_back(reject("timer_callback_returns_pointer", TC, timer_program([](Asm& a) { a.movr(0, 3).exit(); }),
                     "At async callback return the register R0 is not a known value (map_value)"));
  c.push_back(accept("timer_callback_rearms_itself", TC, timer_program([](Asm& a) {
                       a.movr(6, 3).movr(1, 6).add(1, 8).ld_func(2, "cb").call(170);
                       a.movr(1, 6).add(1, 8).mov(2, 1000).mov(3, 0).call(171).ret(0);
                     })));
  c.push_back(accept("timer_callback_reads_key_value", TC, timer_program([](Asm& a) {
                       a.ldx(W, 0, 2, 0).ldx(DW, 0, 3, 0).ldx(W, 0, 3, 28).ret(0);
                     })));
  c.push_back(accept("timer_callback_uses_map", TC, timer_program([](Asm& a) {
                       a.movr(6, 2).movr(2, 6).call(1).ret(0);  // lookup(map=R1, key=R2)
                     })));
  c.push_back(reject("timer_callback_r4_uninit", TC, timer_program([](Asm& a) { a.movr(0, 4).exit(); }),
                     "R4 !read_ok"));
  c.push_back(reject("timer_callback_key_past_end", TC, timer_program([](Asm& a) {
                       a.ldx(DW, 0, 2, 0).ret(0);
                     }),
                     "invalid access to map key, key_size=4 off=0 size=8"));
  c.push_back(reject("timer_callback_touches_timer", TC, timer_program([](Asm& a) {
                       a.ldx(DW, 0, 3, 16).ret(0);
                     }),
                     "bpf_timer cannot be accessed directly by load/store"));
  c.push_back(reject("timer_callback_no_ctx", TC, timer_program([](Asm& a) {
                       a.ldx(W, 0, 1, 0).ret(0);
                     }),
                     "R1 invalid mem access 'map_ptr'"));
  c.push_back(reject("timer_callback_holds_lock", TC, timer_program([](Asm& a) {
                       a.movr(1, 3).add(1, 24).call(93).ret(0);
                     }),
                     "bpf_spin_unlock is missing"));
  c.push_back(reject("timer_callback_is_main", TC,
                     Asm().label("main").ld_func(2, "main").mov(1, 0).call(170).ret(0),
                     "callback function cannot be the main program"));
  c.push_back(reject("timer_tracing_prog", ProgType::Kprobe, Asm().lookup(kTimerHash).ret(0),
                     "tracing progs cannot use bpf_timer yet", EINVAL));
  c.push_back(reject("timer_tracepoint_prog", ProgType::Tracepoint, Asm().lookup(kTimerHash).ret(0),
                     "tracing progs cannot use bpf_timer yet"));
  c.push_back(accept("timer_fentry_prog", ProgType::Tracing, timer_program([](Asm& a) { a.ret(0); })));
  c.push_back(reject("timer_set_callback_scalar", TC,
                     [] {
                       Asm a;
                       value_in_r6(a, kTimerHash);
                       timer_ptr(a).mov(2, 0).call(170);
                       return a.label("null").ret(0);
                     }(),
                     "R2 type=scalar expected=func"));
  c.push_back(reject("timer_start_flags_uninit", TC,
                     [] {
                       Asm a;
                       value_in_r6(a, kTimerHash);
                       timer_ptr(a).mov(2, 0).call(171);
                       return a.label("null").ret(0);
                     }(),
                     "R3 !read_ok"));
  // timer_mim_reject: the timer comes from one inner-map lookup, the map from another.
  auto mim = [](int32_t second_key) {
    Asm a;
    a.lookup(kOuter, 1).j(JEQ, 0, 0, "null").movr(7, 0);
    a.lookup(kOuter, second_key).j(JEQ, 0, 0, "null").movr(8, 0);
    a.st(W, 10, -4, 1234).movr(2, 10).add(2, -4).movr(1, 7).call(1).j(JEQ, 0, 0, "null").movr(6, 0);
    a.movr(1, 6).add(1, 8).movr(2, second_key == 1 ? 7 : 8).mov(3, 1).call(169);
    return a.label("null").ret(0);
  };
  c.push_back(reject("timer_mim_reject", TC, mim(2), "doesn't match map pointer in R2", EINVAL));
  {
    // Same inner map (the first lookup's register) for both: accepted.
    Asm a = mim(1);
    c.push_back(accept("timer_mim_same_inner", TC, a));
  }
  c.push_back(reject("inner_map_not_null_checked", TC,
                     Asm().lookup(kOuter, 1).movr(1, 0).st(W, 10, -4, 0).movr(2, 10).add(2, -4).call(1).ret(0),
                     "R1 type=map_ptr_or_null expected=map_ptr"));
  // async_stack_depth: the callback is also called directly, so its frame adds to main's.
  {
    Asm a;
    a.st(DW, 10, -288, 0);
    value_in_r6(a, kTimerHash).mov(1, 0).mov(2, 0).mov(3, 0).call_sub("cb");
    timer_ptr(a).ld_func(2, "cb").call(170);
    a.label("null").ret(0);
    a.label("cb").st(DW, 10, -288, 0).ret(0);
    c.push_back(reject("async_stack_depth_pseudo_call", TC, a,
                       "combined stack size of 2 calls is 576. Too large", EACCES));
  }
  // async_stack_depth: the callback, as its own root, calls a subprogram with a big frame.
  {
    Asm a;
    value_in_r6(a, kTimerHash);
    timer_ptr(a).ld_func(2, "cb").call(170);
    a.label("null").ret(0);
    a.label("cb").st(DW, 10, -288, 0).call_sub("g").ret(0);
    a.label("g").st(DW, 10, -320, 0).ret(0);
    c.push_back(reject("async_stack_depth_root", TC, a, "combined stack size of 2 calls is 608. Too large"));
  }
  {
    Asm a;
    a.st(DW, 10, -288, 0);
    value_in_r6(a, kTimerHash);
    timer_ptr(a).ld_func(2, "cb").call(170);
    a.label("null").ret(0);
    a.label("cb").st(DW, 10, -288, 0).ret(0);
    c.push_back(accept("async_callback_own_stack", TC, a));
  }
  // ---- bpf_wq kfuncs (0 init, 1 set_callback_impl, 2 start)
  auto wq = [](int32_t off, int init_map, const std::function<void(Asm&)>& cb) {
    Asm a;
    value_in_r6(a, kWqArray);
    a.movr(1, 6).add(1, off).ld_map(2, init_map).mov(3, 0).kfunc(0);
    a.movr(1, 6).add(1, off).ld_func(2, "cb").mov(3, 0).kfunc(1);
    a.movr(1, 6).add(1, off).mov(2, 0).kfunc(2);
    a.label("null").ret(0).label("cb");
    cb(a);
    return a;
  };
  c.push_back(accept("wq_init_callback_start", TC, wq(8, kWqArray, [](Asm& a) { a.ret(0); })));
  c.push_back(reject("wq_wrong_offset", TC, wq(0, kWqArray, [](Asm& a) { a.ret(0); }),
                     "off 0 doesn't point to 'struct bpf_wq' that is at 8"));
  c.push_back(reject("wq_callback_returns_3", TC, wq(8, kWqArray, [](Asm& a) { a.ret(3); }),
                     "At async callback return the register R0 has smin=3 smax=3 should have been in [0, 0]"));
  c.push_back(reject("wq_init_other_map", TC, wq(8, kHash, [](Asm& a) { a.ret(0); }),
                     "workqueue pointer in R1 map_uid=0 doesn't match map pointer in R2 map_uid=0"));
  c.push_back(reject("wq_tracing_prog", ProgType::Kprobe, Asm().lookup(kWqArray).ret(0),
                     "tracing progs cannot use bpf_wq yet"));
  return c;
}

class HelperCorpus : public CorpusTest {};
TEST_P(HelperCorpus, Verdict) { check_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Helpers, HelperCorpus, ::testing::ValuesIn(cases()), case_name);

TEST(AsyncCallbacks, ReportedInOutput) {
  Case c = accept("out", TC, timer_program([](Asm& a) { a.ret(0); }));
  auto result = run_case(c);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->subprogs.size(), 2u);
  EXPECT_TRUE(result->subprogs[1].is_async_callback);
  EXPECT_FALSE(result->subprogs[0].is_async_callback);
}

}  // namespace
}  // namespace hourglass::verifier::test
