// Section 2 of hourglass-bench: timer start cost as the number of armed timers grows, the
// memory each armed timer costs, and the fire rate when they all fall due at once.
// `prefault` writes every value once (so value pages are resident before memory is measured);
// `arm` initialises and arms slots [param, param + iterations) at random expiries one hour ahead
// (args->sink: slots left unarmed by -ENOMEM); `op_start` re-arms a random one of the first
// `param` slots (param = 64 keeps to a few cached timers); `op_cancel_start` cancels one and arms it again; `fire_range` makes slots
// [0, iterations) fall due at one instant. bench_scale_10m.bpf.c is the same with 10M slots
// (the full run's 10M point; --quick keeps to this 1M-slot object).
#include "bench_loop.h"

#ifndef SCALE_SLOTS
#define SCALE_SLOTS 1000000
#endif

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

struct fire_stats {
  __u64 fired;
  __u64 last_ns;  // the latest callback's bpf_ktime_get_ns()
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct fire_stats);
} stats SEC(".maps");

static int never_cb(void *map, __u32 *key, struct slot *value) { return 0; }

static int count_cb(void *map, __u32 *key, struct slot *value) {
  __u32 stats_key = 0;
  struct fire_stats *counters = bpf_map_lookup_elem(&stats, &stats_key);
  if (!counters) return 0;
  __sync_fetch_and_add(&counters->fired, 1);
  __u64 now = bpf_ktime_get_ns();
  if (now > counters->last_ns) counters->last_ns = now;  // approximate under concurrency
  return 0;
}

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

// Cancels a random armed timer and arms it again (a cancel clears the callback).
static long body_cancel_start(__u64 index, struct loop_state *state) {
  __u32 key = bpf_get_prandom_u32() % (__u32)state->param;
  struct slot *value = bpf_map_lookup_elem(&slots, &key);
  if (!value) return 1;
  __u64 expiry = BENCH_FAR_NS + bpf_get_prandom_u32() % 1000000000u;
  state->sink += expiry;
  if (bpf_timer_cancel(&value->timer) != 1) state->errors++;
  if (bpf_timer_set_callback(&value->timer, never_cb)) state->errors++;
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

// Re-arms slot `index` to fire at the common absolute expiry state->param with count_cb.
static long body_fire(__u64 index, struct loop_state *state) {
  __u32 key = (__u32)index;
  struct slot *value = bpf_map_lookup_elem(&slots, &key);
  if (!value) return 1;
  if (bpf_timer_set_callback(&value->timer, count_cb)) state->errors++;
  if (bpf_timer_start(&value->timer, state->param, BPF_F_TIMER_ABS)) state->errors++;
  return 0;
}

// Same for slot param + index at the absolute expiry param2 (the further chunks of a range
// longer than bpf_loop's 8M iterations).
static long body_fire_at(__u64 index, struct loop_state *state) {
  __u32 key = (__u32)(state->param + index);
  struct slot *value = bpf_map_lookup_elem(&slots, &key);
  if (!value) return 1;
  if (bpf_timer_set_callback(&value->timer, count_cb)) state->errors++;
  if (bpf_timer_start(&value->timer, state->param2, BPF_F_TIMER_ABS)) state->errors++;
  return 0;
}

// Fire rate: slots [0, iterations) all due at once, args->param2 ns from now (longer than the
// arming takes); args->sink returns that absolute expiry.
SEC("syscall")
int fire_range(struct bench_args *args) {
  struct loop_state state = {};
  state.param = bpf_ktime_get_ns() + args->param2;
  bpf_loop((__u32)args->iterations, body_fire, &state, 0);
  args->errors = state.errors;
  args->sink = state.param;
  return 0;
}

BENCH_LOOP_PROGRAM(fire_range_at, body_fire_at)
BENCH_LOOP_PROGRAM(prefault, body_prefault)
BENCH_LOOP_PROGRAM(arm, body_arm)
BENCH_LOOP_PROGRAM(baseline, body_baseline)
BENCH_LOOP_PROGRAM(op_start, body_start)
BENCH_LOOP_PROGRAM(op_cancel_start, body_cancel_start)
BENCH_LOOP_PROGRAM(cancel_range, body_cancel)
