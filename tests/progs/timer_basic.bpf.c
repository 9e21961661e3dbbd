// Timer semantics exercised end to end: each SEC("syscall") program is test-run by
// tests/runtime/timer_programs_test.cpp, which then reads the globals below.
#include "hg_bpf.h"

#define EINVAL 22
#define EBUSY 16
#define EDEADLK 35
#define EPERM 1

struct array_elem {
  int counter;
  struct bpf_timer timer;
};

struct hash_elem {
  int counter;
  struct bpf_timer timer;
  struct bpf_spin_lock lock;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, int);
  __type(value, struct array_elem);
} array SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1000);
  __type(key, int);
  __type(value, struct hash_elem);
} hmap SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1000);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct hash_elem);
} hmap_malloc SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4);
  __type(key, int);
  __type(value, struct array_elem);
} lru SEC(".maps");

__u64 err = 0;
__u64 ok = 0;
int periodic_count = 0;
int periodic_limit = 10;
int hash_countdown = 0;
int abs_data = 0;
int pinned_fired = 0;
int pinned_cpu = -1;
int pinned_seen_cpu = -1;
long rc_init_first = 1, rc_init_second = 1, rc_bad_clock = 1, rc_bad_flags = 1;
long rc_start_no_cb = 1, rc_start_bad_flags = 1, rc_cancel_uninit = 1, rc_cancel_idle = 1;
long rc_start_after_cancel = 1, rc_set_cb_uninit = 1, rc_cancel_armed = 1;
long rc_init_released = 1;

// ---- periodic: array[0] re-arms every 1 ms until periodic_limit callbacks ran ----
static int periodic_cb(void *map, int *key, struct array_elem *val) {
  periodic_count++;
  val->counter++;
  if (periodic_count < periodic_limit) bpf_timer_start(&val->timer, 1000000, 0);
  return 0;
}

SEC("syscall")
int start_periodic(void *ctx) {
  int key = 0;
  struct array_elem *val = bpf_map_lookup_elem(&array, &key);
  if (!val) return 1;
  if (bpf_timer_init(&val->timer, &array, HG_CLOCK_MONOTONIC)) err |= 1;
  if (bpf_timer_set_callback(&val->timer, periodic_cb)) err |= 2;
  if (bpf_timer_start(&val->timer, 1000000, 0)) err |= 4;
  return 0;
}

// ---- return codes of the spec's table, all on array[1] ----
static int noop_cb(void *map, int *key, void *val) { return 0; }

SEC("syscall")
int return_codes(void *ctx) {
  int key = 1;
  struct array_elem *val = bpf_map_lookup_elem(&array, &key);
  if (!val) return 1;
  rc_cancel_uninit = bpf_timer_cancel(&val->timer);
  rc_set_cb_uninit = bpf_timer_set_callback(&val->timer, noop_cb);
  rc_bad_clock = bpf_timer_init(&val->timer, &array, 2 /* CLOCK_PROCESS_CPUTIME_ID */);
  rc_bad_flags = bpf_timer_init(&val->timer, &array, 16);
  rc_init_first = bpf_timer_init(&val->timer, &array, HG_CLOCK_MONOTONIC);
  rc_init_second = bpf_timer_init(&val->timer, &array, HG_CLOCK_MONOTONIC);
  rc_start_no_cb = bpf_timer_start(&val->timer, 1000, 0);
  bpf_timer_set_callback(&val->timer, noop_cb);
  rc_start_bad_flags = bpf_timer_start(&val->timer, 1000, 4);
  rc_cancel_idle = bpf_timer_cancel(&val->timer);
  rc_start_after_cancel = bpf_timer_start(&val->timer, 1000, 0);  // cancel cleared the callback
  bpf_timer_set_callback(&val->timer, noop_cb);
  bpf_timer_start(&val->timer, 1ull << 40, 0);
  rc_cancel_armed = bpf_timer_cancel(&val->timer);
  return 0;
}

// ---- hash timer: counts down, then checks cancel/-EDEADLK/delete rules from its callback ----
static int far_cb(void *map, int *key, void *val) { return 0; }

static int countdown_cb(void *map, int *key, struct hash_elem *val) {
  if (--hash_countdown > 0) {
    bpf_timer_start(&val->timer, 1000, 0);
    return 0;
  }
  int far_key = 2;
  struct array_elem *far = bpf_map_lookup_elem(&array, &far_key);
  if (!far) return 0;
  if (bpf_timer_cancel(&far->timer) != 1) err |= 8;       // was armed: 1
  if (bpf_timer_cancel(&val->timer) != -EDEADLK) err |= 16;  // own timer
  bpf_map_delete_elem(map, key);
  if (bpf_timer_start(&val->timer, 1000, 0) != -EINVAL) err |= 32;  // freed with its element
  ok |= 2;
  return 0;
}

