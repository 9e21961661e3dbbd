// object/ tests: BTF-defined maps of each kind, map-in-map and prog_array with static
// initialisers, global data (.data/.rodata/.bss/.rodata.str1.1), a timer + spin lock value
// record, a bpf_loop callback (function pointer) and a kfunc extern.
#include "hg_bpf.h"

struct inner_value {
  __u64 counter;
};

struct nested {
  __u32 pad;
  struct bpf_spin_lock lock;
};

struct timer_value {
  __u64 a;
  struct nested n;        // spin lock at offset 12
  struct bpf_timer timer; // at offset 16
  __u64 tail;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, struct timer_value);
} timer_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __uint(key_size, 4);
  __uint(value_size, 24);
  __uint(map_flags, BPF_F_MMAPABLE);
} sized_array SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} percpu_counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 128);
  __type(key, __u64);
  __type(value, struct inner_value);
} lru SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} ring SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 8);
  __type(value, __u32);
} queue SEC(".maps");

struct inner_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct inner_value);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner_map);
} outer SEC(".maps") = {
    .values = {[1] = &inner_b, [3] = &inner_a},
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 8);
  __type(key, __u32);
  __array(values, struct inner_map);
} outer_hash SEC(".maps") = {
    .values = {[5] = &inner_a},
};

int tail_target(struct xdp_md *ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 3);
  __uint(key_size, sizeof(__u32));
  __array(values, int(void *));
} jump_table SEC(".maps") = {
    .values = {[2] = (void *)&tail_target},
};

__u64 data_counter = 5;
__u32 data_second = 9;
const volatile __u32 ro_limit = 42;
__u64 bss_hits;
__u64 bss_more[4];

struct loop_ctx {
  __u64 sum;
};

static int loop_step(__u32 index, void *data) {
  struct loop_ctx *lc = data;
  lc->sum += index;
  return 0;
}

static int timer_fired(void *map, __u32 *key, struct timer_value *val) { return 0; }

// A .text subprogram with its own map and global data relocations, used by two programs.
__attribute__((noinline)) int bump_hits(__u64 key) {
  struct inner_value *value = bpf_map_lookup_elem(&lru, &key);
  if (value) value->counter++;
  bss_hits += 2;
  return 0;
}

SEC("xdp")
int tail_target(struct xdp_md *ctx) { return XDP_PASS; }

SEC("xdp")
int use_maps(struct xdp_md *ctx) {
  __u32 key = 0;
  struct timer_value *tv = bpf_map_lookup_elem(&timer_hash, &key);
  if (tv) {
    bpf_timer_init(&tv->timer, &timer_hash, HG_CLOCK_MONOTONIC);
    bpf_timer_set_callback(&tv->timer, timer_fired);
  }
  struct loop_ctx lc = {0};
  bpf_loop(4, loop_step, &lc, 0);
  data_counter += lc.sum + ro_limit;
  data_second++;
  bss_hits++;
  bss_more[2] = 1;
  bpf_printk("hits %llu", bss_hits);
  // A string literal passed directly lands in .rodata.str1.1 (a mergeable-strings section).
  bpf_trace_printk("literal\n", sizeof("literal\n"));
  bump_hits(lc.sum);
  bpf_tail_call(ctx, &jump_table, 2);
  return XDP_PASS;
}

struct wq_value {
  struct bpf_wq work;
  __u64 x;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct wq_value);
} wq_array SEC(".maps");

SEC("syscall")
int use_kfunc(void *ctx) {
  __u32 key = 0;
  struct wq_value *v = bpf_map_lookup_elem(&wq_array, &key);
  if (!v) return 0;
  bump_hits(7);
  return bpf_wq_init(&v->work, &wq_array, 0) + bpf_wq_start(&v->work, 0);
}
