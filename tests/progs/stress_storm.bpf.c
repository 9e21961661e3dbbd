// Timer storm for tests/stress/: `storm` does one random operation per run (init, set_callback,
// start, cancel, element update/delete) on a random key of one of five maps, while the callbacks
// re-arm, switch callbacks, cancel themselves and delete their own element. Every helper return
// code is checked against the codes the kernel may give in that situation
// (/work/shared/spec/kernel-timers.md, section 1); anything else counts in `unexpected`.
#include "hg_bpf.h"

#define EPERM 1
#define ENOENT 2
#define E2BIG 7
#define ENOMEM 12
#define EBUSY 16
#define EEXIST 17
#define EINVAL 22
#define EDEADLK 35

struct elem {
  __u64 fires;  // callbacks of this element's timer since the element was (re)created
  struct bpf_timer timer;
};

// Key ranges are wider than max_entries where the map must fill up: hash updates then meet
// -E2BIG and the LRU map evicts.
#define ARR_KEYS 32
#define HASH_KEYS 96
#define LRU_KEYS 64
#define VICTIM_KEYS 16

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, ARR_KEYS);
  __type(key, __u32);
  __type(value, struct elem);
} arr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, struct elem);
} hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, struct elem);
} lru SEC(".maps");

// The test drops the application's last user reference of these two mid-storm: from then on
// timer init (and set_callback) answer -EPERM and their timers are gone.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VICTIM_KEYS);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, __u32);
  __type(value, struct elem);
} victim_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, VICTIM_KEYS);
  __type(key, __u32);
  __type(value, struct elem);
} victim_arr SEC(".maps");

// Totals read by the test. All updated atomically: programs and callbacks run on many threads.
__u64 callbacks = 0;   // every callback invocation, once
__u64 unexpected = 0;  // helper return codes outside the allowed set
__u64 last_bad = 0;    // (helper id << 32) | (u32)rc of the latest unexpected code
__u64 storm_runs = 0;
__u64 inits_ok = 0;
__u64 starts_ok = 0;
__u64 cancels_armed = 0;  // bpf_timer_cancel returned 1
__u64 self_deadlk = 0;    // a callback's cancel of its own timer returned -EDEADLK
__u64 self_cancel_reused = 0;  // ... returned 0/1: the element was re-created, a new timer
__u64 self_deletes = 0;   // a callback deleted its own element
__u64 eperm_seen = 0;     // init/set_callback on a released map
__u64 lru_enomem = 0;     // LRU updates that found no free node (allowed, counted)

enum { H_INIT = 169, H_SET_CB = 170, H_START = 171, H_CANCEL = 172, H_UPDATE = 2, H_DELETE = 3 };

static __always_inline void expect3(__u32 helper, long rc, long a, long b, long c) {
  if (rc == a || rc == b || rc == c) return;
  __sync_fetch_and_add(&unexpected, 1);
  last_bad = ((__u64)helper << 32) | (__u32)rc;
}

static int storm_cb_a(void *map, __u32 *key, struct elem *val);
static int storm_cb_b(void *map, __u32 *key, struct elem *val);

// The body of both callbacks. `map` is the map the timer was initialised with.
static __always_inline int storm_callback(void *map, __u32 *key, struct elem *val, int is_a) {
  long rc;
  __sync_fetch_and_add(&callbacks, 1);
  __sync_fetch_and_add(&val->fires, 1);
  __u32 r = bpf_get_prandom_u32();
  switch (r % 8) {
  case 0:
    // Own timer: -EDEADLK. -EINVAL if the element died meanwhile (update/delete elsewhere);
    // 0 or 1 if, after that, the memory was reused and another timer initialised there (a
    // different timer, so no deadlock): counted apart.
    rc = bpf_timer_cancel(&val->timer);
    if (rc == -EDEADLK)
      __sync_fetch_and_add(&self_deadlk, 1);
    else if (rc == 0 || rc == 1)
      __sync_fetch_and_add(&self_cancel_reused, 1);
    else
      expect3(H_CANCEL, rc, -EINVAL, -EINVAL, -EINVAL);
    return 0;
  case 1:
    // Delete own element (arrays: -EINVAL), then the timer is gone: start gives -EINVAL, or 0
    // if a concurrent insert already reused the memory and armed a new timer there.
    rc = bpf_map_delete_elem(map, key);
    expect3(H_DELETE, rc, 0, -ENOENT, -EINVAL);
    if (rc == 0) __sync_fetch_and_add(&self_deletes, 1);
    rc = bpf_timer_start(&val->timer, 1000, 0);
    expect3(H_START, rc, 0, -EINVAL, -EINVAL);
    return 0;
  case 2:
    // Ping-pong between the two callbacks, then re-arm.
    rc = bpf_timer_set_callback(&val->timer, is_a ? storm_cb_b : storm_cb_a);
    expect3(H_SET_CB, rc, 0, -EINVAL, -EPERM);
    break;
  case 3:
    return 0;  // one-shot: this chain ends
  default:
    break;
  }
  // Re-arm. -EINVAL: the element died, or a cancel cleared the callback meanwhile.
  rc = bpf_timer_start(&val->timer, (r >> 8) % 50000, 0);
  expect3(H_START, rc, 0, -EINVAL, -EINVAL);
  return 0;
}