SEC("syscall")
int start_countdown(void *ctx) {
  int key = 2;
  struct array_elem *far = bpf_map_lookup_elem(&array, &key);
  if (!far) return 1;
  bpf_timer_init(&far->timer, &array, HG_CLOCK_MONOTONIC);
  bpf_timer_set_callback(&far->timer, far_cb);
  bpf_timer_start(&far->timer, 1ull << 40, 0);

  struct hash_elem init = {};
  bpf_map_update_elem(&hmap, &key, &init, 0);
  struct hash_elem *val = bpf_map_lookup_elem(&hmap, &key);
  if (!val) return 2;
  hash_countdown = 10;
  if (bpf_timer_init(&val->timer, &hmap, HG_CLOCK_MONOTONIC)) err |= 64;
  bpf_timer_set_callback(&val->timer, countdown_cb);
  bpf_timer_start(&val->timer, 1000, 0);
  return 0;
}

// ---- element update frees the timer: init, update the element, init again succeeds ----
SEC("syscall")
int update_frees_timer(void *ctx) {
  int key = 3;
  struct hash_elem init = {.counter = 10};
  bpf_map_update_elem(&hmap_malloc, &key, &init, 0);
  struct hash_elem *val = bpf_map_lookup_elem(&hmap_malloc, &key);
  if (!val) return 1;
  if (bpf_timer_init(&val->timer, &hmap_malloc, HG_CLOCK_MONOTONIC)) return 2;
  bpf_map_update_elem(&hmap_malloc, &key, &init, 0);  // replaces the element, frees its timer
  val = bpf_map_lookup_elem(&hmap_malloc, &key);
  if (!val) return 3;
  if (bpf_timer_init(&val->timer, &hmap_malloc, HG_CLOCK_MONOTONIC)) return 4;  // fresh timer
  bpf_map_delete_elem(&hmap_malloc, &key);
  return 0;
}

// ---- LRU: a callback whose own element gets evicted sees -EINVAL on its timer ----
static int lru_cb(void *map, int *key, struct array_elem *val) {
  struct array_elem init = {};
  for (int i = 5; i < 100; i++) {
    int new_key = i;  // not the induction variable: keeps the loop bounded for the verifier
    bpf_map_update_elem(&lru, &new_key, &init, 0);
    bpf_map_lookup_elem(&lru, &new_key);  // bump the new element so ours becomes the coldest
    if (*key != 4) break;  // our element's memory was reused for another key
  }
  // Evicted: the element's timer was freed with it, even though this is its own callback.
  if (bpf_timer_cancel(&val->timer) != -EINVAL) err |= 128;
  else ok |= 1;
  return 0;
}

SEC("syscall")
int start_lru(void *ctx) {
  int key = 4;
  struct array_elem init = {};
  bpf_map_update_elem(&lru, &key, &init, 0);
  struct array_elem *val = bpf_map_lookup_elem(&lru, &key);
  if (!val) return 1;
  if (bpf_timer_init(&val->timer, &lru, HG_CLOCK_MONOTONIC)) return 2;
  bpf_timer_set_callback(&val->timer, lru_cb);
  bpf_timer_start(&val->timer, 0, 0);
  return 0;
}

// ---- absolute BOOTTIME timer: +6 per firing until 12 ----
static int abs_cb(void *map, int *key, struct array_elem *val) {
  abs_data += 6;
  if (abs_data < 12) bpf_timer_start(&val->timer, bpf_ktime_get_boot_ns() + 1000, BPF_F_TIMER_ABS);
  return 0;
}

SEC("syscall")
int start_abs(void *ctx) {
  int key = 3;
  struct array_elem *val = bpf_map_lookup_elem(&array, &key);
  if (!val) return 1;
  if (bpf_timer_init(&val->timer, &array, HG_CLOCK_BOOTTIME)) return 2;
  bpf_timer_set_callback(&val->timer, abs_cb);
  return bpf_timer_start(&val->timer, bpf_ktime_get_boot_ns() + 1000, BPF_F_TIMER_ABS) ? 3 : 0;
}

// ---- CPU_PIN: the callback runs on the arming CPU ----
static int pinned_cb(void *map, int *key, void *val) {
  pinned_seen_cpu = bpf_get_smp_processor_id();
  pinned_fired++;
  return 0;
}

SEC("syscall")
int start_pinned(void *ctx) {
  int key = 5;
  struct hash_elem init = {};
  bpf_map_update_elem(&hmap, &key, &init, 0);
  struct hash_elem *val = bpf_map_lookup_elem(&hmap, &key);
  if (!val) return 1;
  pinned_cpu = bpf_get_smp_processor_id();
  bpf_timer_init(&val->timer, &hmap, HG_CLOCK_MONOTONIC);
  bpf_timer_set_callback(&val->timer, pinned_cb);
  return bpf_timer_start(&val->timer, 1000, BPF_F_TIMER_CPU_PIN) ? 2 : 0;
}

// ---- init once the map has no user reference left: -EPERM ----
SEC("syscall")
int init_released(void *ctx) {
  int key = 6;
  struct hash_elem init = {};
  bpf_map_update_elem(&hmap, &key, &init, 0);
  struct hash_elem *val = bpf_map_lookup_elem(&hmap, &key);
  if (!val) return 1;
  rc_init_released = bpf_timer_init(&val->timer, &hmap, HG_CLOCK_MONOTONIC);
  return 0;
}
