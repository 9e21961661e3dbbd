// One program per runtime feature of issue 2 (helpers and relocation kinds), test-run by
// tests/runtime/runtime_features_test.cpp.
#include "hg_bpf.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} proto_count SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} numbers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} per_cpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 4);
  __type(value, __u32);
} queue SEC(".maps");

struct locked {
  struct bpf_spin_lock lock;
  __u64 total;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct locked);
} locked_map SEC(".maps");

struct inner {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner);
} outer SEC(".maps") = {
    .values = {[0] = &inner_a, [1] = &inner_b},
};

int tail_count = 0;
SEC("tc") int tail_target(struct __sk_buff *skb);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
  __array(values, int(void *));
} jump_table SEC(".maps") = {
    .values = {[0] = (void *)&tail_target},
};

const volatile __u64 rodata_constant = 7;
__u64 data_var = 100;
__u64 bss_var;
__u64 custom_var SEC(".data.custom") = 5;
__u64 loop_sum, foreach_sum, last_time, pops;

// Counts packets per EtherType (bounds-checked packet access), drops IPv6.
SEC("xdp")
int count_protocols(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_ABORTED;
  __u32 proto = bpf_ntohs(*(__u16 *)(data + 12));
  __u64 one = 1, *count = bpf_map_lookup_elem(&proto_count, &proto);
  if (count) __sync_fetch_and_add(count, 1);
  else bpf_map_update_elem(&proto_count, &proto, &one, BPF_NOEXIST);
  return proto == 0x86dd ? XDP_DROP : XDP_PASS;
}

// Globals in every data section, and a bpf-to-bpf call with its own stack.
static __attribute__((noinline)) __u64 add_frames(__u64 a, __u64 b) {
  volatile char buf[64];
  buf[0] = (char)a;
  return a + b + buf[0] - (char)a;
}

SEC("syscall")
int globals(void *ctx) {
  bss_var = add_frames(data_var, rodata_constant);  // 107
  data_var += 1;
  custom_var *= 2;
  return 0;
}

static __always_inline void set_number(__u32 i) {
  __u64 v = i * 10;
  bpf_map_update_elem(&numbers, &i, &v, BPF_ANY);
}

static int loop_body(__u64 index, void *ctx) {
  loop_sum += index;
  return index == 9 ? 1 : 0;  // stop after index 9
}

static long sum_numbers(void *map, __u32 *key, __u64 *value, void *ctx) {
  foreach_sum += *value;
  return 0;
}

SEC("syscall")
int callbacks(void *ctx) {
  long iterations = bpf_loop(100, loop_body, 0, 0);
// Straight-line stores: the kernel's verifier loses a spilled 32-bit loop counter here.
  set_number(0), set_number(1), set_number(2), set_number(3);
  set_number(4), set_number(5), set_number(6), set_number(7);
  bpf_for_each_map_elem(&numbers, sum_numbers, 0, 0);
  return iterations;  // 10
}

SEC("tc")
int tail_target(struct __sk_buff *skb) {
  tail_count++;
  bpf_tail_call(skb, &jump_table, 1);  // slot 1 is set by the test to this program
  return 1;
}

SEC("tc")
int tail_entry(struct __sk_buff *skb) {
  bpf_tail_call(skb, &jump_table, 0);
  return 0;  // only reached when slot 0 is empty
}

SEC("syscall")
int percpu_and_time(void *ctx) {
  __u32 zero = 0;
  __u64 *slot = bpf_map_lookup_elem(&per_cpu, &zero);
  if (slot) *slot += bpf_get_smp_processor_id() + 1;
  __u64 now = bpf_ktime_get_ns();
  if (now < last_time) return 1;
  last_time = now;
  if (bpf_ktime_get_boot_ns() == 0) return 2;
  return 0;
}

static __always_inline long push(__u32 value) { return bpf_map_push_elem(&queue, &value, 0); }

SEC("syscall")
int queue_ops(void *ctx) {
  if (push(1) || push(2) || push(3) || push(4)) return 3;
  if (push(5) != -7 /* -E2BIG: full */) return 1;
  __u32 v = 0;
  if (bpf_map_peek_elem(&queue, &v) || v != 1) return 2;
#pragma clang loop unroll(full)
  for (int i = 0; i < 10; i++) {
    if (bpf_map_pop_elem(&queue, &v)) break;
    pops++;
  }
  return 0;
}

SEC("syscall")
int spin_lock_add(void *ctx) {
  __u32 zero = 0;
  struct locked *val = bpf_map_lookup_elem(&locked_map, &zero);
  if (!val) return 1;
  bpf_spin_lock(&val->lock);
  val->total += 1;
  bpf_spin_unlock(&val->lock);
  return 0;
}

SEC("syscall")
int map_in_map(void *ctx) {
  __u32 zero = 0, one = 1;
  void *inner = bpf_map_lookup_elem(&outer, &one);
  if (!inner) return 1;
  __u64 value = 77;
  return bpf_map_update_elem(inner, &zero, &value, BPF_ANY) ? 2 : 0;
}

SEC("syscall")
int print(void *ctx) {
  char fmt[] = "hello %d %s\n";
  char word[] = "timers";
  return bpf_trace_printk(fmt, sizeof(fmt), 42, (long)word);
}

// Reads far into its context: test-run must give a buffer as large as the verifier allows.
SEC("syscall")
int far_ctx(void *ctx) { return ((unsigned char *)ctx)[4000] + 1; }
