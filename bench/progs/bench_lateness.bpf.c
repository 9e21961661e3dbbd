// Section 3 of hourglass-bench: lateness of a periodic timer. `start` arms periodic[0] at an
// absolute CLOCK_MONOTONIC expiry (BPF_F_TIMER_ABS); each callback folds now - expected into the
// histogram and re-arms for the next period until `remaining` samples were taken.
#include "hg_bpf.h"
#include "bench_abi.h"

struct periodic_elem {
  struct bpf_timer timer;
  struct bench_periodic_state state;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, int);
  __type(value, struct periodic_elem);
} periodic SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, int);
  __type(value, struct bench_hist);
} histogram SEC(".maps");

// Log-linear bucket of a value (see struct bench_hist). BPF has no count-leading-zeros
// instruction, so the top bit is found by halving.
static __always_inline __u32 hist_bucket(__u64 value) {
  if (value < 16) return (__u32)value;
  __u32 top_bit = 0;
  __u64 rest = value;
  if (rest >> 32) { top_bit += 32; rest >>= 32; }
  if (rest >> 16) { top_bit += 16; rest >>= 16; }
  if (rest >> 8) { top_bit += 8; rest >>= 8; }
  if (rest >> 4) { top_bit += 4; rest >>= 4; }
  if (rest >> 2) { top_bit += 2; rest >>= 2; }
  if (rest >> 1) top_bit += 1;
  __u32 sub_bucket = (__u32)(value >> (top_bit - 4)) & 15;
  __u32 bucket = (top_bit - 3) * 16 + sub_bucket;
  return bucket < BENCH_HIST_BUCKETS ? bucket : BENCH_HIST_BUCKETS - 1;
}

static __always_inline void hist_record(__u64 value) {
  int key = 0;
  struct bench_hist *hist = bpf_map_lookup_elem(&histogram, &key);
  if (!hist) return;
  __u32 bucket = hist_bucket(value) & (BENCH_HIST_BUCKETS - 1);
  __sync_fetch_and_add(&hist->buckets[bucket], 1);
  __sync_fetch_and_add(&hist->count, 1);
  __sync_fetch_and_add(&hist->sum, value);
  if (value > hist->max) hist->max = value;  // one timer: its callbacks never overlap
}

static int periodic_cb(void *map, int *key, struct periodic_elem *elem) {
  __u64 now = bpf_ktime_get_ns();
  __u64 expected = elem->state.expected_ns;
  hist_record(now > expected ? now - expected : 0);
  if (elem->state.remaining == 0) return 0;
  elem->state.remaining--;
  if (elem->state.remaining == 0) return 0;
  __u64 next = expected + elem->state.period_ns;
  // A callback later than a whole period skips the missed expiries rather than firing a burst.
  if (next <= now) next = now + elem->state.period_ns;
  elem->state.expected_ns = next;
  bpf_timer_start(&elem->timer, next, BPF_F_TIMER_ABS);
  return 0;
}

// args->param: period in ns; args->iterations: samples to take.
SEC("syscall")
int start(struct bench_args *args) {
  int key = 0;
  struct periodic_elem *elem = bpf_map_lookup_elem(&periodic, &key);
  if (!elem) return 1;
  long rc = bpf_timer_init(&elem->timer, &periodic, HG_CLOCK_MONOTONIC);
  if (rc == -BENCH_ENOMEM) return BENCH_RETVAL_NOMEM;
  if (rc && rc != -BENCH_EBUSY /* initialised by an earlier run */) return 2;
  if (bpf_timer_set_callback(&elem->timer, periodic_cb)) return 3;
  elem->state.period_ns = args->param;
  elem->state.remaining = args->iterations;
  elem->state.expected_ns = bpf_ktime_get_ns() + args->param;
  if (bpf_timer_start(&elem->timer, elem->state.expected_ns, BPF_F_TIMER_ABS)) return 4;
  return 0;
}

SEC("syscall")
int stop(struct bench_args *args) {
  int key = 0;
  struct periodic_elem *elem = bpf_map_lookup_elem(&periodic, &key);
  if (!elem) return 1;
  elem->state.remaining = 0;
  bpf_timer_cancel(&elem->timer);
  return 0;
}
