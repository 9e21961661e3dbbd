// Timers in an inner map (the kernel's timer_mim shape, written anew): the timer lives in an
// inner hash map reached through an array_of_maps; two callbacks alternate via set_callback and
// re-arm every microsecond. Closing the inner map's last user reference must stop them even
// though the outer map still reaches the inner one.
#include "hg_bpf.h"

struct inner_elem {
  int pad;
  struct bpf_timer timer;
};

struct inner_map {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, int);
  __type(value, struct inner_elem);
} inner_htab SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, int);
  __array(values, struct inner_map);
} outer_arr SEC(".maps") = {
    .values = {[1] = &inner_htab},
};

__u64 cnt = 0;
__u64 err = 0;
__u64 ok = 0;

static int timer_cb2(void *map, int *key, struct inner_elem *val);

static int timer_cb1(void *map, int *key, struct inner_elem *val) {
  cnt++;
  if (bpf_map_lookup_elem(map, key) != val) err |= 1;  // map and key are the element's own
  ok |= 1;
  bpf_timer_set_callback(&val->timer, timer_cb2);
  bpf_timer_start(&val->timer, 1000, 0);
  return 0;
}

static int timer_cb2(void *map, int *key, struct inner_elem *val) {
  cnt++;
  ok |= 2;
  bpf_timer_set_callback(&val->timer, timer_cb1);
  bpf_timer_start(&val->timer, 1000, 0);
  return 0;
}

SEC("syscall")
int start_mim(void *ctx) {
  int key = 1234, outer_key = 1;
  struct inner_elem init = {};
  void *inner = bpf_map_lookup_elem(&outer_arr, &outer_key);
  if (!inner) return 1;
  bpf_map_update_elem(inner, &key, &init, 0);
  struct inner_elem *val = bpf_map_lookup_elem(inner, &key);
  if (!val) return 2;
  if (bpf_timer_init(&val->timer, inner, HG_CLOCK_MONOTONIC)) return 3;
  bpf_timer_set_callback(&val->timer, timer_cb1);
  bpf_timer_start(&val->timer, 0, 0);
  return 0;
}
