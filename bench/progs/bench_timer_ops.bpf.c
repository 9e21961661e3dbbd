// Section 1 of hourglass-bench: the cost of one timer operation on one timer. `setup` arms
// timers[0] far in the future; each measured program repeats one operation in a bpf_loop, and
// `baseline` is the same loop (the map lookup included) without the operation.
#include "bench_loop.h"

struct timer_elem {
  struct bpf_timer timer;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, int);
  __type(value, struct timer_elem);
} timers SEC(".maps");

static int never_cb(void *map, int *key, struct timer_elem *elem) { return 0; }

// timers[0]: armed one hour ahead (re-arm target). timers[1]: initialised, idle (cancel target).
SEC("syscall")
int setup(struct bench_args *args) {
  for (int index = 0; index < 2; index++) {
    int key = index;
    struct timer_elem *elem = bpf_map_lookup_elem(&timers, &key);
    if (!elem) return 1;
    long rc = bpf_timer_init(&elem->timer, &timers, HG_CLOCK_MONOTONIC);
    if (rc == -BENCH_ENOMEM) return BENCH_RETVAL_NOMEM;
    if (rc && rc != -BENCH_EBUSY /* set up by an earlier (retried) run */) return 2;
    if (bpf_timer_set_callback(&elem->timer, never_cb)) return 3;
  }
  int key = 0;
  struct timer_elem *armed = bpf_map_lookup_elem(&timers, &key);
  if (!armed || bpf_timer_start(&armed->timer, BENCH_FAR_NS, 0)) return 4;
  return 0;
}

static long body_baseline(__u64 index, struct loop_state *state) {
  int key = 0;
  struct timer_elem *elem = bpf_map_lookup_elem(&timers, &key);
  if (!elem) return 1;
  state->sink += index;
  return 0;
}

static long body_start(__u64 index, struct loop_state *state) {
  int key = 0;
  struct timer_elem *elem = bpf_map_lookup_elem(&timers, &key);
  if (!elem) return 1;
  state->sink += index;
  if (bpf_timer_start(&elem->timer, BENCH_FAR_NS + index, 0)) state->errors++;
  return 0;
}

static long body_cancel(__u64 index, struct loop_state *state) {
  int key = 1;
  struct timer_elem *elem = bpf_map_lookup_elem(&timers, &key);
  if (!elem) return 1;
  state->sink += index;
  if (bpf_timer_cancel(&elem->timer) < 0) state->errors++;
  return 0;
}

static long body_set_callback(__u64 index, struct loop_state *state) {
  int key = 1;
  struct timer_elem *elem = bpf_map_lookup_elem(&timers, &key);
  if (!elem) return 1;
  state->sink += index;
  if (bpf_timer_set_callback(&elem->timer, never_cb)) state->errors++;
  return 0;
}

// cancel clears the callback (kernel semantics), so a full arm/disarm cycle sets it again.
static long body_start_cancel(__u64 index, struct loop_state *state) {
  int key = 1;
  struct timer_elem *elem = bpf_map_lookup_elem(&timers, &key);
  if (!elem) return 1;
  state->sink += index;
  if (bpf_timer_set_callback(&elem->timer, never_cb)) state->errors++;
  if (bpf_timer_start(&elem->timer, BENCH_FAR_NS + index, 0)) state->errors++;
  if (bpf_timer_cancel(&elem->timer) != 1) state->errors++;
  return 0;
}

BENCH_LOOP_PROGRAM(baseline, body_baseline)
BENCH_LOOP_PROGRAM(op_start, body_start)
BENCH_LOOP_PROGRAM(op_cancel, body_cancel)
BENCH_LOOP_PROGRAM(op_set_callback, body_set_callback)
BENCH_LOOP_PROGRAM(op_start_cancel, body_start_cancel)
