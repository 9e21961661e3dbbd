// Section 2 of hourglass-bench: timer start cost as the number of armed timers grows, and the
// memory each armed timer costs. `prefault` writes every value once (so value pages are resident
// before the memory is measured), `arm` initialises and arms slots [param, param2) at random
// expiries one hour ahead (args->sink: slots left unarmed by -ENOMEM), `op_start` re-arms a random one of the first `param` slots.
#include "bench_loop.h"

#define SCALE_SLOTS 1000000

struct slot {
  __u64 touched;
  struct bpf_timer timer;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SCALE_SLOTS);
  __type(key, __u32);
  __type(value, struct slot);
} slots SEC(".maps");

static int never_cb(void *map, __u32 *key, struct slot *value) { return 0; }

static long body_prefault(__u64 index, struct loop_state *state) {
  __u32 key = (__u32)(state->param + index);
  struct slot *value = bpf_map_lookup_elem(&slots, &key);
  if (!value) return 1;
  value->touched = index;
  return 0;
}

// Counts in state->sink the slots whose init failed with -ENOMEM (the driver runs the range
// again); a slot initialised by an earlier round (-EBUSY) is simply armed again.
static long body_arm(__u64 index, struct loop_state *state) {
  __u32 key = (__u32)(state->param + index);
  struct slot *value = bpf_map_lookup_elem(&slots, &key);
  if (!value) return 1;
  long rc = bpf_timer_init(&value->timer, &slots, HG_CLOCK_MONOTONIC);
  if (rc == -BENCH_ENOMEM) {
    state->sink++;
    return 0;
  }
  if (rc && rc != -BENCH_EBUSY) state->errors++;
  if (bpf_timer_set_callback(&value->timer, never_cb)) state->errors++;
  __u64 expiry = BENCH_FAR_NS + bpf_get_prandom_u32() % 1000000000u;
  if (bpf_timer_start(&value->timer, expiry, 0)) state->errors++;
  return 0;
}

static long body_baseline(__u64 index, struct loop_state *state) {
  __u32 key = bpf_get_prandom_u32() % (__u32)state->param;
  struct slot *value = bpf_map_lookup_elem(&slots, &key);
  if (!value) return 1;
  __u64 expiry = BENCH_FAR_NS + bpf_get_prandom_u32() % 1000000000u;
  state->sink += expiry;
  return 0;
}

static long body_start(__u64 index, struct loop_state *state) {
  __u32 key = bpf_get_prandom_u32() % (__u32)state->param;
  struct slot *value = bpf_map_lookup_elem(&slots, &key);
  if (!value) return 1;
  __u64 expiry = BENCH_FAR_NS + bpf_get_prandom_u32() % 1000000000u;
  state->sink += expiry;
  if (bpf_timer_start(&value->timer, expiry, 0)) state->errors++;
  return 0;
}

// Cancels slots [param, param2) (the timers stay allocated until the map goes).
static long body_cancel(__u64 index, struct loop_state *state) {
  __u32 key = (__u32)(state->param + index);
  struct slot *value = bpf_map_lookup_elem(&slots, &key);
  if (!value) return 1;
  if (bpf_timer_cancel(&value->timer) < 0) state->errors++;
  return 0;
}

BENCH_LOOP_PROGRAM(prefault, body_prefault)
BENCH_LOOP_PROGRAM(arm, body_arm)
BENCH_LOOP_PROGRAM(baseline, body_baseline)
BENCH_LOOP_PROGRAM(op_start, body_start)
BENCH_LOOP_PROGRAM(cancel_range, body_cancel)
