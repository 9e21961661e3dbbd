// Programs for tests/vm/bpf_programs_test.cpp: clang-compiled code (bpf-to-bpf calls, loops,
// stack buffers, switch lowering, byte swaps), callbacks through bpf_loop, global data, and tail
// calls through a prog_array.
#include "hg_bpf.h"

#include "../vm/vm_programs_shared.h"

SEC("syscall")
int vm_checksum_prog(struct vm_input *in) {
  return (int)vm_checksum(in);
}

struct loop_ctx {
  __u64 sum;
  __u32 limit;
};

static long add_square(__u32 index, void *data) {
  struct loop_ctx *ctx = data;
  if (index >= ctx->limit) return 1;  // stop
  ctx->sum += (__u64)index * index;
  return 0;
}

SEC("syscall")
int vm_loop_prog(struct vm_input *in) {
  struct loop_ctx ctx = {.sum = 0, .limit = in->len};
  long iterations = bpf_loop(100, add_square, &ctx, 0);
  in->out[0] = ctx.sum;
  in->out[1] = (__u64)iterations;
  return 0;
}

__u64 run_count = 0;       // .bss
__u64 step = 5;            // .data
const volatile __u64 base = 1000;  // .rodata

SEC("syscall")
int vm_global_prog(struct vm_input *in) {
  run_count += step;
  in->out[0] = run_count + base;
  return 0;
}

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} vm_jump_table SEC(".maps");

SEC("syscall")
int vm_tail_target(struct vm_input *in) {
  in->out[1] += 1;
  return 7;
}

SEC("syscall")
int vm_tail_entry(struct vm_input *in) {
  in->out[0] = 1;
  bpf_tail_call(in, &vm_jump_table, 0);
  in->out[0] = 2;  // only when the slot is empty
  return 99;
}
