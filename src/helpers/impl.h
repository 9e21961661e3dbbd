// Helper implementations (C ABI: five u64 in, u64 out), grouped by subject. The table in
// table.cpp pairs each with its prototype. Each reads the running program's environment through
// current_run(); the verifier guarantees argument types, so pointers are used as given.
#pragma once

#include <cstdint>

namespace hourglass::helpers::impl {

using u64 = uint64_t;

// maps
u64 map_lookup_elem(u64 map, u64 key, u64, u64, u64);
u64 map_update_elem(u64 map, u64 key, u64 value, u64 flags, u64);
u64 map_delete_elem(u64 map, u64 key, u64, u64, u64);
u64 map_push_elem(u64 map, u64 value, u64 flags, u64, u64);
u64 map_pop_elem(u64 map, u64 value, u64, u64, u64);
u64 map_peek_elem(u64 map, u64 value, u64, u64, u64);
u64 for_each_map_elem(u64 map, u64 callback, u64 callback_ctx, u64 flags, u64);
u64 tail_call_unreachable(u64, u64, u64, u64, u64);

// time and misc
u64 ktime_get_ns(u64, u64, u64, u64, u64);
u64 ktime_get_boot_ns(u64, u64, u64, u64, u64);
u64 ktime_get_coarse_ns(u64, u64, u64, u64, u64);
u64 ktime_get_tai_ns(u64, u64, u64, u64, u64);
u64 jiffies64(u64, u64, u64, u64, u64);
u64 get_prandom_u32(u64, u64, u64, u64, u64);
u64 get_smp_processor_id(u64, u64, u64, u64, u64);
u64 get_numa_node_id(u64, u64, u64, u64, u64);
u64 get_current_pid_tgid(u64, u64, u64, u64, u64);
u64 trace_printk(u64 fmt, u64 fmt_size, u64 a1, u64 a2, u64 a3);
u64 spin_lock(u64 lock, u64, u64, u64, u64);
u64 spin_unlock(u64 lock, u64, u64, u64, u64);
u64 loop(u64 nr_loops, u64 callback, u64 callback_ctx, u64 flags, u64);

// timers and workqueues
u64 timer_init(u64 timer, u64 map, u64 flags, u64, u64);
u64 timer_set_callback(u64 timer, u64 callback, u64, u64, u64);
u64 timer_start(u64 timer, u64 nsecs, u64 flags, u64, u64);
u64 timer_cancel(u64 timer, u64, u64, u64, u64);
u64 wq_init(u64 wq, u64 map, u64 flags, u64, u64);
u64 wq_set_callback_impl(u64 wq, u64 callback, u64 flags, u64 aux, u64);
u64 wq_start(u64 wq, u64 flags, u64, u64, u64);

}  // namespace hourglass::helpers::impl
