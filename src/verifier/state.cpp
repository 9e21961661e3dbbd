// State comparison (pruning and infinite-loop detection) and the text forms of registers and
// states used by the verbose log.
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "verifier/internal.h"

namespace hourglass::verifier {

const char* reg_type_name(RegType type, bool maybe_null) {
  switch (type) {
    case RegType::NotInit: return "?";
    case RegType::Scalar: return "scalar";
    case RegType::Ctx: return "ctx";
    case RegType::ConstMapPtr: return maybe_null ? "map_ptr_or_null" : "map_ptr";
    case RegType::MapValue: return maybe_null ? "map_value_or_null" : "map_value";
    case RegType::MapKey: return "map_key";
    case RegType::Stack: return "fp";
    case RegType::Packet: return "pkt";
    case RegType::PacketMeta: return "pkt_meta";
    case RegType::PacketEnd: return "pkt_end";
    case RegType::Func: return "func";
  }
  return "?";
}

namespace {

// Ids name groups of registers (a null check or a packet range applies to the whole group).
// Two states are comparable only if their groups correspond one to one.
class IdMap {
 public:
  bool check(uint32_t old_id, uint32_t cur_id) {
    if (old_id == 0 || cur_id == 0) return old_id == cur_id;
    auto [it, inserted] = old_to_cur_.emplace(old_id, cur_id);
    return inserted ? true : it->second == cur_id;
  }

