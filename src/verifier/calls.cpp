// Calls and returns: helper and kfunc calls checked against their prototypes (helpers/proto.h),
// bpf-to-bpf calls (frames), callbacks (bpf_loop / bpf_for_each_map_elem verified inline as a
// frame on top of the caller; timer / wq callbacks queued as their own roots), the bpf_timer /
// bpf_wq / bpf_spin_lock argument rules and what every exit must satisfy.
#include <algorithm>
#include <fmt/format.h>

#include "verifier/internal.h"

namespace hourglass::verifier {

using helpers::ArgType;
using helpers::CallbackKind;
using helpers::HelperProto;
using maps::MapType;

namespace {

constexpr uint32_t kHelperTailCall = 12, kHelperPush = 87, kHelperPop = 88, kHelperPeek = 89,
                   kHelperSpinLock = 93, kHelperSpinUnlock = 94, kHelperTimerInit = 169;

// What the arguments established, for the checks that relate one argument to another.
struct ArgMeta {
  int32_t map = -1;  // ConstMapPtr argument
  uint32_t map_uid = 0;
  int mem_regno = -1;  // PtrToMem waiting for its size
  bool mem_write = false;
  int32_t field_map = -1;  // timer / wq / spin lock pointer's map
  uint32_t field_uid = 0;
  uint32_t field_id = 0;   // id of that map value pointer (lock identity)
  int32_t func = -1;       // callback entry insn
  int ctx_regno = -1;      // PtrToStackOrNull passed on to a sync callback
};

bool is_map_of_maps(MapType type) {
  return type == MapType::ArrayOfMaps || type == MapType::HashOfMaps;
}

}  // namespace

int32_t Env::inner_map_of(int32_t outer) {
  if (static_cast<size_t>(outer) >= inner_desc_.size())
    inner_desc_.resize(static_cast<size_t>(outer) + 1, -1);
  int32_t& slot = inner_desc_[static_cast<size_t>(outer)];
  if (slot < 0) {
    MapDesc inner;
    const MapDesc& outer_desc = map(outer);
    if (outer_desc.attr.inner_template) inner.attr = *outer_desc.attr.inner_template;
    inner.name = outer_desc.name + ".inner";
    maps_.push_back(std::move(inner));
    slot = static_cast<int32_t>(maps_.size() - 1);
  }
  return slot;
}

namespace {

// The rules shared by bpf_timer, bpf_wq and bpf_spin_lock pointers (kernel check_map_field_pointer).
struct FieldKind {
  const char* name;
  int32_t maps::FieldRecord::*offset;
};
constexpr FieldKind kTimerField{"bpf_timer", &maps::FieldRecord::timer_off};
constexpr FieldKind kWqField{"bpf_wq", &maps::FieldRecord::wq_off};
constexpr FieldKind kLockField{"bpf_spin_lock", &maps::FieldRecord::spin_lock_off};

}  // namespace

bool Env::check_helper_call(State& st, uint32_t pc, const HelperProto& proto, bool is_kfunc,
                            uint32_t* next_pc) {
  Frame& frame = st.cur();
  *next_pc = pc + 1;
  if (!is_kfunc && proto.allowed_prog_types &&
      !(proto.allowed_prog_types & (1ull << static_cast<uint32_t>(in.type))))
    return fail(pc, EINVAL, fmt::format("unknown func {}#{}", proto.name, proto.id));
  if (st.lock.map >= 0 && !(!is_kfunc && proto.id == kHelperSpinUnlock))
    return fail(pc, EINVAL, "function calls are not allowed while holding a lock");

  ArgMeta meta;
  auto field_arg = [&](int regno, const FieldKind& kind) {
    const Reg& reg = frame.regs[regno];
    if (reg.type != RegType::MapValue || reg.maybe_null)
      return fail(pc, EACCES, fmt::format("R{} type={} expected=map_value", regno,
                                          reg_type_name(reg.type, reg.maybe_null)));
    if (!reg.var_off.is_const())
      return fail(pc, EINVAL,
                  fmt::format("R{} doesn't have constant offset. {} has to be at the constant "
                              "offset",
                              regno, kind.name));
    const MapDesc& desc = map(reg.map);
    if (!desc.attr.has_value_btf)
      return fail(pc, EINVAL, fmt::format("map '{}' has to have BTF in order to use {}",
                                          desc.name, kind.name));
    const int32_t field_off = desc.attr.record.*kind.offset;
    if (field_off < 0)
      return fail(pc, EINVAL, fmt::format("map '{}' has no valid {}", desc.name, kind.name));
    const int64_t off = reg.off + static_cast<int64_t>(reg.var_off.value);
    if (off != field_off)
      return fail(pc, EINVAL, fmt::format("off {} doesn't point to 'struct {}' that is at {}", off,
                                          kind.name, field_off));
    meta.field_map = reg.map;
    meta.field_uid = reg.map_uid;
    meta.field_id = reg.id;
    return true;
  };

  for (int i = 0; i < 5; ++i) {
    const ArgType type = proto.args[i];
    const int regno = i + 1;
    if (type == ArgType::None) continue;
    Reg& reg = frame.regs[regno];
    if (reg.type == RegType::NotInit) return fail(pc, EACCES, fmt::format("R{} !read_ok", regno));
    const char* have = reg_type_name(reg.type, reg.maybe_null);
    switch (type) {
      case ArgType::None:
      case ArgType::Anything:
        break;
      case ArgType::Scalar:
        if (reg.type != RegType::Scalar)
          return fail(pc, EACCES, fmt::format("R{} type={} expected=scalar", regno, have));
        break;
      case ArgType::ConstMapPtr:
        if (reg.type != RegType::ConstMapPtr || reg.maybe_null)
          return fail(pc, EACCES, fmt::format("R{} type={} expected=map_ptr", regno, have));
        if (meta.field_map >= 0 && (meta.field_map != reg.map || meta.field_uid != reg.map_uid)) {
          const bool wq = is_kfunc;
          return fail(pc, EINVAL,
                      fmt::format("{} pointer in R1 map_uid={} doesn't match map pointer in R2 "
                                  "map_uid={}",
                                  wq ? "workqueue" : "timer", meta.field_uid, reg.map_uid));
        }
        meta.map = reg.map;
        meta.map_uid = reg.map_uid;
        break;
      case ArgType::PtrToMapKey:
      case ArgType::PtrToMapValue:
      case ArgType::PtrToUninitMapValue: {
        if (meta.map < 0) return fail(pc, EACCES, "invalid map_ptr to access map->key");
        const maps::MapAttr& attr = map(meta.map).attr;
        const uint32_t size = type == ArgType::PtrToMapKey ? attr.key_size : attr.value_size;
        if (!check_helper_mem(st, pc, regno, size, type == ArgType::PtrToUninitMapValue, false))
          return false;
        break;
      }
      case ArgType::PtrToMem:
      case ArgType::PtrToMemOrNull:
      case ArgType::PtrToUninitMem:
        meta.mem_regno = regno;
        meta.mem_write = type == ArgType::PtrToUninitMem;
        if (type == ArgType::PtrToMemOrNull && reg.is_const() && reg.const_value() == 0) {
          mark_precise(st, regno);  // "no memory" only while it is exactly 0
          break;
        }
        if (!reg.is_pointer())
          return fail(pc, EACCES,
                      fmt::format("R{} type={} expected=fp, pkt, pkt_meta, map_key, map_value",
                                  regno, have));
        break;
      case ArgType::ConstSize:
      case ArgType::ConstSizeOrZero: {
        if (reg.type != RegType::Scalar)
          return fail(pc, EACCES, fmt::format("R{} type={} expected=scalar", regno, have));
        mark_precise(st, regno);  // the size bounds the memory access
        if (reg.smin < 0)
          return fail(pc, EACCES, fmt::format("R{} min value is negative, either use unsigned or "
                                              "'var &= const'",
                                              regno));
        if (reg.umin == 0 && type == ArgType::ConstSize)
          return fail(pc, EACCES, fmt::format("R{} invalid zero-sized read", regno));
        if (reg.umax >= (1u << 29))
          return fail(pc, EACCES, fmt::format("R{} unbounded memory access, use 'var &= const' or "
                                              "'if (var < const)'",
                                              regno));
        if (meta.mem_regno >= 0 &&
            !check_helper_mem(st, pc, meta.mem_regno, reg.umax, meta.mem_write,
                              type == ArgType::ConstSizeOrZero ||
                                  proto.args[i - 1] == ArgType::PtrToMemOrNull))
          return false;
        meta.mem_regno = -1;
        break;
      }
      case ArgType::PtrToCtx:
        if (reg.type != RegType::Ctx)
          return fail(pc, EACCES, fmt::format("R{} type={} expected=ctx", regno, have));
        if (reg.off != 0 || !reg.var_off.is_const() || reg.var_off.value != 0)
          return fail(pc, EACCES, fmt::format("dereference of modified ctx ptr R{} off={} "
                                              "disallowed",
                                              regno, reg.off));
        break;
      case ArgType::PtrToStack:
      case ArgType::PtrToStackOrNull:
        if (type == ArgType::PtrToStackOrNull && reg.is_const() && reg.const_value() == 0) {
          mark_precise(st, regno);
          meta.ctx_regno = regno;
          break;
        }
        if (reg.type != RegType::Stack)
          return fail(pc, EACCES, fmt::format("R{} type={} expected=fp", regno, have));
        meta.ctx_regno = regno;
        break;
      case ArgType::PtrToTimer:
        if (!field_arg(regno, kTimerField)) return false;
        break;
      case ArgType::PtrToWq:
        if (!field_arg(regno, kWqField)) return false;
        break;
      case ArgType::PtrToSpinLock:
        if (!field_arg(regno, kLockField)) return false;
        break;
      case ArgType::PtrToFunc:
        if (reg.type != RegType::Func)
          return fail(pc, EACCES, fmt::format("R{} type={} expected=func", regno, have));
        meta.func = static_cast<int32_t>(reg.subprog);
        break;
      case ArgType::ConstStrPtr:
        if (reg.type != RegType::MapValue || reg.maybe_null)
          return fail(pc, EACCES, fmt::format("R{} type={} expected=map_value", regno, have));
        if (!check_helper_mem(st, pc, regno, 1, false, false)) return false;
        break;
    }
  }

  // Map types and the helpers that may take them (kernel check_map_func_compatibility, the
  // part that matters for memory safety here).
  if (!is_kfunc && meta.map >= 0) {
    const MapType mt = map(meta.map).attr.type;
    const bool queue = mt == MapType::Queue || mt == MapType::Stack;
    const bool queue_fn = proto.id == kHelperPush || proto.id == kHelperPop || proto.id == kHelperPeek;
    const bool bad = (mt == MapType::ProgArray) != (proto.id == kHelperTailCall) ||
                     (queue_fn && !queue) ||
                     (queue && !queue_fn && proto.id != 2 && proto.id != 164) ||
                     (is_map_of_maps(mt) && proto.id != 1 && proto.id != 3 && proto.id != 164);
    if (bad)
      return fail(pc, EINVAL, fmt::format("cannot pass map_type {} into func {}#{}",
                                          static_cast<uint32_t>(mt), proto.name, proto.id));
  }

  if (!is_kfunc && proto.id == kHelperSpinLock) {
    if (st.lock.map >= 0) return fail(pc, EINVAL, "Locking two bpf_spin_locks are not allowed");
    st.lock = LockState{meta.field_map, meta.field_id};
  } else if (!is_kfunc && proto.id == kHelperSpinUnlock) {
    if (st.lock.map < 0) return fail(pc, EINVAL, "bpf_spin_unlock without taking a lock");
    if (st.lock.map != meta.field_map || st.lock.id != meta.field_id)
      return fail(pc, EINVAL, "bpf_spin_unlock of different lock");
    st.lock = LockState{};
  }
  (void)kHelperTimerInit;

  // Return value.
  Reg ret = make_unknown_scalar();
  if (proto.ret == helpers::RetType::Void) {
    ret = Reg{};
  } else if (proto.ret == helpers::RetType::MapValueOrNull) {
    if (meta.map < 0) return fail(pc, EINVAL, "kernel subsystem misconfigured verifier");
    const uint32_t id = new_id();
    if (is_map_of_maps(map(meta.map).attr.type)) {
      ret = make_pointer(RegType::ConstMapPtr);
      ret.map = inner_map_of(meta.map);
      ret.map_uid = id;  // each lookup is its own inner map instance (timer_mim_reject)
    } else {
      ret = make_pointer(RegType::MapValue);
      ret.map = meta.map;
      ret.map_uid = meta.map_uid;  // a value of an inner map remembers which lookup found the map
    }
    ret.maybe_null = true;
    ret.id = id;
  }

  const CallbackKind callback = proto.callback;
  if (callback == CallbackKind::Timer || callback == CallbackKind::Workqueue) {
    // The callback runs later, on a timer worker, with a fresh stack: verify it as its own root
    // once the caller's paths are done.
    const int sp = subprog_of(static_cast<uint32_t>(meta.func));
    subprogs[static_cast<size_t>(sp)].is_async_cb = true;
    const bool known = std::any_of(async_roots.begin(), async_roots.end(), [&](const AsyncRoot& r) {
      return r.subprog == static_cast<uint32_t>(sp) && r.map == meta.field_map;
    });
    if (!known) async_roots.push_back(AsyncRoot{static_cast<uint32_t>(sp), meta.field_map, callback});
  } else if (callback == CallbackKind::Loop || callback == CallbackKind::ForEachMapElem) {
    // Synchronous callback, called any number of times (kernel 6.7+): this path runs the callback
    // as a frame on top of the caller's (it may use the caller's stack through its ctx
    // argument), and check_exit() brings it back to this call with the caller's registers as
    // they were, to run the call again; a pushed path leaves after the call (no more calls).
    // The iterations stop once the state at the call is within an earlier one's
    // (visit_prune_point, Compare::RangeWithin), helped by widening (check_exit()).
    if (st.frames.size() >= static_cast<size_t>(isa::kMaxCallFrames))
      return fail(pc, E2BIG, fmt::format("the call stack of {} frames is too deep",
                                         st.frames.size() + 1));
    const int sp = subprog_of(static_cast<uint32_t>(meta.func));
    subprogs[static_cast<size_t>(sp)].is_cb = true;
    Frame callee;
    callee.callsite = pc;
    callee.subprog = static_cast<uint32_t>(sp);
    callee.frameno = static_cast<int32_t>(st.frames.size());
    callee.callback = callback;
    const Reg ctx = meta.ctx_regno >= 0 ? frame.regs[meta.ctx_regno] : make_const_scalar(0);
    // The helper may also call it zero times: that path continues right after the call with
    // nothing the callback would have written.
    State skipped = st;
    for (int r = 1; r <= 5; ++r) skipped.cur().regs[r] = Reg{};
    skipped.cur().regs[0] = make_unknown_scalar();
    push_branch(std::move(skipped), pc + 1);
    if (callback == CallbackKind::Loop) {
      callee.regs[1] = make_unknown_scalar();
      callee.regs[1].umax = kU32Max;  // u32 index
      sync_bounds(callee.regs[1]);
      callee.regs[2] = ctx;
    } else {
      callee.regs[1] = make_pointer(RegType::ConstMapPtr);
      callee.regs[1].map = meta.map;
      callee.regs[1].map_uid = meta.map_uid;
      callee.regs[2] = make_pointer(RegType::MapKey);
      callee.regs[2].map = meta.map;
      callee.regs[3] = make_pointer(RegType::MapValue);
      callee.regs[3].map = meta.map;
      callee.regs[3].map_uid = meta.map_uid;
      callee.regs[4] = ctx;
    }
    callee.regs[10] = make_pointer(RegType::Stack);
    callee.regs[10].frameno = callee.frameno;
    st.frames.push_back(std::move(callee));
    *next_pc = static_cast<uint32_t>(meta.func);
    return true;
  }

  for (int r = 1; r <= 5; ++r) frame.regs[r] = Reg{};
  frame.regs[0] = ret;
  return true;
}

// A static subprogram may be called with a bpf_spin_lock held (as the kernel allows since 6.x):
// the lock stays in the state, so the callee can call no helper but the unlock, and whoever
// exits the program or a callback must have released it (check_exit()).
bool Env::check_pseudo_call(State& st, uint32_t pc, uint32_t target) {
  if (st.frames.size() >= static_cast<size_t>(isa::kMaxCallFrames))
    return fail(pc, E2BIG,
                fmt::format("the call stack of {} frames is too deep", st.frames.size() + 1));
  Frame callee;
  callee.callsite = pc;
  callee.subprog = static_cast<uint32_t>(subprog_of(target));
  callee.frameno = static_cast<int32_t>(st.frames.size());
  for (int r = 1; r <= 5; ++r) callee.regs[r] = st.cur().regs[r];
  callee.regs[10] = make_pointer(RegType::Stack);
  callee.regs[10].frameno = callee.frameno;
  st.frames.push_back(std::move(callee));
  return true;
}

bool Env::check_exit(State& st, uint32_t pc, uint32_t* next_pc, bool* done) {
  Frame& frame = st.cur();
  const Reg r0 = frame.regs[0];
  *done = false;
  if (r0.type == RegType::NotInit) return fail(pc, EACCES, "R0 !read_ok");
  const CallbackKind cb = frame.callback;
  // A bpf-to-bpf callee may return holding the lock (its caller goes on under it); the program
  // and every callback may not.
  if (st.lock.map >= 0 && (st.frames.size() == 1 || cb != CallbackKind::None))
    return fail(pc, EINVAL, "bpf_spin_unlock is missing");
  if (cb == CallbackKind::Timer || cb == CallbackKind::Workqueue ||
      cb == CallbackKind::Loop || cb == CallbackKind::ForEachMapElem) {
    const bool async = cb == CallbackKind::Timer || cb == CallbackKind::Workqueue;
    const char* where = async ? "At async callback return" : "At callback return";
    const int64_t high = async ? 0 : 1;
    if (r0.type != RegType::Scalar)
      return fail(pc, EINVAL, fmt::format("{} the register R0 is not a known value ({})", where,
                                          reg_type_name(r0.type, r0.maybe_null)));
    mark_precise(st, 0);  // the helper / timer engine relies on the range
    if (r0.smin < 0 || r0.smax > high)
      return fail(pc, EINVAL,
                  fmt::format("{} the register R0 has smin={} smax={} should have been in [0, {}]",
                              where, r0.smin, r0.smax, high));
  }
  if (st.frames.size() == 1) {
    if (r0.is_pointer()) exposes_addresses = true;  // the caller sees the address
    *done = true;
    return true;
  }
  if (r0.type == RegType::Stack && r0.frameno == frame.frameno)
    return fail(pc, EACCES, "cannot return stack pointer to the caller");
  const uint32_t callsite = frame.callsite;
  const bool sync_callback = cb == CallbackKind::Loop || cb == CallbackKind::ForEachMapElem;
  const int32_t popped = frame.frameno;
  st.frames.pop_back();
  // A pointer into the returned frame (stored through a pointer argument) outlives it: it
  // becomes a plain number that can never be dereferenced.
  for_each_reg(st, [&](Reg& r) {
    if (r.type == RegType::Stack && r.frameno >= popped) {
      exposes_addresses = true;
      r = make_unknown_scalar();
    }
  });
  Frame& caller = st.cur();
  if (sync_callback) {
    // Back to the helper call, to call the callback again (see check_helper_call()).
    widen_after_callback(st, callsite);
    *next_pc = callsite;
    return true;
  }
  for (int r = 1; r <= 5; ++r) caller.regs[r] = Reg{};
  caller.regs[0] = r0;
  *next_pc = callsite + 1;
  return true;
}

// Widening (the kernel's widen_imprecise_scalars): a scalar the callback changes on every call
// (a counter in the caller's stack) would make every iteration's state new. Where the previous
// iteration's state at the call, on this path, had an imprecise scalar that is now different,
// the value becomes unknown: iterations converge, and nothing that needed the range is lost
// (precise scalars are kept; a later need re-explores from the unknown value, soundly).
void Env::widen_after_callback(State& st, uint32_t callsite) {
  const State* previous = nullptr;
  for (int32_t index = st.parent; index >= 0;) {
    const Checkpoint& cp = checkpoints[static_cast<size_t>(index)];
    if (cp.insn == callsite && cp.state.frames.size() == st.frames.size()) {
      previous = &cp.state;
      break;
    }
    index = cp.state.parent;
  }
  if (!previous) return;
  auto widen = [](const Reg& old_reg, Reg& cur) {
    if (old_reg.type != RegType::Scalar || cur.type != RegType::Scalar || old_reg.precise) return;
    if (old_reg.var_off == cur.var_off && old_reg.smin == cur.smin && old_reg.smax == cur.smax &&
        old_reg.umin == cur.umin && old_reg.umax == cur.umax && old_reg.s32min == cur.s32min &&
        old_reg.s32max == cur.s32max && old_reg.u32min == cur.u32min &&
        old_reg.u32max == cur.u32max)
      return;
    cur = make_unknown_scalar();
  };
  for (size_t f = 0; f < st.frames.size(); ++f) {
    const Frame& old_frame = previous->frames[f];
    Frame& frame = st.frames[f];
    for (int r = 0; r < 10; ++r) widen(old_frame.regs[r], frame.regs[r]);
    for (size_t s = 0; s < frame.stack.size() && s < old_frame.stack.size(); ++s) {
      const StackSlot& o = old_frame.stack[s];
      StackSlot& c = frame.stack[s];
      if (o.spill_size && c.spill_size && o.spill_start == c.spill_start &&
          o.spill_size == c.spill_size) {
        widen(o.spilled, c.spilled);
        if (c.spill_size == 4 && c.spilled.type == RegType::Scalar) zext32(c.spilled);
      }
    }
  }
}

}  // namespace hourglass::verifier
