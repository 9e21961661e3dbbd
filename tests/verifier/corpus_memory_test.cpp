// Corpus part 1: registers, stack, map values, context, packets, pointer arithmetic, atomics.
#include "asm.h"

namespace hourglass::verifier::test {
namespace {

constexpr ProgType XDP = ProgType::Xdp, TC = ProgType::SchedCls, SYS = ProgType::Syscall;

// r0 = lookup(map); if (!r0) return 0; <body>; the body ends with an exit.
Asm checked_lookup(int map) {
  Asm a;
  a.lookup(map).j(JEQ, 0, 0, "null");
  return a;
}
Asm& null_exit(Asm& a) { return a.label("null").ret(0); }

// xdp: r2 = data, r3 = data_end, r4 = data + 14; if (r4 > r3) goto out
Asm xdp_checked14() {
  Asm a;
  a.ldx(W, 2, 1, 0).ldx(W, 3, 1, 4).movr(4, 2).add(4, 14).jr(JGT, 4, 3, "out");
  return a;
}

std::vector<Case> cases() {
  std::vector<Case> c;
  // ---- registers
  c.push_back(accept("ret0", XDP, Asm().ret(0)));
  c.push_back(reject("exit_without_r0", XDP, Asm().exit(), "R0 !read_ok", EACCES));
  c.push_back(reject("read_uninit_r2", XDP, Asm().movr(0, 2).exit(), "R2 !read_ok"));
  c.push_back(reject("write_r10", XDP, Asm().mov(10, 0).ret(0), "frame pointer is read only"));
  c.push_back(reject("add_r10", XDP, Asm().add(10, 8).ret(0), "frame pointer is read only"));
  c.push_back(reject("r11_invalid", XDP, Asm().mov(11, 0).ret(0), "R11 is invalid"));
  c.push_back(reject("unknown_opcode", XDP, Asm().raw(Insn{0xff, 0, 0, 0, 0}).ret(0),
                     "unknown opcode ff", EINVAL));
  c.push_back(accept("ld_imm64_const", XDP, Asm().ld_imm64(0, 0x100000000ull).exit()));
  c.push_back(reject("ld_imm64_truncated", XDP,
                     Asm().mov(0, 0).exit().raw(Insn{kOpLdImm64, 0, 0, 0, 0}),
                     "invalid bpf_ld_imm64 insn"));
  c.push_back(reject("map_fd_invalid", XDP, Asm().ld_map(1, 99).ret(0),
                     "fd 99 is not pointing to valid bpf_map"));
  c.push_back(accept("div_by_reg_zero", XDP, Asm().mov(1, 0).mov(0, 10).alu64r(DIV, 0, 1).exit()));
  c.push_back(reject("div_by_imm_zero", XDP, Asm().mov(0, 1).alu64(DIV, 0, 0).exit(), "div by zero"));
  c.push_back(reject("mod_by_imm_zero", XDP, Asm().mov(0, 1).alu32(MOD, 0, 0).exit(), "div by zero"));
  c.push_back(reject("shift_too_far", XDP, Asm().mov(0, 1).alu64(LSH, 0, 64).exit(), "invalid shift 64"));
  c.push_back(reject("shift32_too_far", XDP, Asm().mov(0, 1).alu32(RSH, 0, 32).exit(), "invalid shift 32"));
  c.push_back(accept("byte_swap", XDP, Asm().mov(0, 1).raw(Insn{kClassAlu | kAluEnd | kSrcX, 0, 0, 0, 16}).exit()));
  c.push_back(accept("alu_mix", XDP,
                     Asm().mov(0, 7).alu64(MUL, 0, 3).alu64(XOR, 0, 5).alu32(ARSH, 0, 1)
                         .alu64(OR, 0, 16).alu64(NEG, 0, 0).alu64(MOD, 0, 9).exit()));
  // ---- stack
  c.push_back(accept("stack_store_load", XDP, Asm().st(DW, 10, -8, 1).ldx(DW, 0, 10, -8).exit()));
  // Never-written stack reads as an unknown number, as for the kernel's privileged loader (the
  // details and the reads_uninit_stack flag: corpus_uninit_stack_test.cpp).
  c.push_back(accept("stack_uninit_read", XDP, Asm().ldx(DW, 0, 10, -8).exit()));
  c.push_back(accept("stack_partly_uninit", XDP, Asm().st(W, 10, -8, 1).ldx(DW, 0, 10, -8).exit()));
  c.push_back(reject("stack_below_frame", XDP, Asm().st(DW, 10, -520, 0).ret(0),
                     "invalid write to stack R10 off=-520 size=8"));
  c.push_back(reject("stack_above_fp", XDP, Asm().st(DW, 10, 0, 0).ret(0),
                     "invalid write to stack R10 off=0 size=8"));
  c.push_back(reject("stack_read_above_fp", XDP, Asm().ldx(W, 0, 10, 4).exit(),
                     "invalid read from stack R10 off=4 size=4"));
  c.push_back(reject("stack_misaligned", XDP, Asm().st(W, 10, -6, 0).ret(0), "misaligned stack access"));
  c.push_back(accept("stack_512", XDP, Asm().st(DW, 10, -512, 0).ret(0)));
  c.push_back(accept("stack_bytes", XDP, Asm().st(B, 10, -1, 1).st(B, 10, -2, 2).ldx(H, 0, 10, -2).exit()));
  c.push_back(accept("spill_fill_ctx", XDP,
                     Asm().stx(DW, 10, 1, -8).ldx(DW, 2, 10, -8).ldx(W, 0, 2, 12).exit()));
  c.push_back(reject("fill_part_of_pointer", XDP, Asm().stx(DW, 10, 1, -8).ldx(W, 0, 10, -8).exit(),
                     "invalid size of register fill"));
  c.push_back(reject("spill_overwritten_then_deref", XDP,
                     Asm().stx(DW, 10, 1, -8).st(B, 10, -8, 0).ldx(DW, 2, 10, -8).ldx(W, 0, 2, 12).exit(),
                     "R2 invalid mem access 'scalar'"));
  c.push_back(accept("spill32_keeps_bounds", TC,
                     Asm().mov(3, 40).stx(W, 10, 3, -16).lookup(kArray).j(JEQ, 0, 0, "null")
                         .ldx(W, 3, 10, -16).addr(0, 3).ldx(DW, 0, 0, 0).exit().label("null").ret(0)));
  c.push_back(reject("spill32_bounds_too_big", TC,
                     Asm().mov(3, 41).stx(W, 10, 3, -16).lookup(kArray).j(JEQ, 0, 0, "null")
                         .ldx(W, 3, 10, -16).addr(0, 3).ldx(DW, 0, 0, 0).exit().label("null").ret(0),
                     "invalid access to map value, value_size=48 off=41 size=8"));
  c.push_back(accept("var_stack_read", XDP,
                     Asm().call(7).alu64(AND, 0, 7).st(DW, 10, -16, 0).st(DW, 10, -8, 0)
                         .movr(2, 10).add(2, -16).addr(2, 0).ldx(B, 0, 2, 0).exit()));
  c.push_back(accept("var_stack_read_uninit", XDP,
                     Asm().call(7).alu64(AND, 0, 7).st(DW, 10, -8, 0)
                         .movr(2, 10).add(2, -16).addr(2, 0).ldx(B, 0, 2, 0).exit()));
  c.push_back(accept("var_stack_write", XDP,
                     Asm().call(7).alu64(AND, 0, 7).movr(2, 10).add(2, -16).addr(2, 0)
                         .st(B, 2, 0, 1).ret(0)));
  c.push_back(reject("var_stack_unbounded", XDP,
                     Asm().call(7).movr(2, 10).addr(2, 0).st(B, 2, 0, 1).ret(0),
                     "variable-offset write to stack R2"));
  // ---- map values
  c.push_back(reject("map_value_or_null_deref", TC, Asm().lookup(kHash).ldx(DW, 0, 0, 0).exit(),
                     "R0 invalid mem access 'map_value_or_null'", EACCES));
  c.push_back(accept("map_value_null_checked", TC,
                     null_exit(checked_lookup(kHash).ldx(DW, 0, 0, 0).exit())));
  c.push_back(accept("map_value_null_check_jne", TC,
                     Asm().lookup(kHash).j(JNE, 0, 0, "ok").ret(0).label("ok").ldx(DW, 0, 0, 0).exit()));
  c.push_back(accept("map_value_null_check_copy", TC,
                     Asm().lookup(kHash).movr(6, 0).j(JEQ, 0, 0, "null").ldx(DW, 0, 6, 0).exit()
                         .label("null").ret(0)));
  c.push_back(accept("map_value_null_check_spilled", TC,
                     Asm().lookup(kHash).stx(DW, 10, 0, -16).j(JEQ, 0, 0, "null").ldx(DW, 6, 10, -16)
                         .ldx(DW, 0, 6, 0).exit().label("null").ret(0)));
  c.push_back(reject("map_value_null_branch_deref", TC,
                     Asm().lookup(kHash).j(JNE, 0, 0, "out").ldx(DW, 0, 0, 0).exit().label("out").ret(0),
                     "R0 invalid mem access 'scalar'"));
  c.push_back(reject("map_value_past_end", TC, null_exit(checked_lookup(kHash).ldx(DW, 0, 0, 8).exit()),
                     "invalid access to map value, value_size=8 off=8 size=8"));
  c.push_back(reject("map_value_negative_off", TC, null_exit(checked_lookup(kHash).ldx(W, 0, 0, -4).exit()),
                     "invalid access to map value, value_size=8 off=-4 size=4"));
  c.push_back(accept("map_value_last_byte", TC, null_exit(checked_lookup(kArray).ldx(B, 0, 0, 47).exit())));
  c.push_back(accept("map_value_var_masked", TC,
                     null_exit(checked_lookup(kArray).ldx(W, 1, 0, 0).alu64(AND, 1, 31).addr(0, 1)
                                   .ldx(B, 0, 0, 0).exit())));
  c.push_back(reject("map_value_var_unbounded", TC,
                     null_exit(checked_lookup(kArray).ldx(W, 1, 0, 0).addr(0, 1).ldx(B, 0, 0, 0).exit()),
                     "R0 unbounded memory access"));
  c.push_back(reject("map_value_var_too_far", TC,
                     null_exit(checked_lookup(kArray).ldx(W, 1, 0, 0).alu64(AND, 1, 63).addr(0, 1)
                                   .ldx(B, 0, 0, 0).exit()),
                     "R0 max value is outside of the allowed memory range"));
  c.push_back(accept("map_value_var_checked", TC,
                     null_exit(checked_lookup(kArray).ldx(W, 1, 0, 0).j(JGE, 1, 40, "null").addr(0, 1)
                                   .ldx(DW, 0, 0, 0).exit())));
  c.push_back(reject("map_value_var_check_off_by_one", TC,
                     null_exit(checked_lookup(kArray).ldx(W, 1, 0, 0).j(JGT, 1, 41, "null").addr(0, 1)
                                   .ldx(DW, 0, 0, 0).exit()),
                     "R0 max value is outside of the allowed memory range"));
  c.push_back(reject("map_value_var_signed", TC,
                     null_exit(checked_lookup(kArray).ldx(DW, 1, 0, 0).j(JSGT, 1, 10, "null").addr(0, 1)
                                   .ldx(B, 0, 0, 0).exit()),
                     "R0 min value is negative"));
  c.push_back(accept("map_value_var_signed_both", TC,
                     null_exit(checked_lookup(kArray).ldx(DW, 1, 0, 0).j(JSGT, 1, 10, "null")
                                   .j(JSLT, 1, 0, "null").addr(0, 1).ldx(B, 0, 0, 0).exit())));
  c.push_back(reject("map_value_leak_pointer", TC,
                     null_exit(checked_lookup(kHash).stx(DW, 0, 10, 0).ret(0)),
                     "R10 leaks addr into map"));
  c.push_back(reject("rodata_write", TC, Asm().ld_map_value(1, kRodata, 0).st(DW, 1, 0, 1).ret(0),
                     "write into map forbidden"));
  c.push_back(accept("rodata_read", TC, Asm().ld_map_value(1, kRodata, 8).ldx(DW, 0, 1, 0).exit()));
  c.push_back(reject("map_value_pseudo_off_too_big", TC, Asm().ld_map_value(1, kRodata, 16).ret(0),
                     "invalid access to map value pointer, value_size=16 off=16"));
  c.push_back(reject("timer_direct_load", TC, null_exit(checked_lookup(kTimerHash).ldx(DW, 1, 0, 8).ret(0)),
                     "bpf_timer cannot be accessed directly by load/store", EACCES));
  c.push_back(reject("timer_direct_store", TC, null_exit(checked_lookup(kTimerHash).st(W, 0, 20, 0).ret(0)),
                     "bpf_timer cannot be accessed directly by load/store"));
  c.push_back(reject("timer_overlap_from_below", TC,
                     null_exit(checked_lookup(kTimerHash).ldx(DW, 1, 0, 4).ret(0)),
                     "bpf_timer cannot be accessed directly by load/store"));
  c.push_back(accept("timer_neighbour_bytes", TC,
                     null_exit(checked_lookup(kTimerHash).ldx(DW, 1, 0, 0).ldx(W, 1, 0, 28).ret(0))));
  c.push_back(reject("timer_var_access", TC,
                     null_exit(checked_lookup(kTimerHash).ldx(W, 1, 0, 0).alu64(AND, 1, 7).addr(0, 1)
                                   .ldx(B, 0, 0, 4).exit()),
                     "bpf_timer cannot be accessed directly by load/store"));
  c.push_back(reject("spin_lock_direct", TC, null_exit(checked_lookup(kTimerHash).ldx(W, 1, 0, 24).ret(0)),
                     "bpf_spin_lock cannot be accessed directly by load/store"));
  c.push_back(reject("wq_direct", TC, null_exit(checked_lookup(kWqArray).st(DW, 0, 16, 0).ret(0)),
                     "bpf_wq cannot be accessed directly by load/store"));
  // ---- context
  c.push_back(accept("xdp_ctx_fields", XDP, Asm().ldx(W, 2, 1, 12).ldx(W, 3, 1, 16).ret(2)));
  // egress_ifindex: BPF_XDP_DEVMAP programs only (the kernel's xdp_is_valid_access).
  c.push_back(reject("xdp_ctx_egress_ifindex", XDP, Asm().ldx(W, 4, 1, 20).ret(2),
                     "invalid bpf_context access off=20 size=4", EACCES));
  c.push_back(reject("xdp_ctx_past_end", XDP, Asm().ldx(W, 2, 1, 24).ret(0),
                     "invalid bpf_context access off=24 size=4", EACCES));
  c.push_back(reject("xdp_ctx_narrow", XDP, Asm().ldx(B, 2, 1, 12).ret(0),
                     "invalid bpf_context access off=12 size=1"));
  c.push_back(reject("xdp_ctx_write", XDP, Asm().st(W, 1, 12, 0).ret(0), "invalid bpf_context access off=12 size=4"));
  c.push_back(reject("xdp_data_u64", XDP, Asm().ldx(DW, 2, 1, 0).ret(0), "invalid bpf_context access off=0 size=8"));
  c.push_back(reject("ctx_modified", XDP, Asm().add(1, 4).ldx(W, 0, 1, 0).exit(),
                     "dereference of modified ctx ptr R1 off=4 disallowed"));
  c.push_back(accept("tc_mark_read_write", TC, Asm().ldx(W, 2, 1, 8).stx(W, 1, 2, 8).ret(0)));
  c.push_back(reject("tc_len_write", TC, Asm().st(W, 1, 0, 1).ret(0), "invalid bpf_context access off=0 size=4"));
  c.push_back(accept("tc_narrow_read", TC, Asm().ldx(B, 0, 1, 0).exit()));
  c.push_back(accept("tc_cb_write", TC, Asm().st(W, 1, 48, 1).st(W, 1, 64, 2).ret(0)));
  c.push_back(reject("tc_leak_pointer_to_ctx", TC, Asm().stx(W, 1, 10, 8).ret(0), "leaks addr into ctx"));
  c.push_back(reject("socket_filter_data", ProgType::SocketFilter, Asm().ldx(W, 2, 1, 76).ret(0),
                     "invalid bpf_context access off=76 size=4"));
  c.push_back(accept("syscall_ctx_rw", SYS, Asm().ldx(DW, 0, 1, 16).st(DW, 1, 0, 0).exit()));
  c.push_back(accept("tracing_args", ProgType::Tracing, Asm().ldx(DW, 0, 1, 8).exit()));
  c.push_back(reject("tracing_args_write", ProgType::Tracing, Asm().st(DW, 1, 0, 0).ret(0),
                     "invalid bpf_context access off=0 size=8"));
  c.push_back(reject("tracepoint_common_fields", ProgType::Tracepoint, Asm().ldx(DW, 0, 1, 0).exit(),
                     "invalid bpf_context access off=0 size=8"));
  c.push_back(accept("tracepoint_args", ProgType::Tracepoint, Asm().ldx(DW, 0, 1, 16).exit()));
  c.push_back(accept("kprobe_regs", ProgType::Kprobe, Asm().ldx(DW, 0, 1, 112).exit()));
  c.push_back(reject("kprobe_regs_past_end", ProgType::Kprobe, Asm().ldx(DW, 0, 1, 168).exit(),
                     "invalid bpf_context access off=168 size=8"));
  // ---- packets
  c.push_back(accept("xdp_packet_checked", XDP,
                     xdp_checked14().ldx(B, 0, 2, 13).exit().label("out").ret(0)));
  c.push_back(reject("xdp_packet_unchecked", XDP, Asm().ldx(W, 2, 1, 0).ldx(B, 0, 2, 0).exit(),
                     "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)", EACCES));
  c.push_back(reject("xdp_packet_past_check", XDP,
                     xdp_checked14().ldx(B, 0, 2, 14).exit().label("out").ret(0),
                     "invalid access to packet, off=14 size=1"));
  c.push_back(reject("xdp_packet_wrong_branch", XDP,
                     xdp_checked14().ret(0).label("out").ldx(B, 0, 2, 0).exit(),
                     "invalid access to packet"));
  c.push_back(accept("xdp_packet_end_first", XDP,
                     Asm().ldx(W, 2, 1, 0).ldx(W, 3, 1, 4).movr(4, 2).add(4, 14).jr(JLT, 3, 4, "out")
                         .ldx(W, 0, 2, 10).exit().label("out").ret(0)));
  c.push_back(accept("xdp_packet_jlt_taken", XDP,
                     Asm().ldx(W, 2, 1, 0).ldx(W, 3, 1, 4).movr(4, 2).add(4, 8).jr(JLT, 4, 3, "ok")
                         .ret(0).label("ok").ldx(DW, 0, 2, 0).exit()));
  c.push_back(accept("xdp_packet_check_through_copy", XDP,
                     xdp_checked14().ldx(H, 0, 4, -2).exit().label("out").ret(0)));
  c.push_back(reject("packet_end_deref", XDP, Asm().ldx(W, 3, 1, 4).ldx(B, 0, 3, 0).exit(),
                     "R3 invalid mem access 'pkt_end'"));
  c.push_back(reject("packet_end_arith", XDP, Asm().ldx(W, 3, 1, 4).add(3, 1).ret(0),
                     "R3 pointer arithmetic on pkt_end prohibited"));
  c.push_back(accept("xdp_packet_write", XDP, xdp_checked14().st(B, 2, 0, 1).ret(1).label("out").ret(0)));
  c.push_back(accept("tc_packet_checked", TC,
                     Asm().ldx(W, 2, 1, 76).ldx(W, 3, 1, 80).movr(4, 2).add(4, 4).jr(JGT, 4, 3, "out")
                         .ldx(W, 0, 2, 0).exit().label("out").ret(0)));
  c.push_back(accept("xdp_packet_var_offset_checked", XDP,
                     xdp_checked14().ldx(B, 5, 2, 0).alu64(AND, 5, 15).addr(2, 5).movr(4, 2).add(4, 4)
                         .jr(JGT, 4, 3, "out").ldx(W, 0, 2, 0).exit().label("out").ret(0)));
  c.push_back(reject("xdp_packet_var_offset_unchecked", XDP,
                     xdp_checked14().ldx(B, 5, 2, 0).alu64(AND, 5, 15).addr(2, 5).ldx(W, 0, 2, 0).exit()
                         .label("out").ret(0),
                     "invalid access to packet"));
  c.push_back(reject("xdp_meta_unchecked", XDP, Asm().ldx(W, 2, 1, 8).ldx(B, 0, 2, 0).exit(),
                     "invalid access to packet"));
  // ---- pointer arithmetic
  c.push_back(reject("pointer_and", XDP, Asm().movr(2, 10).alu64(AND, 2, 7).ret(0),
                     "R2 bitwise operator &= on pointer prohibited"));
  c.push_back(reject("pointer_mul", XDP, Asm().movr(2, 10).alu64(MUL, 2, 2).ret(0),
                     "R2 pointer arithmetic with *= operator prohibited"));
  c.push_back(reject("pointer_alu32", XDP, Asm().movr(2, 10).alu32(ADD, 2, 1).ret(0),
                     "R2 32-bit pointer arithmetic prohibited"));
  c.push_back(reject("pointer_mov32_is_scalar", XDP, Asm().mov32r(2, 10).st(DW, 2, -8, 0).ret(0),
                     "R2 invalid mem access 'scalar'"));
  c.push_back(accept("packet_length_sub32", XDP,
                     Asm().ldx(W, 2, 1, 0).ldx(W, 3, 1, 4).alu32r(SUB, 3, 2).movr(0, 3).exit()));
  c.push_back(reject("pointer_add32", XDP, Asm().ldx(W, 2, 1, 0).ldx(W, 3, 1, 4).alu32r(ADD, 3, 2).ret(0),
                     "R3 32-bit pointer arithmetic prohibited"));
  c.push_back(reject("pointer_plus_pointer", XDP, Asm().movr(2, 10).addr(2, 1).ret(0),
                     "pointer += pointer prohibited"));
  c.push_back(accept("packet_end_minus_data", XDP,
                     Asm().ldx(W, 2, 1, 0).ldx(W, 3, 1, 4).alu64r(SUB, 3, 2).movr(0, 3).exit()));
  c.push_back(reject("pointer_difference_is_scalar", XDP,
                     Asm().movr(2, 10).alu64r(SUB, 2, 1).ldx(DW, 0, 2, 0).exit(),
                     "R2 invalid mem access 'scalar'"));
  c.push_back(accept("stack_minus_stack", XDP, Asm().movr(2, 10).add(2, -8).movr(0, 10).alu64r(SUB, 0, 2).exit()));
  c.push_back(reject("map_ptr_arith", TC, Asm().ld_map(1, kHash).add(1, 8).ret(0),
                     "R1 pointer arithmetic on map_ptr prohibited"));
  c.push_back(reject("null_pointer_arith", TC, Asm().lookup(kHash).add(0, 1).ret(0),
                     "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first"));
  c.push_back(reject("scalar_minus_pointer", XDP, Asm().mov(2, 0).alu64r(SUB, 2, 10).ret(0),
                     "tried to subtract pointer from scalar"));
  c.push_back(accept("scalar_plus_pointer", XDP, Asm().mov(2, -8).addr(2, 10).st(DW, 2, 0, 0).ret(0)));
  c.push_back(reject("pointer_neg", XDP, Asm().movr(2, 10).alu64(NEG, 2, 0).ret(0),
                     "R2 pointer arithmetic with neg operator prohibited"));
  // ---- atomics
  c.push_back(accept("atomic_add_stack", XDP,
                     Asm().st(DW, 10, -8, 0).mov(1, 1).atomic(DW, 10, 1, -8, ADD).ret(0)));
  c.push_back(accept("atomic_fetch_add_map", TC,
                     null_exit(checked_lookup(kHash).mov(1, 1).atomic(DW, 0, 1, 0, ADD | kAtomicFetch)
                                   .movr(0, 1).exit())));
  c.push_back(reject("atomic_on_ctx", XDP, Asm().mov(2, 1).atomic(W, 1, 2, 0, ADD).ret(0),
                     "BPF_ATOMIC stores into R1 ctx is not allowed"));
  c.push_back(accept("atomic_uninit_stack", XDP, Asm().mov(1, 1).atomic(DW, 10, 1, -8, ADD).ret(0)));
  c.push_back(accept("atomic_cmpxchg", XDP,
                     Asm().st(DW, 10, -8, 0).mov(0, 0).mov(1, 1).atomic(DW, 10, 1, -8, kAtomicCmpXchg).exit()));
  c.push_back(reject("atomic_cmpxchg_r0_uninit", XDP,
                     Asm().st(DW, 10, -8, 0).mov(1, 1).atomic(DW, 10, 1, -8, kAtomicCmpXchg).ret(0),
                     "R0 !read_ok"));
  c.push_back(reject("atomic_pointer_src", XDP, Asm().st(DW, 10, -8, 0).atomic(DW, 10, 10, -8, kAtomicXchg).ret(0),
                     "R10 leaks addr into mem"));
  c.push_back(reject("atomic_timer_bytes", TC,
                     null_exit(checked_lookup(kTimerHash).mov(1, 1).atomic(DW, 0, 1, 8, ADD).ret(0)),
                     "bpf_timer cannot be accessed directly by load/store"));
  return c;
}

class MemoryCorpus : public CorpusTest {};
TEST_P(MemoryCorpus, Verdict) { check_case(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Memory, MemoryCorpus, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace hourglass::verifier::test
