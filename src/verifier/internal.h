// Private vocabulary of verifier/: the abstract values (tnum + ranges, pointer kinds), the abstract
// machine state (frames, registers, stack bytes), and the Env that explores a program.
//
// Everything here lives for one verify() call on one thread; nothing is shared.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "verifier/verifier.h"

namespace hourglass::verifier {

// ---------------------------------------------------------------- tnum (scalar.cpp)
// A "tracked number": bits set in `mask` are unknown, the others equal `value`'s bits.
struct Tnum {
  uint64_t value = 0;
  uint64_t mask = ~0ull;
  bool operator==(const Tnum&) const = default;
  bool is_const() const { return mask == 0; }
};
inline constexpr Tnum kTnumUnknown{0, ~0ull};
Tnum tnum_const(uint64_t v);
Tnum tnum_range(uint64_t min, uint64_t max);
Tnum tnum_add(Tnum a, Tnum b);
Tnum tnum_sub(Tnum a, Tnum b);
Tnum tnum_and(Tnum a, Tnum b);
Tnum tnum_or(Tnum a, Tnum b);
Tnum tnum_xor(Tnum a, Tnum b);
Tnum tnum_mul(Tnum a, Tnum b);
Tnum tnum_lshift(Tnum a, unsigned shift);
Tnum tnum_rshift(Tnum a, unsigned shift);
Tnum tnum_arshift(Tnum a, unsigned shift, unsigned width);
Tnum tnum_intersect(Tnum a, Tnum b);
Tnum tnum_cast(Tnum a, unsigned bytes);  // keep the low `bytes` bytes, upper bits known zero
bool tnum_in(Tnum outer, Tnum inner);    // every value of inner is a value of outer
std::string tnum_str(Tnum t);

// ---------------------------------------------------------------- registers
enum class RegType : uint8_t {
  NotInit,
  Scalar,
  Ctx,
  ConstMapPtr,  // a map (also an inner map from a *_of_maps lookup)
  MapValue,
  MapKey,       // callbacks' key argument (read only)
  Stack,        // frame pointer of frame `frameno` + off (+ var_off)
  Packet,
  PacketMeta,
  PacketEnd,
  Func,         // ld_imm64 BPF_PSEUDO_FUNC
};
const char* reg_type_name(RegType type, bool maybe_null);

inline constexpr int64_t kS64Min = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kS64Max = std::numeric_limits<int64_t>::max();
inline constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
inline constexpr int32_t kS32Min = std::numeric_limits<int32_t>::min();
inline constexpr int32_t kS32Max = std::numeric_limits<int32_t>::max();
inline constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();

// One register's abstract value. For scalars var_off and the ranges describe the value; for
// pointers they describe the variable part of the offset, `off` is the constant part.
struct Reg {
  RegType type = RegType::NotInit;
  bool maybe_null = false;  // map value / inner map pointer not yet null-checked
  int32_t off = 0;
  Tnum var_off = kTnumUnknown;
  int64_t smin = kS64Min, smax = kS64Max;
  uint64_t umin = 0, umax = kU64Max;
  int32_t s32min = kS32Min, s32max = kS32Max;
  uint32_t u32min = 0, u32max = kU32Max;
  uint32_t id = 0;       // null-check group (maybe_null), packet range group, lock identity
  int32_t map = -1;      // Env::maps index (ConstMapPtr, MapValue, MapKey)
  uint32_t map_uid = 0;  // inner map instance: register id of the *_of_maps lookup
  int32_t frameno = 0;   // Stack: frame that owns the memory
  int32_t range = 0;     // Packet/PacketMeta: bytes from the group's base proven in bounds
  uint32_t subprog = 0;  // Func: entry insn of the target
  // Scalars in a checkpoint's copy only (precision.cpp): some path below the checkpoint needed
  // this value's range (a memory offset, a helper size, a branch decided by it, a callback's
  // return value). Pruning compares imprecise scalars by type alone. Always false in the state
  // being explored.
  bool precise = false;

