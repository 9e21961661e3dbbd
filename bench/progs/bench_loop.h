// Measurement skeleton shared by the bench programs: a bpf_loop of args->iterations runs of one
// loop body, timed with bpf_ktime_get_ns() inside the program, so the same figure comes out of
// the kernel (whose syscall-program test-run reports no duration) and out of Hourglass.
#pragma once
#include "hg_bpf.h"
#include "bench_abi.h"

// Handed to every loop body through bpf_loop's ctx pointer.
struct loop_state {
  __u64 errors;
  __u64 sink;
  __u64 param;
  __u64 param2;
};

#define BENCH_LOOP_PROGRAM(prog_name, body)                          \
  SEC("syscall")                                                     \
  int prog_name(struct bench_args *args) {                           \
    struct loop_state state = {};                                    \
    state.param = args->param;                                       \
    state.param2 = args->param2;                                     \
    __u64 started = bpf_ktime_get_ns();                              \
    bpf_loop((__u32)args->iterations, body, &state, 0);              \
    args->elapsed_ns = bpf_ktime_get_ns() - started;                 \
    args->errors = state.errors;                                     \
    args->sink = state.sink;                                         \
    return 0;                                                        \
  }
