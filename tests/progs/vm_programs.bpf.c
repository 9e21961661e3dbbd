// Programs for tests/vm/bpf_programs_test.cpp: clang-compiled code (bpf-to-bpf calls, loops,
// stack buffers, switch lowering, byte swaps), callbacks through bpf_loop, global data, and tail
// calls through a prog_array.
#include "hg_bpf.h"

#include "../vm/vm_programs_shared.h"

// vm_fold and vm_checksum of vm_programs_shared.h, computing the same values in a shape a
// verifier can follow: clang lowers `x % 48` to x - (x / 48) * 48, whose range neither the
// kernel's verifier nor Hourglass's can bound, so the slot gets an explicit bound it never needs
// (the empty asm keeps clang from proving the check redundant and dropping it), and the data is
// read from a stack copy.
static __attribute__((noinline)) __u64 vm_fold_verifiable(const __u8 *data, __u32 len, __s32 seed) {
  __u32 table[48];
  for (int i = 0; i < 48; i++) table[i] = (__u32)(seed + i * 77);
  __u64 acc = 0;
  for (__u32 i = 0; i < len && i < 64; i++) {
    __u32 slot = (data[i] * 13u + i) % 48;
    asm volatile("" : "+r"(slot));
    if (slot >= 48) return 0;
    table[slot] = table[slot] * 31 + data[i];
    acc = vm_mix(acc, table[slot], data[i], seed - (__s32)i, i);
  }
  for (int i = 0; i < 48; i++) acc += vm_classify((__s32)table[i]);
  return acc;
}

SEC("syscall")
int vm_checksum_prog(struct vm_input *in) {
  // A ctx pointer may only be dereferenced unmodified: the bytes are read at constant offsets
  // into the stack, where a variable index is fine.
  __u8 data[64];
  __builtin_memcpy(data, in->data, sizeof(data));
  __u64 folded = vm_fold_verifiable(data, in->len, in->seed);
  __u64 swapped = __builtin_bswap32((__u32)folded) |
                  ((__u64)__builtin_bswap16((__u16)(folded >> 32)) << 32);
  in->out[0] = folded;
  in->out[1] = swapped;
  in->out[2] = vm_mix(folded, swapped, in->len, in->seed, 0);
  return (int)(in->out[2] ^ in->out[0]);
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
