// object/ tests: a map whose type number no kernel knows must be refused by name.
#include "hg_bpf.h"

struct {
  __uint(type, 99);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} strange SEC(".maps");

SEC("xdp")
int uses_strange(struct xdp_md *ctx) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&strange, &key) ? XDP_PASS : XDP_DROP;
}
