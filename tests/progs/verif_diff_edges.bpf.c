// Shapes for the differential harness (tests/verifier/differential_objects_test.cpp): clang output
// that leans on range tracking where Hourglass's verifier and the kernel's could part ways —
// variable-length packet headers, signed bounds on a stack index, a 32-bit masked map-value
// offset, pointer spills across helper calls, and a timer in an array map whose callback re-arms
// itself with an absolute expiry. Both verifiers must accept every program here.
#include "hg_bpf.h"

struct slot {
  __u64 bytes[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, struct slot);
} diff_slots SEC(".maps");

struct tick {
  struct bpf_timer timer;
  __u64 fired;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tick);
} diff_ticks SEC(".maps");

struct iphdr_min {
  __u8 ver_ihl;
  __u8 tos;
  __u16 tot_len;
  __u16 id;
  __u16 frag;
  __u8 ttl;
  __u8 protocol;
  __u16 check;
  __u32 saddr;
  __u32 daddr;
};

struct udphdr_min {
  __u16 source;
  __u16 dest;
  __u16 len;
  __u16 check;
};

// IPv4 with options: the UDP header sits at a variable offset (ihl * 4) from the IP header.
SEC("xdp")
int diff_var_header(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct iphdr_min *ip = data + 14;
  if ((void *)(ip + 1) > data_end) return XDP_PASS;
  __u32 ihl = (ip->ver_ihl & 0x0f) * 4;
  if (ihl < sizeof(*ip)) return XDP_DROP;
  struct udphdr_min *udp = (void *)ip + ihl;
  if ((void *)(udp + 1) > data_end) return XDP_PASS;
  return udp->dest == __builtin_bswap16(53) ? XDP_DROP : XDP_PASS;
}

// A signed index checked on both sides, into a stack array and a map value; a 32-bit masked
// offset into the value.
SEC("tc")
int diff_signed_index(struct __sk_buff *skb) {
  __u64 local[8] = {};
  int idx = (int)skb->len - 100;
  if (idx < 0 || idx >= 8) return 0;
  local[idx] = skb->protocol;
  __u32 key = 0;
  struct slot *slot = bpf_map_lookup_elem(&diff_slots, &key);
  if (!slot) return 0;
  slot->bytes[idx] += local[idx];
  __u32 masked = skb->len & 7;
  slot->bytes[masked] += 1;
  return 0;
}

// A map-value pointer kept across helper calls (clang spills it or keeps it in r6-r9).
SEC("tc")
int diff_spill_across_calls(struct __sk_buff *skb) {
  __u32 key = 1;
  struct slot *slot = bpf_map_lookup_elem(&diff_slots, &key);
  if (!slot) return 0;
  __u64 before = bpf_ktime_get_ns();
  __u32 other_key = 2;
  struct slot *other = bpf_map_lookup_elem(&diff_slots, &other_key);
  __u64 after = bpf_ktime_get_ns();
  slot->bytes[0] = after - before;
  if (other) other->bytes[1] = slot->bytes[0];
  return 0;
}

static int on_tick(void *map, __u32 *key, struct tick *value) {
  value->fired++;
  if (value->fired < 5) bpf_timer_start(&value->timer, bpf_ktime_get_ns() + 1000000, BPF_F_TIMER_ABS);
  return 0;
}

// A timer in an array map: init, callback, start; the callback re-arms itself (absolute time).
SEC("tc")
int diff_array_timer(struct __sk_buff *skb) {
  __u32 key = 0;
  struct tick *value = bpf_map_lookup_elem(&diff_ticks, &key);
  if (!value) return 0;
  bpf_timer_init(&value->timer, &diff_ticks, HG_CLOCK_MONOTONIC);
  bpf_timer_set_callback(&value->timer, on_tick);
  bpf_timer_start(&value->timer, 1000, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
