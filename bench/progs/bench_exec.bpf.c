// Section 6 of hourglass-bench: CPU-bound programs, each an XDP program test-run with a repeat
// count (both runtimes time their loop themselves and report the mean per run). The same
// algorithms are compiled natively into hourglass-bench (bench/exec_section.cpp) as the baseline;
// keep the two in step.
//
//   fnv1a_64    FNV-1a (32-bit) over a 64-byte packet, unrolled by clang: straight-line ALU
//   arith_loop  256 rounds of a 64-bit LCG mixed into a second word: a real loop, 64-bit imul
//   sort32      insertion sort (branch-free compare-exchanges) of 32 u32 on the stack
//   map_loop    32 hash-map lookups with an in-place add and 8 updates of 128 keys
//   loop64      bpf_loop of 64 iterations of an empty callback: the fixed cost per iteration
//               (the kernel's verifier inlines such a bpf_loop into a plain loop)
//   xdp_nop, syscall_nop   empty programs: the fixed cost of one test-run call
#include "hg_bpf.h"
#include "bench_abi.h"

SEC("xdp")
int xdp_nop(struct xdp_md *ctx) { return XDP_PASS; }

SEC("syscall")
int syscall_nop(struct bench_args *args) { return 0; }

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

SEC("xdp")
int fnv1a_64(struct xdp_md *ctx) {
  const __u8 *data = (const __u8 *)(long)ctx->data;
  const __u8 *data_end = (const __u8 *)(long)ctx->data_end;
  if (data + 64 > data_end) return XDP_ABORTED;
  __u32 hash = FNV_OFFSET;
#pragma unroll
  for (int i = 0; i < 64; i++) {
    hash ^= data[i];
    hash *= FNV_PRIME;
  }
  return hash & 1 ? XDP_PASS : XDP_DROP;
}

#define ARITH_ROUNDS 256

SEC("xdp")
int arith_loop(struct xdp_md *ctx) {
  const __u32 *data = (const __u32 *)(long)ctx->data;
  const __u32 *data_end = (const __u32 *)(long)ctx->data_end;
  if (data + 4 > data_end) return XDP_ABORTED;
  __u64 x = data[0] | ((__u64)data[1] << 32);
  __u64 y = data[2];
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < ARITH_ROUNDS; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    y ^= x >> 33;
    y = (y << 5) + (y >> 3) + i;
  }
  return (x ^ y) & 1 ? XDP_PASS : XDP_DROP;
}

#define SORT_COUNT 32

// Insertion sort as a network of compare-exchanges: element i sinks through all of 0..i-1 without
// an early exit, and each compare-exchange is branch-free (the sign of b - a selects the swap).
// The values are u32 from the packet kept in 64-bit stack slots (so b - a has its sign in bit
// 63). Why this shape: with a data-dependent early exit, every exit point leaves different dead
// registers behind, and our verifier (no liveness tracking, docs/verifier.md) cannot prune those
// states; clang would also merge neighbouring 32-bit stores into half-spilled 64-bit slots that
// the kernel's verifier cannot prune either.
SEC("xdp")
int sort32(struct xdp_md *ctx) {
  const __u32 *data = (const __u32 *)(long)ctx->data;
  const __u32 *data_end = (const __u32 *)(long)ctx->data_end;
  if (data + SORT_COUNT > data_end) return XDP_ABORTED;
  __u64 values[SORT_COUNT];
#pragma unroll
  for (int i = 0; i < SORT_COUNT; i++) values[i] = data[i];
#pragma clang loop unroll(disable)
  for (int i = 1; i < SORT_COUNT; i++) {
#pragma clang loop unroll(disable)
    for (int j = i; j > 0; j--) {
      __u64 a = values[j - 1], b = values[j];
      __u64 difference = b - a;
      __u64 swap = difference & (__u64)((__s64)difference >> 63);  // b - a if a > b, else 0
      values[j - 1] = a + swap;
      values[j] = b - swap;
    }
  }
  return (values[0] ^ values[SORT_COUNT / 2] ^ values[SORT_COUNT - 1]) & 1 ? XDP_PASS : XDP_DROP;
}

#define MAP_KEYS 128
#define MAP_ROUNDS 32

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} exec_counts SEC(".maps");

SEC("xdp")
int map_loop(struct xdp_md *ctx) {
  const __u32 *data = (const __u32 *)(long)ctx->data;
  const __u32 *data_end = (const __u32 *)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_ABORTED;
  __u32 seed = data[0];
  __u64 total = 0;
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < MAP_ROUNDS; i++) {
    __u32 key = (seed + i * 37) % MAP_KEYS;
    __u64 *value = bpf_map_lookup_elem(&exec_counts, &key);
    if (value) {
      *value += i;
      total += *value;
    }
    if (!value || (i & 3) == 0) {
      __u64 fresh = total + i;
      bpf_map_update_elem(&exec_counts, &key, &fresh, BPF_ANY);
    }
  }
  return total & 1 ? XDP_PASS : XDP_DROP;
}

#define LOOP_ITERATIONS 64

static long empty_callback(__u64 index, void *ctx) { return 0; }

SEC("xdp")
int loop64(struct xdp_md *ctx) {
  long iterations = bpf_loop(LOOP_ITERATIONS, empty_callback, NULL, 0);
  return iterations == LOOP_ITERATIONS ? XDP_PASS : XDP_DROP;
}
