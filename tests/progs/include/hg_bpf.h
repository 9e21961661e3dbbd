// Common include for BPF test programs: kernel UAPI types plus the few definitions newer than
// Debian 12's linux-libc-dev (6.1) headers.
#pragma once
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef BPF_F_TIMER_ABS
#define BPF_F_TIMER_ABS (1ULL << 0)
#endif
#ifndef BPF_F_TIMER_CPU_PIN
#define BPF_F_TIMER_CPU_PIN (1ULL << 1)
#endif
#define HG_CLOCK_REALTIME 0
#define HG_CLOCK_MONOTONIC 1
#define HG_CLOCK_BOOTTIME 7

struct bpf_wq {
  __u64 __opaque[2];
} __attribute__((aligned(8)));

extern int bpf_wq_init(struct bpf_wq *wq, void *p__map, unsigned int flags) __ksym __weak;
extern int bpf_wq_start(struct bpf_wq *wq, unsigned int flags) __ksym __weak;
extern int bpf_wq_set_callback_impl(struct bpf_wq *wq,
                                    int (*callback_fn)(void *map, int *key, void *value),
                                    unsigned int flags, void *aux__ign) __ksym __weak;

char _license[] SEC("license") = "GPL";