 private:
  std::map<uint32_t, uint32_t> old_to_cur_;
};

bool range_within(const Reg& old_reg, const Reg& cur) {
  return old_reg.umin <= cur.umin && cur.umax <= old_reg.umax && old_reg.smin <= cur.smin &&
         cur.smax <= old_reg.smax && old_reg.u32min <= cur.u32min && cur.u32max <= old_reg.u32max &&
         old_reg.s32min <= cur.s32min && cur.s32max <= old_reg.s32max;
}

bool same_value(const Reg& a, const Reg& b) {
  return a.var_off == b.var_off && a.umin == b.umin && a.umax == b.umax && a.smin == b.smin &&
         a.smax == b.smax && a.u32min == b.u32min && a.u32max == b.u32max &&
         a.s32min == b.s32min && a.s32max == b.s32max;
}

// Is every concrete value `cur` may hold one that `old_reg` allowed (old paths all succeeded)?
bool regsafe(const Reg& old_reg, const Reg& cur, Compare mode, IdMap& ids) {
  const bool exact = mode == Compare::Exact;
  if (old_reg.type == RegType::NotInit) return !exact || cur.type == RegType::NotInit;
  if (old_reg.type != cur.type) return false;
  if (old_reg.type == RegType::Scalar) {
    if (exact) return same_value(old_reg, cur);
    // No path below needed its range (precision.cpp).
    if (mode == Compare::Subsumes && !old_reg.precise) return true;
    return range_within(old_reg, cur) && tnum_in(old_reg.var_off, cur.var_off);
  }
  if (old_reg.maybe_null != cur.maybe_null || old_reg.off != cur.off || old_reg.map != cur.map ||
      old_reg.frameno != cur.frameno || old_reg.subprog != cur.subprog)
    return false;
  if (exact ? !same_value(old_reg, cur)
            : !(range_within(old_reg, cur) && tnum_in(old_reg.var_off, cur.var_off)))
    return false;
  if (old_reg.type == RegType::Packet || old_reg.type == RegType::PacketMeta) {
    if (exact ? old_reg.range != cur.range : old_reg.range > cur.range) return false;
  }
  return ids.check(old_reg.id, cur.id) && ids.check(old_reg.map_uid, cur.map_uid);
}

SlotByte byte_at(const Frame& frame, size_t index) {
  const size_t slot = index / 8;
  return slot < frame.stack.size() ? frame.stack[slot].bytes[index % 8] : SlotByte::Invalid;
}

// Identical byte kinds with no spill are always safe: the common case, checked a slot at a time.
bool plain_slot_equal(const Frame& old_frame, const Frame& cur, size_t slot) {
  if (slot >= old_frame.stack.size() || slot >= cur.stack.size()) return false;
  const StackSlot& o = old_frame.stack[slot];
  return o.spill_size == 0 && cur.stack[slot].spill_size == 0 &&
         std::memcmp(o.bytes, cur.stack[slot].bytes, sizeof(o.bytes)) == 0;
}

bool spilled_pointer_at(const Frame& frame, size_t index) {
  return byte_at(frame, index) == SlotByte::Spill && frame.stack[index / 8].spilled.is_pointer();
}

// Stack bytes of a finished checkpoint against the current state's (non-exact modes). Reads of
// bytes give an unknown number whether they are Invalid (never written, allowed as for a
// privileged loader: memory.cpp) or Misc, so either kind in the checkpoint covers every byte a
// read turns into a number, with two exceptions:
// - an Invalid byte in the current state under an old Misc one: the paths below the checkpoint
//   may read it, and the frame's reads_uninit_stack flag (the vm's zeroing) would miss that
//   read. The kernel, with allow_uninit_stack, lets old STACK_MISC match anything; it has no
//   such flag to keep exact.
// - a spilled pointer in the current state: read as bytes below the checkpoint, it becomes a
//   number that may go where pointers may not (a map value). Under an old Misc byte that read
//   may exist; under an old Invalid one only if some path read never-written bytes of a frame
//   of this subprogram (`owner_reads_uninit`; else the checkpoint's paths read none, and the
//   flag, set during exploration, is complete for a finished checkpoint).
bool stacksafe(const Frame& old_frame, const Frame& cur, Compare mode, IdMap& ids,
               bool owner_reads_uninit) {
  const bool exact = mode == Compare::Exact;
  const bool scan_cur = exact || owner_reads_uninit;
  const size_t bytes = std::max(old_frame.stack.size(), scan_cur ? cur.stack.size() : 0) * 8;
  for (size_t i = 0; i < bytes; ++i) {
    if (i % 8 == 0 && plain_slot_equal(old_frame, cur, i / 8)) {
      i += 7;
      continue;
    }
    const SlotByte old_byte = byte_at(old_frame, i), cur_byte = byte_at(cur, i);
    if (exact && old_byte != cur_byte) return false;
    switch (old_byte) {
      case SlotByte::Invalid:
        if (owner_reads_uninit && spilled_pointer_at(cur, i)) return false;
        break;
      case SlotByte::Misc:
        if (cur_byte == SlotByte::Invalid || spilled_pointer_at(cur, i)) return false;
        break;
      case SlotByte::Zero:
        if (cur_byte != SlotByte::Zero) return false;
        break;
      case SlotByte::Spill: {
        if (i % 8 != 0 && byte_at(old_frame, i - 1) == SlotByte::Spill) break;  // checked once
        if (cur_byte != SlotByte::Spill) return false;
        const StackSlot& o = old_frame.stack[i / 8];
        if (i / 8 >= cur.stack.size()) return false;
        const StackSlot& c = cur.stack[i / 8];
        if (o.spill_start != c.spill_start || o.spill_size != c.spill_size) return false;
        if (!regsafe(o.spilled, c.spilled, mode, ids)) return false;
        break;
      }
    }
  }
  return true;
}

}  // namespace

bool Env::states_equal(const State& old_st, const State& cur_st, Compare mode, uint32_t pc) const {
  const bool exact = mode == Compare::Exact;
  if (old_st.frames.size() != cur_st.frames.size()) return false;
  IdMap ids;
  if (old_st.lock.map != cur_st.lock.map || !ids.check(old_st.lock.id, cur_st.lock.id))
    return false;
  for (size_t f = 0; f < old_st.frames.size(); ++f) {
    const Frame& o = old_st.frames[f];
    const Frame& c = cur_st.frames[f];
    if (o.callsite != c.callsite || o.callback != c.callback || o.subprog != c.subprog)
      return false;
  }
  // The current function's registers first: that is where states usually differ.
  for (size_t f = old_st.frames.size(); f-- > 0;) {
    const Frame& o = old_st.frames[f];
    const Frame& c = cur_st.frames[f];
    // Dead registers (liveness.cpp) may differ: nothing below the checkpoint reads them.
    const uint16_t live = exact ? 0x7ff : static_cast<uint16_t>(live_regs(old_st, f, pc) | 0x400);
    for (int r = 0; r < 11; ++r)
      if ((live >> r) & 1 && !regsafe(o.regs[r], c.regs[r], mode, ids)) return false;
  }
  // Stacks last: they are the long part, and registers (loop counters) usually differ first.
  for (size_t f = 0; f < old_st.frames.size(); ++f)
    if (!stacksafe(old_st.frames[f], cur_st.frames[f], mode, ids,
                   subprogs[old_st.frames[f].subprog].reads_uninit_stack))
      return false;
  return true;
}

// ------------------------------------------------------------------ text
std::string Env::reg_str(const Reg& reg) const {
  auto var_part = [&]() -> std::string {
    if (reg.var_off.is_const() && reg.var_off.value == 0) return "";
    return fmt::format(",var_off={},smin={},smax={}", tnum_str(reg.var_off), reg.smin, reg.smax);
  };
  auto map_name = [&]() -> std::string {
    return reg.map >= 0 && static_cast<size_t>(reg.map) < maps_.size() ? maps_[reg.map].name : "?";
  };
  const std::string id = reg.id ? fmt::format("id={},", reg.id) : "";
  switch (reg.type) {
    case RegType::NotInit: return "?";
    case RegType::Scalar: {
      if (reg.is_const()) return fmt::format("{}", static_cast<int64_t>(reg.const_value()));
      std::string out = "scalar(";
      bool first = true;
      auto add = [&](bool show, const std::string& part) {
        if (!show) return;
        if (!first) out.push_back(',');
        out.append(part);
        first = false;
      };
      add(reg.smin != kS64Min, fmt::format("smin={}", reg.smin));
      add(reg.smax != kS64Max, fmt::format("smax={}", reg.smax));
      add(reg.umin != 0, fmt::format("umin={}", reg.umin));
      add(reg.umax != kU64Max, fmt::format("umax={}", reg.umax));
      add(reg.var_off.mask != kU64Max, fmt::format("var_off={}", tnum_str(reg.var_off)));
      return out + ")";
    }
    case RegType::Ctx: return fmt::format("ctx(off={}{})", reg.off, var_part());
    case RegType::Stack:
      if (reg.var_off.is_const() && reg.var_off.value == 0) return fmt::format("fp{}", reg.off);
      return fmt::format("fp(off={}{})", reg.off, var_part());
    case RegType::ConstMapPtr:
    case RegType::MapValue:
    case RegType::MapKey:
      return fmt::format("{}({}map={},off={}{}{})", reg_type_name(reg.type, reg.maybe_null), id,
                         map_name(), reg.off, reg.map_uid ? fmt::format(",uid={}", reg.map_uid) : "",
                         var_part());
    case RegType::Packet:
    case RegType::PacketMeta:
      return fmt::format("{}({}off={},r={}{})", reg_type_name(reg.type, false), id, reg.off,
                         reg.range, var_part());
    case RegType::PacketEnd: return "pkt_end()";
    case RegType::Func: return fmt::format("func(insn={})", reg.subprog);
  }
  return "?";
}

std::string Env::state_str(const State& st) const {
  std::string out;
  const Frame& frame = st.cur();
  if (st.frames.size() > 1) out += fmt::format("frame{}: ", frame.frameno);
  for (int r = 0; r < 11; ++r)
    if (frame.regs[r].type != RegType::NotInit)
      out += fmt::format("{}R{}={}", out.empty() || out.back() == ' ' ? "" : " ", r,
                         reg_str(frame.regs[r]));
  for (size_t i = 0; i < frame.stack.size(); ++i) {
    const StackSlot& slot = frame.stack[i];
    std::string bytes;
    bool any = false;
    for (int j = 7; j >= 0; --j) {
      const char c = "?mzs"[static_cast<int>(slot.bytes[j])];
      any = any || c != '?';
      bytes += c;
    }
    if (!any) continue;
    const int off = -static_cast<int>(i + 1) * 8;
    if (slot.spill_size == 8)
      out += fmt::format(" fp{}={}", off, reg_str(slot.spilled));
    else
      out += fmt::format(" fp{}={}", off, bytes);
  }
  if (st.lock.map >= 0) out += fmt::format(" lock(map={},id={})", maps_[st.lock.map].name, st.lock.id);
  return out;
}

}  // namespace hourglass::verifier
