// Section 5 of hourglass-bench: map operations from a BPF loop on a 1M-entry hash and a 1M-entry
// array. Random keys come from bpf_get_prandom_u32() % args->param; the baselines do the same
// key arithmetic without the map operation.
#include "bench_loop.h"

#define MAP_ENTRIES 1000000

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, MAP_ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAP_ENTRIES);
  __type(key, __u32);
  __type(value, __u64);
} array SEC(".maps");

// Inserts keys [param, param + iterations): used to fill the hash and, measured, as "insert".
static long body_insert(__u64 index, struct loop_state *state) {
  __u32 key = (__u32)(state->param + index);
  __u64 value = index;
  if (bpf_map_update_elem(&hash, &key, &value, BPF_NOEXIST)) state->errors++;
  return 0;
}

static long body_delete(__u64 index, struct loop_state *state) {
  __u32 key = (__u32)(state->param + index);
  if (bpf_map_delete_elem(&hash, &key)) state->errors++;
  return 0;
}

static long body_sequential_baseline(__u64 index, struct loop_state *state) {
  __u32 key = (__u32)(state->param + index);
  state->sink += key;
  return 0;
}

static long body_random_baseline(__u64 index, struct loop_state *state) {
  __u32 key = bpf_get_prandom_u32() % (__u32)state->param;
  state->sink += key;
  return 0;
}

static long body_hash_lookup(__u64 index, struct loop_state *state) {
  __u32 key = bpf_get_prandom_u32() % (__u32)state->param;
  __u64 *value = bpf_map_lookup_elem(&hash, &key);
  if (!value) state->errors++;
  else state->sink += *value;
  return 0;
}

static long body_hash_update(__u64 index, struct loop_state *state) {
  __u32 key = bpf_get_prandom_u32() % (__u32)state->param;
  __u64 value = index;
  if (bpf_map_update_elem(&hash, &key, &value, BPF_EXIST)) state->errors++;
  return 0;
}

static long body_array_lookup(__u64 index, struct loop_state *state) {
  __u32 key = bpf_get_prandom_u32() % (__u32)state->param;
  __u64 *value = bpf_map_lookup_elem(&array, &key);
  if (!value) state->errors++;
  else state->sink += *value;
  return 0;
}

static long body_array_update(__u64 index, struct loop_state *state) {
  __u32 key = bpf_get_prandom_u32() % (__u32)state->param;
  __u64 value = index;
  if (bpf_map_update_elem(&array, &key, &value, BPF_ANY)) state->errors++;
  return 0;
}

BENCH_LOOP_PROGRAM(hash_insert, body_insert)
BENCH_LOOP_PROGRAM(hash_delete, body_delete)
BENCH_LOOP_PROGRAM(sequential_baseline, body_sequential_baseline)
BENCH_LOOP_PROGRAM(random_baseline, body_random_baseline)
BENCH_LOOP_PROGRAM(hash_lookup, body_hash_lookup)
BENCH_LOOP_PROGRAM(hash_update, body_hash_update)
BENCH_LOOP_PROGRAM(array_lookup, body_array_lookup)
BENCH_LOOP_PROGRAM(array_update, body_array_update)
