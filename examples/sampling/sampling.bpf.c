// Example 3: periodic sampling.
//
// The XDP program counts packets and bytes into the current window. A timer started by the first
// packet re-arms itself every sample period and folds the window into a histogram of packets per
// period (log2 buckets), then starts a new window: the "periodic sampling" use case that first
// asked for BPF timers, armed from the data path itself.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1
#define BUCKETS 16

struct sampler {
  __u64 window_packets;
  __u64 window_bytes;
  __u64 samples;
  __u64 max_packets;
  __u64 max_bytes;
  struct bpf_timer tick;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct sampler);
} state SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, BUCKETS);
  __type(key, __u32);
  __type(value, __u64);
} histogram SEC(".maps");

const volatile __u64 period_ns = 100ull * 1000 * 1000;
__u64 total_packets = 0;

static __u32 log2_bucket(__u64 v) {
  __u32 bits = 0;
  for (int i = 0; i < BUCKETS - 1 && v; i++) {
    bits++;
    v >>= 1;
  }
  return bits;  // 0 for an empty window, else the bit length, capped
}

static int fold_window(void *map, __u32 *key, struct sampler *s) {
  __u64 packets = __sync_lock_test_and_set(&s->window_packets, 0);
  __u64 bytes = __sync_lock_test_and_set(&s->window_bytes, 0);
  __u32 bucket = log2_bucket(packets);
  __u64 *slot = bpf_map_lookup_elem(&histogram, &bucket);
  if (slot) __sync_fetch_and_add(slot, 1);
  s->samples++;
  if (packets > s->max_packets) s->max_packets = packets;
  if (bytes > s->max_bytes) s->max_bytes = bytes;
  bpf_timer_start(&s->tick, period_ns, 0);
  return 0;
}

SEC("xdp")
int sample(struct xdp_md *ctx) {
  __u32 zero = 0;
  struct sampler *s = bpf_map_lookup_elem(&state, &zero);
  if (!s) return XDP_PASS;
  __sync_fetch_and_add(&total_packets, 1);
  __sync_fetch_and_add(&s->window_packets, 1);
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __sync_fetch_and_add(&s->window_bytes, data_end - data);
  if (bpf_timer_init(&s->tick, &state, CLOCK_MONOTONIC) == 0) {  // first packet only
    bpf_timer_set_callback(&s->tick, fold_window);
    bpf_timer_start(&s->tick, period_ns, 0);
  }
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
