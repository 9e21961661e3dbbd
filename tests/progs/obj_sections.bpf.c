// object/ tests: every supported section kind, several programs per section, .text subprograms
// shared by two programs (one calling another), a static function called within its section.
#include "hg_bpf.h"

// Global .text subprograms: kept out of line so the calls survive -O2.
__attribute__((noinline)) int sub_leaf(int x) { return x * 3 + 1; }
__attribute__((noinline)) int sub_mid(int x) { return sub_leaf(x) + sub_leaf(x + 1); }
__attribute__((noinline)) int sub_unused(int x) { return x - 7; }
// A static .text function: called through the .text section symbol plus an offset in imm.
static __attribute__((noinline)) int text_static(int x) { return x ^ 0x5a; }

SEC("xdp")
int xdp_first(struct xdp_md *ctx) { return sub_mid(ctx->ingress_ifindex) & 3; }

SEC("xdp")
int xdp_second(struct xdp_md *ctx) { return sub_leaf(ctx->rx_queue_index) ? XDP_PASS : XDP_DROP; }

SEC("tc")
int tc_prog(struct __sk_buff *skb) { return text_static(skb->len) > 100; }

SEC("classifier")
int classifier_prog(struct __sk_buff *skb) { return skb->mark; }

SEC("syscall")
int syscall_prog(void *ctx) { return sub_mid(4); }

SEC("socket")
int socket_prog(struct __sk_buff *skb) { return 0; }

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_long(void *ctx) { return 0; }

SEC("tp/sched/sched_switch")
int tp_short(void *ctx) { return 1; }

SEC("kprobe/do_nanosleep")
int kprobe_prog(void *ctx) { return 0; }

SEC("kretprobe/do_nanosleep")
int kretprobe_prog(void *ctx) { return 0; }

SEC("fentry/do_nanosleep")
int fentry_prog(void *ctx) { return 0; }

SEC("fexit/do_nanosleep")
int fexit_prog(void *ctx) { return 0; }

SEC("fentry.s/do_nanosleep")
int fentry_sleepable(void *ctx) { return 0; }

SEC("raw_tp/sched_switch")
int raw_tp_prog(void *ctx) { return 0; }

SEC("raw_tracepoint/sched_wakeup")
int raw_tracepoint_prog(void *ctx) { return 0; }

SEC("perf_event")
int perf_prog(void *ctx) { return 0; }

// A static function in a program section: called without relocation (same-section call).
static __attribute__((noinline)) int local_double(int x) { return x * 2; }

SEC("xdp")
int xdp_local_call(struct xdp_md *ctx) { return local_double(ctx->ingress_ifindex) + sub_leaf(1); }
