// Section 4 of hourglass-bench: callbacks per second on one CPU. `start` arms `args->param`
// timers with a 0 ns expiry pinned to the current CPU; every callback counts itself and re-arms
// with 0 ns until the deadline, args->iterations ns later. args->sink: timers armed.
#include "hg_bpf.h"
#include "bench_abi.h"

#define STORM_TIMERS 256

struct storm_elem {
  struct bpf_timer timer;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, STORM_TIMERS);
  __type(key, int);
  __type(value, struct storm_elem);
} storm SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, int);
  __type(value, struct bench_storm_state);
} storm_state SEC(".maps");

static int storm_cb(void *map, int *key, struct storm_elem *elem) {
  int state_key = 0;
  struct bench_storm_state *state = bpf_map_lookup_elem(&storm_state, &state_key);
  if (!state) return 0;
  __u64 now = bpf_ktime_get_ns();
  __sync_fetch_and_add(&state->fired, 1);
  state->last_ns = now;
  if (now < state->deadline_ns && bpf_timer_start(&elem->timer, 0, BPF_F_TIMER_CPU_PIN))
    __sync_fetch_and_add(&state->errors, 1);
  return 0;
}

struct arm_ctx {
  __u64 errors;
  __u64 armed;
};

static long init_one(__u64 index, struct arm_ctx *ctx) {
  int key = (int)index;
  struct storm_elem *elem = bpf_map_lookup_elem(&storm, &key);
  if (!elem) return 1;
  long rc = bpf_timer_init(&elem->timer, &storm, HG_CLOCK_MONOTONIC);
  if (rc == -BENCH_ENOMEM) return 0;  // left out of the storm (start then fails: no callback)
  if (rc && rc != -BENCH_EBUSY /* initialised by an earlier run */) ctx->errors++;
  if (bpf_timer_set_callback(&elem->timer, storm_cb)) ctx->errors++;
  return 0;
}

static long start_one(__u64 index, struct arm_ctx *ctx) {
  int key = (int)index;
  struct storm_elem *elem = bpf_map_lookup_elem(&storm, &key);
  if (!elem) return 1;
  // -EINVAL: no callback, the init of this one failed with -ENOMEM (counted above).
  if (bpf_timer_start(&elem->timer, 0, BPF_F_TIMER_CPU_PIN) == 0) ctx->armed++;
  return 0;
}

// args->param: timers (<= STORM_TIMERS); args->iterations: storm duration in ns.
SEC("syscall")
int start(struct bench_args *args) {
  int key = 0;
  struct bench_storm_state *state = bpf_map_lookup_elem(&storm_state, &key);
  if (!state) return 1;
  __u64 now = bpf_ktime_get_ns();
  state->fired = 0;
  state->errors = 0;
  state->first_ns = now;
  state->last_ns = now;
  state->deadline_ns = now + args->iterations;
  struct arm_ctx ctx = {};
  __u32 count = args->param < STORM_TIMERS ? (__u32)args->param : STORM_TIMERS;
  // Every timer is initialised before the first one starts, so no allocation competes with
  // callbacks already storming on this CPU.
  bpf_loop(count, init_one, &ctx, 0);
  bpf_loop(count, start_one, &ctx, 0);
  args->errors = ctx.errors;
  args->sink = ctx.armed;
  return 0;
}