  bool is_pointer() const { return type != RegType::NotInit && type != RegType::Scalar; }
  bool is_const() const { return type == RegType::Scalar && var_off.is_const(); }
  uint64_t const_value() const { return var_off.value; }
};

Reg make_unknown_scalar();
Reg make_const_scalar(uint64_t v);
Reg make_pointer(RegType type);
// Bounds: recompute the ranges and tnum from each other until they agree (kernel reg_bounds_sync).
void sync_bounds(Reg& reg);
bool bounds_valid(const Reg& reg);  // false when refinement proved a branch impossible
void mark_unknown_width(Reg& reg, unsigned bytes);  // unknown zero-extended value of `bytes`
void zext32(Reg& reg);                              // keep the 32-bit subregister only

// ALU on scalars (scalar.cpp). `is64` selects ALU64 semantics; 32-bit results zero-extend.
// `op` is the BPF ALU operation (isa::kAluAdd ...), `signed_op` is off=1 for sdiv/smod/movsx.
Reg scalar_alu(uint8_t op, const Reg& dst, const Reg& src, bool is64, int16_t insn_off);
// Conditional jumps on scalars: 1 taken, 0 not taken, -1 unknown.
int scalar_branch_taken(uint8_t op, const Reg& dst, const Reg& src, bool is64);
// Refines dst/src for the branch where `dst op src` holds (taken) or does not (fall through).
void scalar_refine(uint8_t op, Reg& dst, Reg& src, bool is64, bool taken);

// ---------------------------------------------------------------- stack
enum class SlotByte : uint8_t { Invalid, Misc, Zero, Spill };
// One 8-byte stack slot, index i covering fp-(i+1)*8 .. fp-i*8.
struct StackSlot {
  SlotByte bytes[8] = {};  // bytes[j] is fp-(i+1)*8+j
  Reg spilled;             // valid when some bytes are Spill
  uint8_t spill_start = 0, spill_size = 0;  // the spilled register's bytes in the slot
};

struct Frame {
  Reg regs[11];
  std::vector<StackSlot> stack;  // grows to the deepest slot written
  uint32_t callsite = 0;         // insn of the call that created the frame (0 for roots)
  uint32_t subprog = 0;          // index into Env::subprogs
  int32_t frameno = 0;
  helpers::CallbackKind callback = helpers::CallbackKind::None;  // sync/async callback frame
};

struct LockState {
  int32_t map = -1;  // -1: no lock held
  uint32_t id = 0;   // id of the map value pointer that locked it
  bool operator==(const LockState&) const = default;
};

// One simulated instruction, as precision backtracking needs it (kernel: jmp_history, but every
// instruction: the path is not recoverable from jumps alone once calls are involved).
enum class StackUse : uint8_t { None, Spill, Fill, Bytes };
struct HistEntry {
  uint32_t pc = 0;
  uint8_t depth = 0;            // frame index that executed it
  bool in_sync_callback = false;  // that frame is a bpf_loop / for_each callback
  StackUse stack_use = StackUse::None;  // a fixed-offset stack access: register spill, exact
                                        // fill, or plain bytes written
  uint8_t stack_frame = 0, stack_slot = 0;  // which frame's stack, which 8-byte slot
};

struct State {
  std::vector<Frame> frames;  // frames.back() is the current function
  LockState lock;
  int32_t parent = -1;  // checkpoint this path descends from (branch counting)
  std::vector<HistEntry> history;  // instructions since `parent` (in a checkpoint: from its
                                   // parent to it)
  Frame& cur() { return frames.back(); }
  const Frame& cur() const { return frames.back(); }
};

// A state stored at a prune point. `branches` counts the paths still being explored below it:
// while non-zero it may be part of a loop on the current path (checked for infinite loops, never
// used to prune); at zero everything below it verified, so any state it subsumes is safe.
// Calls fn(Reg&) on every register and every spilled register of every frame.
template <class Fn>
void for_each_reg(State& st, Fn&& fn) {
  for (Frame& frame : st.frames) {
    for (Reg& reg : frame.regs) fn(reg);
    for (StackSlot& slot : frame.stack)
      if (slot.spill_size) fn(slot.spilled);
  }
}

// How states_equal compares: Exact, every register and byte identical (infinite loops);
// RangeWithin, old subsumes cur on what is live, every scalar by its range (against checkpoints
// still open, whose precision marks are not complete: callback iterations); Subsumes, the same
// but imprecise scalars match any scalar (finished checkpoints).
enum class Compare : uint8_t { Exact, RangeWithin, Subsumes };

struct Checkpoint {
  State state;
  uint32_t insn = 0;
  uint32_t branches = 0;
  uint32_t hits = 0, misses = 0;  // comparisons once finished (search eviction)
  bool searchable = false;        // listed in Env::visited (may prune other paths)
};

// ---------------------------------------------------------------- the explorer
struct Subprog {
  uint32_t entry = 0, end = 0;  // [entry, end)
  std::string name;
  uint32_t stack_depth = 0;
  bool is_async_cb = false, is_cb = false;
  // See SubprogInfo::reads_uninit_stack. Only ever set during exploration (monotone), and
  // state comparison reads it: stacksafe() in state.cpp.
  bool reads_uninit_stack = false;
};

struct Failure {
  uint32_t insn = 0;
  int code = EACCES;
  std::string reason;
};

class Env {
 public:
  explicit Env(const VerifyInput& input);
  Result<VerifyOutput> run();

