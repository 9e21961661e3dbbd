// Example 2: backend health checks.
//
// Backends send UDP heartbeats to port 9999. Each backend owns a bpf_timer; every heartbeat
// marks the backend up and re-arms its timer for the heartbeat timeout (re-arming just moves the
// expiry). When a timer fires, no heartbeat came within the timeout: the backend is marked down.
// Client traffic (UDP to port 80) is steered to the backend chosen by the client address, or to
// the next live one; with no live backend the packet is dropped.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define CLOCK_MONOTONIC 1
#define NUM_BACKENDS 4
#define HEARTBEAT_PORT 9999
#define SERVICE_PORT 80

struct backend {
  __u32 up;
  __u32 pad;
  __u64 last_heartbeat_ns;
  __u64 heartbeats;
  __u64 steered;
  __u64 went_down;
  struct bpf_timer health_timer;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, NUM_BACKENDS);
  __type(key, __u32);
  __type(value, struct backend);
} backends SEC(".maps");

const volatile __u64 heartbeat_timeout_ns = 3ull * 1000 * 1000 * 1000;

__u64 dropped_no_backend = 0;
__u64 rerouted = 0;

static int backend_timed_out(void *map, __u32 *key, struct backend *b) {
  b->up = 0;
  b->went_down++;
  return 0;
}

static int on_heartbeat(__u32 index) {
  struct backend *b = bpf_map_lookup_elem(&backends, &index);
  if (!b) return XDP_ABORTED;
  // -EBUSY after the first heartbeat: the timer is already initialised.
  long rc = bpf_timer_init(&b->health_timer, &backends, CLOCK_MONOTONIC);
  if (rc == 0) bpf_timer_set_callback(&b->health_timer, backend_timed_out);
  b->last_heartbeat_ns = bpf_ktime_get_ns();
  b->heartbeats++;
  b->up = 1;
  bpf_timer_start(&b->health_timer, heartbeat_timeout_ns, 0);
  return XDP_DROP;  // heartbeats are consumed here
}

static int steer(__u32 client) {
  __u32 first = client % NUM_BACKENDS;
  for (__u32 i = 0; i < NUM_BACKENDS; i++) {
    __u32 index = (first + i) % NUM_BACKENDS;
    struct backend *b = bpf_map_lookup_elem(&backends, &index);
    if (b && b->up) {
      __sync_fetch_and_add(&b->steered, 1);
      if (i) __sync_fetch_and_add(&rerouted, 1);
      return XDP_TX;
    }
  }
  __sync_fetch_and_add(&dropped_no_backend, 1);
  return XDP_DROP;
}

SEC("xdp")
int health_lb(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  __u16 *ports = (void *)(ip + 1);
  if ((void *)(ports + 2) > data_end) return XDP_PASS;
  __u16 dport = bpf_ntohs(ports[1]);
  __u32 src_low = bpf_ntohl(ip->saddr) & 0xff;
  if (dport == HEARTBEAT_PORT) return src_low < NUM_BACKENDS ? on_heartbeat(src_low) : XDP_DROP;
  if (dport == SERVICE_PORT) return steer(src_low);
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
