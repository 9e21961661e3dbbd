#include "hg_bpf.h"

SEC("xdp")
int return_pass(struct xdp_md *ctx) { return XDP_PASS; }
