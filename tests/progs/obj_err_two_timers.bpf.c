// object/ tests: a map value with two struct bpf_timer must be refused at load.
#include "hg_bpf.h"

struct two_timers {
  struct bpf_timer first;
  struct {
    __u64 pad;
    struct bpf_timer second;
  } inner;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct two_timers);
} doubled SEC(".maps");

SEC("xdp")
int uses_doubled(struct xdp_md *ctx) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&doubled, &key) ? XDP_PASS : XDP_DROP;
}
