// The helper table: one entry per helper, prototype and implementation side by side, so the
// verifier's model and what runs cannot disagree. Ids are the kernel's (enum bpf_func_id).
#include <algorithm>
#include <cstring>
#include <iterator>

#include "helpers/impl.h"
#include "helpers/proto.h"

namespace hourglass::helpers {

namespace {

using A = ArgType;
using R = RetType;
using C = CallbackKind;

constexpr HelperProto make(uint32_t id, const char* name, RetType ret, HelperFn fn,
                           std::initializer_list<ArgType> args, CallbackKind callback = C::None,
                           bool gpl_only = false) {
  HelperProto proto;
  proto.id = id;
  proto.name = name;
  proto.ret = ret;
  proto.fn = fn;
  proto.callback = callback;
  proto.gpl_only = gpl_only;
  int slot = 0;
  for (ArgType arg : args) proto.args[slot++] = arg;
  return proto;
}

// Sorted by id (find_helper binary-searches).
const HelperProto kHelpers[] = {
    make(1, "bpf_map_lookup_elem", R::MapValueOrNull, impl::map_lookup_elem,
         {A::ConstMapPtr, A::PtrToMapKey}),
    make(2, "bpf_map_update_elem", R::Integer, impl::map_update_elem,
         {A::ConstMapPtr, A::PtrToMapKey, A::PtrToMapValue, A::Anything}),
    make(3, "bpf_map_delete_elem", R::Integer, impl::map_delete_elem,
         {A::ConstMapPtr, A::PtrToMapKey}),
    make(5, "bpf_ktime_get_ns", R::Integer, impl::ktime_get_ns, {}),
    // Like the kernel's proto, only fmt and its size are typed: the three optional arguments
    // are not checked (a program may pass fewer).
    make(6, "bpf_trace_printk", R::Integer, impl::trace_printk, {A::PtrToMem, A::ConstSize}, C::None,
         true),
    make(7, "bpf_get_prandom_u32", R::Integer, impl::get_prandom_u32, {}),
    make(8, "bpf_get_smp_processor_id", R::Integer, impl::get_smp_processor_id, {}),
    make(12, "bpf_tail_call", R::Integer, impl::tail_call_unreachable,
         {A::PtrToCtx, A::ConstMapPtr, A::Anything}),
    make(14, "bpf_get_current_pid_tgid", R::Integer, impl::get_current_pid_tgid, {}),
    make(42, "bpf_get_numa_node_id", R::Integer, impl::get_numa_node_id, {}),
    make(87, "bpf_map_push_elem", R::Integer, impl::map_push_elem,
         {A::ConstMapPtr, A::PtrToMapValue, A::Anything}),
    make(88, "bpf_map_pop_elem", R::Integer, impl::map_pop_elem,
         {A::ConstMapPtr, A::PtrToUninitMapValue}),
    make(89, "bpf_map_peek_elem", R::Integer, impl::map_peek_elem,
         {A::ConstMapPtr, A::PtrToUninitMapValue}),
    make(93, "bpf_spin_lock", R::Void, impl::spin_lock, {A::PtrToSpinLock}),
    make(94, "bpf_spin_unlock", R::Void, impl::spin_unlock, {A::PtrToSpinLock}),
    make(118, "bpf_jiffies64", R::Integer, impl::jiffies64, {}),
    make(125, "bpf_ktime_get_boot_ns", R::Integer, impl::ktime_get_boot_ns, {}),
    make(160, "bpf_ktime_get_coarse_ns", R::Integer, impl::ktime_get_coarse_ns, {}),
    make(164, "bpf_for_each_map_elem", R::Integer, impl::for_each_map_elem,
         {A::ConstMapPtr, A::PtrToFunc, A::PtrToStackOrNull, A::Anything}, C::ForEachMapElem),
    make(169, "bpf_timer_init", R::Integer, impl::timer_init,
         {A::PtrToTimer, A::ConstMapPtr, A::Anything}, C::None, true),
    make(170, "bpf_timer_set_callback", R::Integer, impl::timer_set_callback,
         {A::PtrToTimer, A::PtrToFunc}, C::Timer, true),
    make(171, "bpf_timer_start", R::Integer, impl::timer_start,
         {A::PtrToTimer, A::Anything, A::Anything}, C::None, true),
    make(172, "bpf_timer_cancel", R::Integer, impl::timer_cancel, {A::PtrToTimer}, C::None, true),
    make(181, "bpf_loop", R::Integer, impl::loop,
         {A::Anything, A::PtrToFunc, A::PtrToStackOrNull, A::Anything}, C::Loop),
    make(208, "bpf_ktime_get_tai_ns", R::Integer, impl::ktime_get_tai_ns, {}),
};

const HelperProto kKfuncs[] = {
    make(0, "bpf_wq_init", R::Integer, impl::wq_init, {A::PtrToWq, A::ConstMapPtr, A::Anything}),
    make(0, "bpf_wq_set_callback_impl", R::Integer, impl::wq_set_callback_impl,
         {A::PtrToWq, A::PtrToFunc, A::Anything, A::None}, C::Workqueue),
    make(0, "bpf_wq_start", R::Integer, impl::wq_start, {A::PtrToWq, A::Anything}),
};

}  // namespace

const HelperProto* find_helper(uint32_t id) {
  auto it = std::lower_bound(std::begin(kHelpers), std::end(kHelpers), id,
                             [](const HelperProto& proto, uint32_t key) { return proto.id < key; });
  return it != std::end(kHelpers) && it->id == id ? it : nullptr;
}

const HelperProto* find_kfunc(const char* name) {
  for (const HelperProto& proto : kKfuncs)
    if (std::strcmp(proto.name, name) == 0) return &proto;
  return nullptr;
}

const HelperProto* helper_table_begin() { return std::begin(kHelpers); }
const HelperProto* helper_table_end() { return std::end(kHelpers); }

const char* prog_type_name(ProgType type) {
  switch (type) {
    case ProgType::Unspec: return "unspec";
    case ProgType::SocketFilter: return "socket_filter";
    case ProgType::Kprobe: return "kprobe";
    case ProgType::SchedCls: return "sched_cls";
    case ProgType::SchedAct: return "sched_act";
    case ProgType::Tracepoint: return "tracepoint";
    case ProgType::Xdp: return "xdp";
    case ProgType::PerfEvent: return "perf_event";
    case ProgType::RawTracepoint: return "raw_tracepoint";
    case ProgType::Tracing: return "tracing";
    case ProgType::Syscall: return "syscall";
  }
  return "unknown";
}

}  // namespace hourglass::helpers
