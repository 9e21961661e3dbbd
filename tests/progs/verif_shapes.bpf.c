// Shapes clang produces that the verifier must accept (tests/verifier/objects_test.cpp verifies
// every program here): packet parsing with bounds checks, bounded loops over stack arrays,
// bpf_loop and bpf_for_each_map_elem callbacks with a stack context, a timer whose callback takes
// the value's spin lock and re-arms itself, and bpf-to-bpf calls.
#include "hg_bpf.h"

struct elem {
  __u64 hits;
  struct bpf_timer timer;
  struct bpf_spin_lock lock;
  __u32 ticks;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, struct elem);
} verif_timers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} verif_counts SEC(".maps");

__u64 verif_total = 0;

struct eth {
  __u8 dst[6];
  __u8 src[6];
  __u16 proto;
};

SEC("xdp")
int verif_parse(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct eth *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_PASS;
  __u32 key = eth->src[5] & 7;
  __u64 *count = bpf_map_lookup_elem(&verif_counts, &key);
  if (count) __sync_fetch_and_add(count, 1);
  return eth->proto == bpf_htons(0x0800) ? XDP_PASS : XDP_DROP;
}

static __attribute__((noinline)) __u32 fold(__u32 *values, __u32 n) {
  __u32 acc = 0;
  for (__u32 i = 0; i < n && i < 16; i++) acc = acc * 31 + values[i];
  return acc;
}

SEC("syscall")
int verif_loops(void *ctx) {
  __u32 values[16];
  for (int i = 0; i < 16; i++) values[i] = i * 7;
  verif_total = fold(values, 16);
  return 0;
}

struct loop_ctx {
  __u64 sum;
  __u32 limit;
};

static long add_index(__u32 index, void *data) {
  struct loop_ctx *lc = data;
  lc->sum += index;
  return index >= lc->limit ? 1 : 0;
}

static long add_value(void *map, __u32 *key, __u64 *value, void *data) {
  struct loop_ctx *lc = data;
  lc->sum += *value + *key;
  return 0;
}

SEC("syscall")
int verif_callbacks(void *ctx) {
  struct loop_ctx lc = {.sum = 0, .limit = 10};
  bpf_loop(100, add_index, &lc, 0);
  bpf_for_each_map_elem(&verif_counts, add_value, &lc, 0);
  verif_total = lc.sum;
  return 0;
}

static int tick(void *map, __u32 *key, struct elem *value) {
  bpf_spin_lock(&value->lock);
  value->ticks++;
  bpf_spin_unlock(&value->lock);
  if (value->ticks < 5) bpf_timer_start(&value->timer, 1000, 0);
  return 0;
}

SEC("tc")
int verif_timer(struct __sk_buff *skb) {
  __u32 key = skb->len & 63;
  struct elem init = {};
  bpf_map_update_elem(&verif_timers, &key, &init, BPF_NOEXIST);
  struct elem *value = bpf_map_lookup_elem(&verif_timers, &key);
  if (!value) return 0;
  value->hits++;
  bpf_timer_init(&value->timer, &verif_timers, HG_CLOCK_MONOTONIC);
  bpf_timer_set_callback(&value->timer, tick);
  bpf_timer_start(&value->timer, 1000, 0);
  return 0;
}
