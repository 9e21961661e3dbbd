// Code compiled twice: by clang for BPF (tests/progs/vm_programs.bpf.c) and by the host compiler
// (tests/vm/bpf_programs_test.cpp). The interpreter must give the host's answers. Static noinline
// functions become bpf-to-bpf calls in the BPF build.
#pragma once

#include <linux/types.h>

#ifndef VM_NOINLINE
#define VM_NOINLINE __attribute__((noinline))
#endif

struct vm_input {
  __u8 data[64];
  __u32 len;  // bytes of data used, at most 64
  __s32 seed;
  __u64 out[4];
};

// Five arguments: every argument register of a call.
static VM_NOINLINE __u64 vm_mix(__u64 a, __u64 b, __u32 c, __s32 d, __u64 e) {
  __u64 x = a * 0x9e3779b97f4a7c15ull + (b ^ (b >> 29));
  __u32 y = c * 2654435761u + (__u32)(d >> 3);  // 32-bit ALU, arithmetic shift
  if (d < 0) x ^= ~e;
  else x += e << (c & 15);
  return x ^ ((__u64)y << 17) ^ (x >> 41);
}

static VM_NOINLINE __u32 vm_classify(__s32 value) {
  switch (value & 7) {
    case 0: return 11;
    case 1: return (__u32)value * 3;
    case 2: return (__u32)(value >> 1);
    case 3: return (__u32)0 - (__u32)value;
    case 5: return (__u32)value ^ 0x5a5a5a5a;
    default: return (__u32)value / 7 + (__u32)value % 7;
  }
}

// A stack buffer bigger than the caller's view of its own frame, filled and folded.
static VM_NOINLINE __u64 vm_fold(const __u8 *data, __u32 len, __s32 seed) {
  __u32 table[48];
  for (int i = 0; i < 48; i++) table[i] = (__u32)(seed + i * 77);
  __u64 acc = 0;
  for (__u32 i = 0; i < len && i < 64; i++) {
    __u32 slot = (data[i] * 13u + i) % 48;
    table[slot] = table[slot] * 31 + data[i];
    acc = vm_mix(acc, table[slot], data[i], seed - (__s32)i, i);
  }
  for (int i = 0; i < 48; i++) acc += vm_classify((__s32)table[i]);
  return acc;
}

static inline __u64 vm_checksum(struct vm_input *in) {
  __u64 folded = vm_fold(in->data, in->len, in->seed);
  __u64 swapped = __builtin_bswap32((__u32)folded) | ((__u64)__builtin_bswap16((__u16)(folded >> 32)) << 32);
  in->out[0] = folded;
  in->out[1] = swapped;
  in->out[2] = vm_mix(folded, swapped, in->len, in->seed, 0);
  return in->out[2] ^ in->out[0];
}
