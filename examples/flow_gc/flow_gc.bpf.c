// Example 1: a flow table with idle-flow garbage collection.
//
// An XDP program counts packets and bytes per IPv4 TCP/UDP flow in an LRU hash. Each flow owns a
// bpf_timer armed for the idle timeout when the flow is first seen. When it fires, the callback
// deletes the flow if no packet came for the whole timeout, or re-arms itself for the time left
// if traffic continued. This is the "garbage collection next to XDP" use case of the BPF timers
// patch set: the program arms the timer in the same run that sees the packet.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1

struct flow_key {
  __u32 saddr;
  __u32 daddr;
  __u16 sport;
  __u16 dport;
  __u8 proto;
  __u8 pad[3];
};

struct flow {
  __u64 packets;
  __u64 bytes;
  __u64 first_seen_ns;
  __u64 last_seen_ns;
  struct bpf_timer gc_timer;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct flow_key);
  __type(value, struct flow);
} flows SEC(".maps");

const volatile __u64 idle_timeout_ns = 30ull * 1000 * 1000 * 1000;

__u64 packets_seen = 0;
__u64 flows_seen = 0;
__u64 flows_collected = 0;
__u64 gc_rearms = 0;

static int gc_flow(void *map, struct flow_key *key, struct flow *flow) {
  __u64 now = bpf_ktime_get_ns();
  __u64 idle = now - flow->last_seen_ns;
  if (idle >= idle_timeout_ns) {
    __sync_fetch_and_add(&flows_collected, 1);
    bpf_map_delete_elem(map, key);  // also frees this timer; we return right away
    return 0;
  }
  __sync_fetch_and_add(&gc_rearms, 1);
  bpf_timer_start(&flow->gc_timer, idle_timeout_ns - idle, 0);
  return 0;
}

static int parse_flow(struct xdp_md *ctx, struct flow_key *key) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return -1;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || ip->ihl != 5) return -1;
  if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) return -1;
  __u16 *ports = (void *)(ip + 1);
  if ((void *)(ports + 2) > data_end) return -1;
  key->saddr = ip->saddr;
  key->daddr = ip->daddr;
  key->sport = bpf_ntohs(ports[0]);
  key->dport = bpf_ntohs(ports[1]);
  key->proto = ip->protocol;
  return 0;
}

SEC("xdp")
int flow_table(struct xdp_md *ctx) {
  struct flow_key key = {};
  if (parse_flow(ctx, &key)) return XDP_PASS;
  __sync_fetch_and_add(&packets_seen, 1);
  __u64 now = bpf_ktime_get_ns();
  __u64 len = (long)ctx->data_end - (long)ctx->data;
  struct flow *flow = bpf_map_lookup_elem(&flows, &key);
  if (flow) {
    __sync_fetch_and_add(&flow->packets, 1);
    __sync_fetch_and_add(&flow->bytes, len);
    flow->last_seen_ns = now;
    return XDP_PASS;
  }
  struct flow fresh = {.packets = 1, .bytes = len, .first_seen_ns = now, .last_seen_ns = now};
  if (bpf_map_update_elem(&flows, &key, &fresh, BPF_NOEXIST)) return XDP_PASS;  // raced: counted by the winner
  flow = bpf_map_lookup_elem(&flows, &key);
  if (!flow) return XDP_PASS;
  __sync_fetch_and_add(&flows_seen, 1);
  if (bpf_timer_init(&flow->gc_timer, &flows, CLOCK_MONOTONIC) == 0 &&
      bpf_timer_set_callback(&flow->gc_timer, gc_flow) == 0)
    bpf_timer_start(&flow->gc_timer, idle_timeout_ns, 0);
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
