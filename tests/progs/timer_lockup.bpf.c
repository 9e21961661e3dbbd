// Two callbacks cancelling each other's timers on two CPUs (the kernel's timer_lockup shape,
// written anew): with synchronous waiting this deadlocks; the rule is that a callback never
// blocks on another callback, so each cancel returns 0, 1 or -EDEADLK and nothing hangs.
#include "hg_bpf.h"

struct elem {
  struct bpf_timer t;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, int);
  __type(value, struct elem);
} timer1_map SEC(".maps"), timer2_map SEC(".maps");

long bad_cancel = 0;      // a cancel result other than 0, 1 or -EDEADLK
__u64 cancels = 0, deadlk = 0;

static void note(long rc) {
  __sync_fetch_and_add(&cancels, 1);
  if (rc == -35) __sync_fetch_and_add(&deadlk, 1);
  else if (rc != 0 && rc != 1) bad_cancel = rc;
}

static int cb_cancels_2(void *map, int *key, struct elem *val) {
  int zero = 0;
  struct elem *other = bpf_map_lookup_elem(&timer2_map, &zero);
  if (other) note(bpf_timer_cancel(&other->t));
  return 0;
}

static int cb_cancels_1(void *map, int *key, struct elem *val) {
  int zero = 0;
  struct elem *other = bpf_map_lookup_elem(&timer1_map, &zero);
  if (other) note(bpf_timer_cancel(&other->t));
  return 0;
}

// Initialises both timers (without arming them) so that neither callback can meet an
// uninitialised timer (-EINVAL) while the other side is still starting.
SEC("tc")
int init_both(struct __sk_buff *skb) {
  int zero = 0;
  struct elem *one = bpf_map_lookup_elem(&timer1_map, &zero);
  struct elem *two = bpf_map_lookup_elem(&timer2_map, &zero);
  if (!one || !two) return 1;
  if (bpf_timer_init(&one->t, &timer1_map, HG_CLOCK_MONOTONIC)) return 2;
  if (bpf_timer_init(&two->t, &timer2_map, HG_CLOCK_MONOTONIC)) return 3;
  return 0;
}

SEC("tc")
int arm_timer1(struct __sk_buff *skb) {
  int zero = 0;
  struct elem *val = bpf_map_lookup_elem(&timer1_map, &zero);
  if (!val) return 1;
  bpf_timer_init(&val->t, &timer1_map, HG_CLOCK_MONOTONIC);
  bpf_timer_set_callback(&val->t, cb_cancels_2);
  bpf_timer_start(&val->t, 1, BPF_F_TIMER_CPU_PIN);
  return 0;
}

SEC("tc")
int arm_timer2(struct __sk_buff *skb) {
  int zero = 0;
  struct elem *val = bpf_map_lookup_elem(&timer2_map, &zero);
  if (!val) return 1;
  bpf_timer_init(&val->t, &timer2_map, HG_CLOCK_MONOTONIC);
  bpf_timer_set_callback(&val->t, cb_cancels_1);
  bpf_timer_start(&val->t, 1, BPF_F_TIMER_CPU_PIN);
  return 0;
}