static int storm_cb_a(void *map, __u32 *key, struct elem *val) {
  return storm_callback(map, key, val, 1);
}
static int storm_cb_b(void *map, __u32 *key, struct elem *val) {
  return storm_callback(map, key, val, 0);
}

// One operation on one map. IS_ARRAY: no delete, elements always exist. VICTIM: may have lost
// its last user reference, so init/set_callback may answer -EPERM. IS_LRU: updates may evict or
// (rarely) find no free node.
#define STORM_ON(MAP, NKEYS, IS_ARRAY, IS_LRU, VICTIM)                                      \
  do {                                                                                     \
    __u32 key = (r >> 16) % (NKEYS);                                                       \
    struct elem fresh = {};                                                                \
    struct elem *val;                                                                      \
    long rc;                                                                               \
    if (op == 0) {                                                                         \
      rc = bpf_map_update_elem(&MAP, &key, &fresh, BPF_ANY);                               \
      if (IS_LRU && rc == -ENOMEM) __sync_fetch_and_add(&lru_enomem, 1);                   \
      expect3(H_UPDATE, rc, 0, (IS_ARRAY || IS_LRU) ? 0 : -E2BIG, IS_LRU ? -ENOMEM : 0);   \
      return 0;                                                                            \
    }                                                                                      \
    if (op == 1) {                                                                         \
      rc = bpf_map_delete_elem(&MAP, &key);                                                \
      expect3(H_DELETE, rc, IS_ARRAY ? -EINVAL : 0, IS_ARRAY ? -EINVAL : -ENOENT, -ENOENT); \
      return 0;                                                                            \
    }                                                                                      \
    val = bpf_map_lookup_elem(&MAP, &key);                                                 \
    if (!val) {                                                                            \
      rc = bpf_map_update_elem(&MAP, &key, &fresh, BPF_NOEXIST);                           \
      if (IS_LRU && rc == -ENOMEM) __sync_fetch_and_add(&lru_enomem, 1);                   \
      expect3(H_UPDATE, rc, 0, -EEXIST, IS_LRU ? -ENOMEM : -E2BIG);                        \
      return 0;                                                                            \
    }                                                                                      \
    if (op == 2 || op == 6) {                                                              \
      rc = bpf_timer_init(&val->timer, &MAP, HG_CLOCK_MONOTONIC);                          \
      expect3(H_INIT, rc, 0, -EBUSY, VICTIM ? -EPERM : -EBUSY);                            \
      if (rc == 0) __sync_fetch_and_add(&inits_ok, 1);                                     \
      if (rc == -EPERM) __sync_fetch_and_add(&eperm_seen, 1);                              \
      if (op == 2) return 0;                                                               \
    }                                                                                      \
    if (op == 3 || op == 6) {                                                              \
      rc = bpf_timer_set_callback(&val->timer, (r & 1) ? storm_cb_a : storm_cb_b);         \
      expect3(H_SET_CB, rc, 0, -EINVAL, VICTIM ? -EPERM : -EINVAL);                        \
      if (rc == -EPERM) __sync_fetch_and_add(&eperm_seen, 1);                              \
      if (op == 3) return 0;                                                               \
    }                                                                                      \
    if (op == 4 || op == 6 || op == 7) {                                                   \
      rc = bpf_timer_start(&val->timer, (r >> 4) % 100000,                                 \
                           op == 7 ? BPF_F_TIMER_CPU_PIN : 0);                             \
      expect3(H_START, rc, 0, -EINVAL, -EINVAL);                                           \
      if (rc == 0) __sync_fetch_and_add(&starts_ok, 1);                                    \
      return 0;                                                                            \
    }                                                                                      \
    rc = bpf_timer_cancel(&val->timer); /* op 5 */                                         \
    expect3(H_CANCEL, rc, 0, 1, -EINVAL);                                                  \
    if (rc == 1) __sync_fetch_and_add(&cancels_armed, 1);                                  \
    return 0;                                                                              \
  } while (0)

SEC("syscall")
int storm(void *ctx) {
  __u32 r = bpf_get_prandom_u32();
  __u32 op = (r >> 8) % 8;
  __sync_fetch_and_add(&storm_runs, 1);
  switch (r % 8) {
  case 0:
  case 1:
    STORM_ON(arr, ARR_KEYS, 1, 0, 0);
  case 2:
  case 3:
    STORM_ON(hash, HASH_KEYS, 0, 0, 0);
  case 4:
  case 5:
    STORM_ON(lru, LRU_KEYS, 0, 1, 0);
  case 6:
    STORM_ON(victim_hash, VICTIM_KEYS, 0, 0, 1);
  default:
    STORM_ON(victim_arr, VICTIM_KEYS, 1, 0, 1);
  }
  return 0;
}