  // ---- shared by the parts (each defined in the file named) ----
  // cfg.cpp
  bool check_cfg();
  bool calls_sync_callback(uint32_t insn) const { return sync_callback_call[insn] != 0; }
  // fields.cpp
  bool check_insn_fields(uint32_t insn);
  bool check_ld_imm64_fields(uint32_t insn);
  bool check_ld_legacy(uint32_t insn);
  int subprog_of(uint32_t insn) const;
  // memory.cpp
  bool check_mem_access(State& st, uint32_t insn, int regno, int32_t off, int size, bool write,
                        const Reg* value, int value_regno, Reg* loaded, bool sign_extend);
  bool check_helper_mem(State& st, uint32_t insn, int regno, uint64_t size, bool write,
                        bool zero_ok);
  // calls.cpp
  // `next_pc` is pc + 1, or a sync callback's entry when one was entered.
  bool check_helper_call(State& st, uint32_t insn, const helpers::HelperProto& proto,
                         bool is_kfunc, uint32_t* next_pc);
  bool check_pseudo_call(State& st, uint32_t insn, uint32_t target);
  // returns false on error; `done` set when the path ended (exit from a root frame)
  bool check_exit(State& st, uint32_t insn, uint32_t* next_pc, bool* done);
  void widen_after_callback(State& st, uint32_t callsite);
  // explore.cpp
  bool explore_from(State root, uint32_t start);
  void push_branch(State st, uint32_t pc);  // a path to explore later (counts on its parent)
  void path_done(int32_t parent);            // a path ended: release its checkpoints' counts
  int visit_prune_point(State& st, uint32_t pc);
  std::string disassemble(const isa::Insn& insn, const isa::Insn* next) const;
  // verifier.cpp
  bool check_stack_depth();
  // state.cpp
  // `pc` is where both states stand (liveness). See Compare.
  bool states_equal(const State& old_st, const State& cur_st, Compare mode, uint32_t pc) const;
  // liveness.cpp: registers read before written from each insn on (R0-R9 bits), per insn.
  void compute_liveness();
  uint16_t live_regs(const State& st, size_t frame, uint32_t pc) const;
  // precision.cpp: `regno` of the current frame (or a stack slot of frame `frame`) must keep its
  // exact range in every checkpoint this path descends from, and whatever it was computed from.
  void mark_precise(State& st, int regno);
  void mark_slot_precise(State& st, int frame, int slot);
  void propagate_precision(const State& old_st, State& cur);
  std::string state_str(const State& st) const;
  std::string reg_str(const Reg& reg) const;

  bool fail(uint32_t insn, int code, std::string reason);
  void log_line(const std::string& line);
  const MapDesc& map(int32_t index) const { return maps_[static_cast<size_t>(index)]; }
  int32_t inner_map_of(int32_t outer);  // desc index of an outer map's inner template
  uint32_t new_id() { return ++id_gen_; }
  void touch_stack(State& st, int frame_index, int32_t lowest_off);
  // A path reads (or may read) never-written bytes of frame `frame_index`: flags its owner.
  void note_uninit_stack_read(const State& st, int frame_index);
  void mark_packet_range(State& st, const Reg& reg, int32_t range);

  const VerifyInput& in;
  const std::vector<isa::Insn>& insns;
  std::vector<MapDesc> maps_;            // input maps, then inner-map templates
  std::vector<int32_t> inner_desc_;      // outer index -> desc index (-1 = not yet made)
  std::vector<Subprog> subprogs;
  std::vector<uint8_t> prune_point;      // per insn
  std::vector<uint8_t> sync_callback_call;  // per insn: a bpf_loop / for_each_map_elem call
  std::vector<std::vector<uint32_t>> visited;  // per insn: checkpoint indices
  std::deque<Checkpoint> checkpoints;
  struct Pending {
    State state;
    uint32_t pc;
  };
  std::vector<Pending> pending;          // branches still to explore (DFS stack)
  struct AsyncRoot {
    uint32_t subprog;
    int32_t map;
    helpers::CallbackKind kind;
  };
  std::vector<AsyncRoot> async_roots;    // timer / wq callbacks to verify as their own roots
  VerifyStats stats;
  std::string log;
  std::optional<Failure> failure;
  uint32_t id_gen_ = 0;
  bool exposes_addresses = false;  // see VerifyOutput::exposes_addresses
  uint32_t jmps_since_checkpoint = 0, insns_since_checkpoint = 0;
  std::vector<uint16_t> live_in;  // per insn: registers live before it (liveness.cpp)
  // The stack access of the instruction being simulated (memory.cpp fills it in), and whether
  // one is being simulated: precision marks made meanwhile start below its history entry.
  HistEntry step_stack;
  bool in_step = false;
};

}  // namespace hourglass::verifier
