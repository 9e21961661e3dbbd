// Precision tracking (the kernel's mark_chain_precision / backtrack_insn, written afresh): most
// scalars never influence safety (counters, hashes, values that are stored or returned), and
// pruning may treat all of them alike. When a scalar's range does matter at an instruction, the
// register is marked precise: walking back over the instructions simulated on this path (each
// State keeps its history since its checkpoint, each checkpoint the history before it), the set
// of registers and spilled stack slots it was computed from is tracked, and in every checkpoint
// the path descends from those are flagged `precise`. Pruning then compares only flagged scalars
// by range (state.cpp); an unflagged one matched any scalar, which is sound because no path below
// that checkpoint needed its range (or the walk from that path would have flagged it).
//
// Checkpoints memoise: a register already precise in a checkpoint had its sources flagged above
// it by an earlier walk over the same history, so the walk drops it there.
#include <array>

#include "verifier/internal.h"

namespace hourglass::verifier {

using namespace isa;

namespace {

constexpr uint16_t bit(int regno) { return static_cast<uint16_t>(1u << regno); }

// Registers and stack slots (bit i = slot i, fp-(i+1)*8) still to flag, per frame index.
struct Masks {
  std::array<uint16_t, kMaxCallFrames> regs{};
  std::array<uint64_t, kMaxCallFrames> stack{};
  bool empty() const {
    for (int f = 0; f < kMaxCallFrames; ++f)
      if (regs[f] || stack[f]) return false;
    return true;
  }
  void clear_frame(int f) {
    regs[f] = 0;
    stack[f] = 0;
  }
};

// Undoes one instruction: `m` held what had to be precise after it, leaves what had to be precise
// before it. `d` is the frame that executed it. `entered_callback`: a helper call after which
// this path ran the callback (the caller's registers untouched, see calls.cpp).
void undo_insn(const Insn& insn, const HistEntry& e, bool entered_callback, Masks& m) {
  const int d = e.depth;
  uint16_t& regs = m.regs[d];
  const uint16_t dst = bit(insn.dst & 0xf), src = bit(insn.src & 0xf);
  const uint8_t cls = insn_class(insn), op = insn.opcode & 0xf0;
  const bool from_reg = insn.opcode & kSrcX;
  auto slot_masked = [&] {
    return e.stack_use != StackUse::None && (m.stack[e.stack_frame] >> e.stack_slot) & 1;
  };
  auto clear_slot = [&] { m.stack[e.stack_frame] &= ~(uint64_t{1} << e.stack_slot); };
  switch (cls) {
    case kClassAlu:
    case kClassAlu64:
      if (!(regs & dst)) return;
      if (op == kAluMov) {
        regs &= static_cast<uint16_t>(~dst);
        if (from_reg) regs |= src;  // plain copy or sign extension of src
      } else if (from_reg && op != kAluEnd) {
        regs |= src;  // dst op= src depends on both
      }
      return;
    case kClassLdx:
      if (!(regs & dst)) return;
      regs &= static_cast<uint16_t>(~dst);
      // A fill returns the spilled register; anything else loaded owes nothing to registers.
      if (e.stack_use == StackUse::Fill)
        m.stack[e.stack_frame] |= uint64_t{1} << e.stack_slot;
      return;
    case kClassLd:
      regs &= static_cast<uint16_t>(~dst);  // ld_imm64: a constant
      return;
    case kClassSt:
      if (slot_masked()) clear_slot();  // a constant from the instruction
      return;
    case kClassStx:
      if ((insn.opcode & 0xe0) == kModeAtomic) {
        if (slot_masked()) clear_slot();  // the result of the atomic operation is unknown
        if (insn.imm & kAtomicFetch) regs &= static_cast<uint16_t>(~(insn.imm == kAtomicCmpXchg ? bit(0) : src));
        return;
      }
      if (!slot_masked()) return;
      clear_slot();
      if (e.stack_use == StackUse::Spill) regs |= src;
      return;
    default:
      break;
  }
  if (op == kJmpCall) {
    // Helpers and kfuncs define R0 and clobber R1-R5; a bpf-to-bpf call's arguments were moved
    // to this frame when its callee's first instruction was undone (see walk()).
    if (insn.src != kPseudoCall && !entered_callback) regs &= static_cast<uint16_t>(~0x3f);
    return;
  }
  if (op == kJmpExit || op == kJmpJa) return;
  // Conditional jump: a refinement by a register ties the two registers' ranges together.
  if (from_reg && (regs & (dst | src))) regs |= dst | src;
}

// Sets `precise` in `st` on what `m` names; drops from `m` what is not a scalar or was already
// precise (its sources were flagged by whoever flagged it).
void flag(State& st, Masks& m) {
  for (size_t f = 0; f < kMaxCallFrames; ++f) {
    if (f >= st.frames.size()) {
      m.clear_frame(static_cast<int>(f));
      continue;
    }
    Frame& frame = st.frames[f];
    for (int r = 0; r < 11; ++r) {
      if (!(m.regs[f] & bit(r))) continue;
      Reg& reg = frame.regs[r];
      if (reg.type != RegType::Scalar || reg.precise) m.regs[f] &= static_cast<uint16_t>(~bit(r));
      else reg.precise = true;
    }
    for (int s = 0; s < 64; ++s) {
      if (!((m.stack[f] >> s) & 1)) continue;
      Reg* spilled = static_cast<size_t>(s) < frame.stack.size() && frame.stack[s].spill_size
                         ? &frame.stack[s].spilled
                         : nullptr;
      if (!spilled || spilled->type != RegType::Scalar || spilled->precise)
        m.stack[f] &= ~(uint64_t{1} << s);
      else
        spilled->precise = true;
    }
  }
}

// Walks `history` backwards; `depth_after` is the frame index of the state right after it.
// Adds the entries it went over to `steps`.
void walk(const std::vector<Insn>& insns, const std::vector<HistEntry>& history, size_t count,
          int depth_after, bool callback_after, Masks& m, uint64_t& steps) {
  int next_depth = depth_after;
  bool next_in_callback = callback_after;
  for (size_t i = count; i-- > 0 && !m.empty();) {
    ++steps;
    const HistEntry& e = history[i];
    const bool entered_callback = next_depth == e.depth + 1 && next_in_callback;
    if (next_depth == e.depth + 1) {
      // e called into the frame above: a bpf-to-bpf callee got R1-R5 from here; a sync
      // callback's arguments come from the helper.
      if (!next_in_callback) m.regs[e.depth] |= m.regs[next_depth] & 0x3e;
      m.clear_frame(next_depth);
    } else if (next_depth == e.depth - 1) {
      // e returned to the frame below: its R0 is the callee's R0. A sync callback returns to
      // its call with the caller's registers as they were before it: nothing moves.
      m.clear_frame(e.depth);
      if (!e.in_sync_callback) {
        const bool r0 = m.regs[next_depth] & 1;
        m.regs[next_depth] &= static_cast<uint16_t>(~0x3f);
        if (r0) m.regs[e.depth] |= 1;
      }
    }
    undo_insn(insns[e.pc], e, entered_callback, m);
    next_depth = e.depth;
    next_in_callback = e.in_sync_callback;
  }
}

bool in_sync_callback(const Frame& frame) {
  return frame.callback == helpers::CallbackKind::Loop ||
         frame.callback == helpers::CallbackKind::ForEachMapElem;
}

void backtrack(Env& env, State& st, Masks m) {
  // The instruction being simulated has its history entry already; its own effect is not
  // undone (the mark describes the state before it).
  size_t count = st.history.size();
  int depth_after = static_cast<int>(st.frames.size() - 1);
  bool callback_after = in_sync_callback(st.cur());
  if (env.in_step && count > 0) {
    --count;
    depth_after = st.history[count].depth;
    callback_after = st.history[count].in_sync_callback;
  }
  walk(env.insns, st.history, count, depth_after, callback_after, m,
       env.stats.precision_walk_steps);
  for (int32_t parent = st.parent; parent >= 0 && !m.empty();) {
    Checkpoint& cp = env.checkpoints[static_cast<size_t>(parent)];
    flag(cp.state, m);
    if (m.empty()) break;
    walk(env.insns, cp.state.history, cp.state.history.size(),
         static_cast<int>(cp.state.frames.size() - 1), in_sync_callback(cp.state.cur()), m,
         env.stats.precision_walk_steps);
    parent = cp.state.parent;
  }
}

}  // namespace

void Env::mark_precise(State& st, int regno) {
  if (st.cur().regs[regno].type != RegType::Scalar) return;
  Masks m;
  // During a step the frame that executes the instruction is the one its history entry names.
  const size_t frame = in_step && !st.history.empty() ? st.history.back().depth
                                                      : st.frames.size() - 1;
  m.regs[frame] = bit(regno);
  backtrack(*this, st, m);
}

void Env::mark_slot_precise(State& st, int frame, int slot) {
  Masks m;
  m.stack[static_cast<size_t>(frame)] = uint64_t{1} << slot;
  backtrack(*this, st, m);
}

// `cur` was found safe because `old_st` (a finished checkpoint) subsumes it: whatever was precise
// there must be precise in cur's ancestors too, as the same paths continue from cur.
void Env::propagate_precision(const State& old_st, State& cur) {
  Masks m;
  for (size_t f = 0; f < old_st.frames.size(); ++f) {
    const Frame& frame = old_st.frames[f];
    for (int r = 0; r < 10; ++r)
      if (frame.regs[r].type == RegType::Scalar && frame.regs[r].precise) m.regs[f] |= bit(r);
    for (size_t s = 0; s < frame.stack.size() && s < 64; ++s)
      if (frame.stack[s].spill_size && frame.stack[s].spilled.type == RegType::Scalar &&
          frame.stack[s].spilled.precise)
        m.stack[f] |= uint64_t{1} << s;
  }
  if (!m.empty()) backtrack(*this, cur, m);
}

}  // namespace hourglass::verifier
