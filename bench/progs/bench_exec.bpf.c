// Section 6 of hourglass-bench: a CPU-bound program. FNV-1a (32-bit) over a 64-byte packet,
// test-run with a repeat count; the duration is the test-run's mean per run.
#include "hg_bpf.h"

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
