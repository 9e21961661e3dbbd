// Helper prototypes: the one table the verifier checks calls against and the vm dispatches
// through (DESIGN.md: "one source of truth per fact"). Argument/return kinds follow the kernel's
// bpf_func_proto vocabulary.
#pragma once

#include <cstdint>

namespace hourglass::helpers {

enum class ArgType : uint8_t {
  None,              // unused argument slot
  Anything,          // any initialised scalar or pointer (ARG_ANYTHING)
  Scalar,            // initialised scalar
  ConstMapPtr,       // ARG_CONST_MAP_PTR
  PtrToMapKey,       // ARG_PTR_TO_MAP_KEY: readable memory of the map's key_size
  PtrToMapValue,     // ARG_PTR_TO_MAP_VALUE: readable memory of the map's value_size
  PtrToUninitMapValue,  // writable memory of value_size (pop/peek)
  PtrToMem,          // readable memory, size in the next ConstSize arg
  PtrToMemOrNull,
  PtrToUninitMem,    // writable memory, size in the next ConstSize arg
  ConstSize,         // known-bounded size > 0
  ConstSizeOrZero,
  PtrToCtx,
  PtrToStack,        // pointer to the program stack
  PtrToTimer,        // ARG_PTR_TO_TIMER: map value pointer exactly at the value's bpf_timer
  PtrToWq,           // kfunc arg: map value pointer exactly at the value's bpf_wq
  PtrToSpinLock,     // ARG_PTR_TO_SPIN_LOCK
  PtrToFunc,         // ARG_PTR_TO_FUNC: ld_imm64 BPF_PSEUDO_FUNC
  PtrToStackOrNull,
  ConstStrPtr,       // read-only string in a map value (.rodata)
};

enum class RetType : uint8_t {
  Integer,             // RET_INTEGER
  Void,                // RET_VOID
  MapValueOrNull,      // RET_PTR_TO_MAP_VALUE_OR_NULL (inner map for *_of_maps lookups)
};

// What kind of callback a PtrToFunc argument registers; decides the callback's entry state.
enum class CallbackKind : uint8_t { None, Timer, Loop, ForEachMapElem, Workqueue };

// Program types, kernel enum bpf_prog_type values.
enum class ProgType : uint32_t {
  Unspec = 0,
  SocketFilter = 1,
  Kprobe = 2,
  SchedCls = 3,
  SchedAct = 4,
  Tracepoint = 5,
  Xdp = 6,
  PerfEvent = 7,
  RawTracepoint = 17,
  Tracing = 26,  // fentry/fexit
  Syscall = 31,
};
const char* prog_type_name(ProgType type);

using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);

struct HelperProto {
  uint32_t id = 0;
  const char* name = nullptr;  // "bpf_map_lookup_elem"
  RetType ret = RetType::Integer;
  ArgType args[5] = {ArgType::None, ArgType::None, ArgType::None, ArgType::None, ArgType::None};
  HelperFn fn = nullptr;
  CallbackKind callback = CallbackKind::None;
  bool gpl_only = false;
  // Bit i set = allowed in ProgType i. Zero means every type.
  uint64_t allowed_prog_types = 0;
};

// The table: null for an unknown id.
const HelperProto* find_helper(uint32_t id);
// kfuncs by name (bpf_wq_init, bpf_wq_set_callback_impl, bpf_wq_start); null if unknown. Their
// `id` is 0; the hidden `aux` argument of bpf_wq_set_callback_impl is typed None.
const HelperProto* find_kfunc(const char* name);
// All known helpers, for listing.
const HelperProto* helper_table_begin();
const HelperProto* helper_table_end();

}  // namespace hourglass::helpers
