// Reflects UDP packets to port 7777 back to their sender (swapped MACs, XDP_TX) and counts them;
// drops UDP to port 7778; passes the rest. Used by the live-interface test of `hourglass run`.
#include "hg_bpf.h"
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

__u64 reflected = 0, dropped = 0;

SEC("xdp")
int reflect(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  __u16 *ports = (void *)(ip + 1);
  if ((void *)(ports + 2) > data_end) return XDP_PASS;
  if (ports[1] == bpf_htons(7778)) {
    __sync_fetch_and_add(&dropped, 1);
    return XDP_DROP;
  }
  if (ports[1] != bpf_htons(7777)) return XDP_PASS;
  unsigned char tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
  __sync_fetch_and_add(&reflected, 1);
  return XDP_TX;
}
