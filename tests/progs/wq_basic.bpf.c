// bpf_wq: sleepable work owned by a map value, with the same ownership rules as bpf_timer.
#include "hg_bpf.h"

struct work_elem {
  int runs;
  struct bpf_wq work;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, int);
  __type(value, struct work_elem);
} works SEC(".maps");

int wq_ran = 0;
int seen_key = -1;
long rc_init = 1, rc_init_again = 1, rc_bad_flags = 1, rc_start_no_cb = 1, rc_set_cb = 1,
     rc_start = 1;

static int work_cb(void *map, int *key, void *value) {
  struct work_elem *elem = value;
  elem->runs++;
  seen_key = *key;
  __sync_fetch_and_add(&wq_ran, 1);
  return 0;
}

SEC("syscall")
int queue_work(void *ctx) {
  int key = 1;
  struct work_elem *elem = bpf_map_lookup_elem(&works, &key);
  if (!elem) return 1;
  rc_bad_flags = bpf_wq_init(&elem->work, &works, 1);
  rc_init = bpf_wq_init(&elem->work, &works, 0);
  rc_init_again = bpf_wq_init(&elem->work, &works, 0);
  rc_start_no_cb = bpf_wq_start(&elem->work, 0);
  rc_set_cb = bpf_wq_set_callback_impl(&elem->work, work_cb, 0, 0);
  rc_start = bpf_wq_start(&elem->work, 0);
  return 0;
}
