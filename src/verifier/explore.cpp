// The path explorer (kernel do_check + is_state_visited): simulates instructions one at a time on
// an abstract State, forks at conditional jumps whose outcome is unknown (depth first, pending
// branches on a stack), and at prune points either cuts the path (a finished checkpoint there
// subsumes it), reports an infinite loop (an identical state is still open on this path), or
// stores a new checkpoint.
#include <fmt/format.h>

#include "verifier/internal.h"

namespace hourglass::verifier {

using namespace isa;

namespace {

constexpr size_t kMaxCheckpointsPerInsn = 64;
constexpr size_t kMaxPendingBranches = 8192;
constexpr uint32_t kLoopCheckpointJumps = 4, kLoopCheckpointInsns = 16;
constexpr uint32_t kChainCheckpointInsns = 100;
// A path whose history since its checkpoint is this long gets a checkpoint at its next prune
// point whatever the counters above say (the kernel forces a new state past 40 jumps of
// jmp_history). Those counters are global: a sibling path's checkpoint resets them, so a loop
// whose every iteration forks a short path that checkpoints (an exit test) never reached them,
// its history grew by one iteration per fork, and each precision walk from a fork went over all
// of it: 4.6 s for 100k instructions (fuzzer: a `w1 -= 1; if w1 != 0` loop after a counter).
constexpr size_t kForceCheckpointHistory = 128;

int access_size(const Insn& insn) {
  switch (insn.opcode & 0x18) {
    case kSizeB: return 1;
    case kSizeH: return 2;
    case kSizeW: return 4;
    default: return 8;
  }
}

const char* alu_op_name(uint8_t op) {
  switch (op) {
    case kAluAdd: return "+=";
    case kAluSub: return "-=";
    case kAluMul: return "*=";
    case kAluDiv: return "/=";
    case kAluOr: return "|=";
    case kAluAnd: return "&=";
    case kAluLsh: return "<<=";
    case kAluRsh: return ">>=";
    case kAluNeg: return "neg";
    case kAluMod: return "%=";
    case kAluXor: return "^=";
    case kAluArsh: return "s>>=";
  }
  return "?";
}

uint64_t byte_swap(uint64_t v, int bits) {
  uint64_t out = 0;
  for (int i = 0; i < bits / 8; ++i) out = (out << 8) | ((v >> (i * 8)) & 0xff);
  return out;
}

}  // namespace

class Stepper {
 public:
  Stepper(Env& env, State& st, uint32_t pc) : env_(env), st_(st), pc_(pc), insn_(env.insns[pc]) {}

  // Runs one instruction. Returns false on a verification error; `done` when the path ended.
  bool run(uint32_t* next, bool* done) {
    *done = false;
    *next = pc_ + 1;
    switch (insn_class(insn_)) {
      case kClassAlu:
      case kClassAlu64: return alu();
      case kClassLdx: return load();
      case kClassSt:
      case kClassStx: return store();
      case kClassLd: return ld(next);
      default: return jump(next, done);
    }
  }

 private:
  Reg& reg(int r) { return st_.cur().regs[r]; }
  bool fail(int code, std::string reason) { return env_.fail(pc_, code, std::move(reason)); }
  bool readable(int r) {
    if (reg(r).type == RegType::NotInit) return fail(EACCES, fmt::format("R{} !read_ok", r));
    return true;
  }
  bool writable(int r) {
    if (r == 10) return fail(EACCES, "frame pointer is read only");
    if (r > 10) return fail(EINVAL, fmt::format("R{} is invalid", r));
    return true;
  }

  bool alu() {
    const uint8_t op = insn_.opcode & 0xf0;
    const bool is64 = insn_class(insn_) == kClassAlu64;
    const bool from_reg = insn_.opcode & kSrcX;
    const int dst = insn_.dst;
    if (insn_.src > 10) return fail(EINVAL, fmt::format("R{} is invalid", insn_.src));
    if (!writable(dst)) return false;
    if (op == kAluEnd) {
      if (!readable(dst)) return false;
      if (reg(dst).type != RegType::Scalar)
        return fail(EACCES, fmt::format("R{} pointer arithmetic prohibited", dst));
      const int bits = insn_.imm;
      if (bits != 16 && bits != 32 && bits != 64)
        return fail(EINVAL, "BPF_END uses reserved fields");
      const bool swap = is64 || from_reg;  // bswap, or to_be on a little-endian host
      Reg& r = reg(dst);
      if (r.is_const()) {
        uint64_t v = r.const_value();
        v = swap ? byte_swap(v, bits) : (bits == 64 ? v : v & ((1ull << bits) - 1));
        r = make_const_scalar(v);
      } else if (swap || bits < 64) {
        if (swap) mark_unknown_width(r, static_cast<unsigned>(bits / 8));
        else {
          Reg mask = make_const_scalar((1ull << bits) - 1);
          r = scalar_alu(kAluAnd, r, mask, true, 0);
        }
      }
      return true;
    }
    if (op != kAluMov && !readable(dst)) return false;
    Reg src;
    if (from_reg) {
      if (!readable(insn_.src)) return false;
      src = reg(insn_.src);
    } else {
      src = make_const_scalar(is64 ? static_cast<uint64_t>(static_cast<int64_t>(insn_.imm))
                                   : static_cast<uint32_t>(insn_.imm));
    }
    if (!from_reg && (op == kAluDiv || op == kAluMod) && insn_.imm == 0)
      return fail(EINVAL, "div by zero");
    if (!from_reg && (op == kAluLsh || op == kAluRsh || op == kAluArsh) &&
        (insn_.imm < 0 || insn_.imm >= (is64 ? 64 : 32)))
      return fail(EINVAL, fmt::format("invalid shift {}", insn_.imm));
    Reg& d = reg(dst);
    if (op == kAluMov) return mov(d, src, is64, from_reg);
    if (op == kAluNeg) {
      if (d.type != RegType::Scalar)
        return fail(EACCES, fmt::format("R{} pointer arithmetic with neg operator prohibited", dst));
      d = scalar_alu(kAluNeg, d, d, is64, 0);
      return true;
    }
    if (d.is_pointer() || src.is_pointer()) return pointer_alu(op, is64);
    d = scalar_alu(op, d, src, is64, insn_.off);
    return true;
  }

  bool mov(Reg& d, const Reg& src, bool is64, bool from_reg) {
    const int16_t sext = insn_.off;  // movsx: 8, 16 or 32
    if (sext != 0 && from_reg) {
      // check_insn_fields() allows only these; the shifts below rely on it.
      if (sext != 8 && sext != 16 && (sext != 32 || !is64))
        return fail(EINVAL, "BPF_MOV uses reserved fields");
      if (src.type != RegType::Scalar)
        return fail(EACCES, fmt::format("R{} sign-extension of pointer prohibited", insn_.src));
      Reg r = src;
      if (r.is_const()) {
        const int shift = 64 - sext;
        r = make_const_scalar(static_cast<uint64_t>(static_cast<int64_t>(r.const_value() << shift) >>
                                                    shift));
      } else {
        r = make_unknown_scalar();
        r.smin = -(int64_t{1} << (sext - 1));
        r.smax = (int64_t{1} << (sext - 1)) - 1;
        sync_bounds(r);
      }
      if (!is64) zext32(r);
      d = r;
      return true;
    }
    if (!is64 && src.is_pointer()) {
      // Privileged: the low half of a pointer is an unknown scalar (it can never be turned back).
      env_.exposes_addresses = true;
      d = make_unknown_scalar();
      zext32(d);
      return true;
    }
    d = src;
    if (!is64) zext32(d);
    return true;
  }

  bool pointer_alu(uint8_t op, bool is64) {
    const int dst = insn_.dst;
    Reg& d = reg(dst);
    const Reg src = (insn_.opcode & kSrcX) ? reg(insn_.src)
                                           : make_const_scalar(static_cast<uint64_t>(
                                                 static_cast<int64_t>(insn_.imm)));
    if (!is64) {
      // Privileged programs may subtract pointers in 32 bits (clang's `data_end - data` on the
      // u32 ctx fields): the result is a meaningless but harmless scalar.
      if (op == kAluSub) {
        env_.exposes_addresses = true;
        d = make_unknown_scalar();
        zext32(d);
        return true;
      }
      return fail(EACCES, fmt::format("R{} 32-bit pointer arithmetic prohibited", dst));
    }
    if (op == kAluAnd || op == kAluOr || op == kAluXor)
      return fail(EACCES, fmt::format("R{} bitwise operator {} on pointer prohibited", dst,
                                      alu_op_name(op)));
    if (op != kAluAdd && op != kAluSub)
      return fail(EACCES, fmt::format("R{} pointer arithmetic with {} operator prohibited", dst,
                                      alu_op_name(op)));
    if (d.is_pointer() && src.is_pointer()) {
      // As for a privileged loader: the difference of two pointers is a plain scalar
      // (`data_end - data` is the packet length); it can never become a pointer again.
      if (op == kAluSub) {
        env_.exposes_addresses = true;
        d = make_unknown_scalar();
        return true;
      }
      return fail(EACCES, fmt::format("R{} pointer {} pointer prohibited", dst, alu_op_name(op)));
    }
    if (!d.is_pointer() && op == kAluSub)
      return fail(EACCES, fmt::format("R{} tried to subtract pointer from scalar", dst));
    Reg ptr = d.is_pointer() ? d : src;
    const Reg scalar = d.is_pointer() ? src : d;
    const int ptr_regno = d.is_pointer() ? dst : insn_.src;
    // The offset's range becomes the pointer's: it matters wherever the pointer is used.
    if (!d.is_pointer()) env_.mark_precise(st_, dst);
    else if (insn_.opcode & kSrcX) env_.mark_precise(st_, insn_.src);
    if (ptr.maybe_null)
      return fail(EACCES, fmt::format("R{} pointer arithmetic on {} prohibited, null-check it first",
                                      ptr_regno, reg_type_name(ptr.type, true)));
    switch (ptr.type) {
      case RegType::ConstMapPtr:
      case RegType::PacketEnd:
      case RegType::Func:
        return fail(EACCES, fmt::format("R{} pointer arithmetic on {} prohibited", ptr_regno,
                                        reg_type_name(ptr.type, false)));
      default: break;
    }
    if (scalar.is_const()) {
      const int64_t k = static_cast<int64_t>(scalar.const_value());
      const int64_t off = op == kAluAdd ? ptr.off + k : ptr.off - k;
      if (off <= -(1 << 29) || off >= (1 << 29))
        return fail(EACCES, fmt::format("value {} makes {} pointer be out of bounds", k,
                                        reg_type_name(ptr.type, false)));
      ptr.off = static_cast<int32_t>(off);
    } else {
      // The variable part accumulates in var_off and the ranges, as for a scalar.
      Reg var = make_unknown_scalar();
      var.var_off = ptr.var_off;
      var.smin = ptr.smin, var.smax = ptr.smax, var.umin = ptr.umin, var.umax = ptr.umax;
      var.s32min = ptr.s32min, var.s32max = ptr.s32max;
      var.u32min = ptr.u32min, var.u32max = ptr.u32max;
      const Reg sum = scalar_alu(op, var, scalar, true, 0);
      ptr.var_off = sum.var_off;
      ptr.smin = sum.smin, ptr.smax = sum.smax, ptr.umin = sum.umin, ptr.umax = sum.umax;
      ptr.s32min = sum.s32min, ptr.s32max = sum.s32max;
      ptr.u32min = sum.u32min, ptr.u32max = sum.u32max;
      if (ptr.type == RegType::Packet || ptr.type == RegType::PacketMeta) {
        ptr.id = env_.new_id();  // a new base: ranges proven for the old one do not carry over
        ptr.range = 0;
      }
    }
    d = ptr;
    return true;
  }

  bool load() {
    const int dst = insn_.dst, src = insn_.src;
    if (src > 10 || !readable(src) || !writable(dst)) return false;
    const bool sign = (insn_.opcode & 0xe0) == kModeMemSx;
    Reg loaded;
    if (!env_.check_mem_access(st_, pc_, src, insn_.off, access_size(insn_), false, nullptr, -1,
                               &loaded, sign))
      return false;
    reg(dst) = loaded;
    return true;
  }

  bool store() {
    const int dst = insn_.dst;
    if (dst > 10 || !readable(dst)) return false;
    const int size = access_size(insn_);
    if (insn_class(insn_) == kClassSt) {
      const Reg value = make_const_scalar(static_cast<uint64_t>(static_cast<int64_t>(insn_.imm)));
      return env_.check_mem_access(st_, pc_, dst, insn_.off, size, true, &value, -1, nullptr, false);
    }
    const int src = insn_.src;
    if (src > 10 || !readable(src)) return false;
    if ((insn_.opcode & 0xe0) == kModeAtomic) return atomic(size);
    const Reg value = reg(src);
    return env_.check_mem_access(st_, pc_, dst, insn_.off, size, true, &value, src, nullptr, false);
  }

  bool atomic(int size) {
    const int dst = insn_.dst, src = insn_.src;
    const int32_t op = insn_.imm;
    const int32_t base = op & ~kAtomicFetch;
    const bool known = base == kAluAdd || base == kAluOr || base == kAluAnd || base == kAluXor ||
                       op == kAtomicXchg || op == kAtomicCmpXchg;
    if (!known) return fail(EINVAL, fmt::format("BPF_ATOMIC uses invalid atomic opcode {:02x}", op));
    if (reg(src).is_pointer()) return fail(EACCES, fmt::format("R{} leaks addr into mem", src));
    if (op == kAtomicCmpXchg) {
      if (!readable(0)) return false;
      if (reg(0).is_pointer()) return fail(EACCES, "R0 leaks addr into mem");
    }
    const RegType type = reg(dst).type;
    if (type != RegType::Stack && type != RegType::MapValue)
      return fail(EACCES, fmt::format("BPF_ATOMIC stores into R{} {} is not allowed", dst,
                                      reg_type_name(type, reg(dst).maybe_null)));
    Reg loaded;
    if (!env_.check_mem_access(st_, pc_, dst, insn_.off, size, false, nullptr, -1, &loaded, false))
      return false;
    if (loaded.is_pointer()) env_.exposes_addresses = true;  // arithmetic on a spilled pointer
    const Reg value = make_unknown_scalar();
    if (!env_.check_mem_access(st_, pc_, dst, insn_.off, size, true, &value, src, nullptr, false))
      return false;
    if (op & kAtomicFetch) {
      Reg fetched = make_unknown_scalar();
      mark_unknown_width(fetched, static_cast<unsigned>(size));
      reg(op == kAtomicCmpXchg ? 0 : src) = fetched;
    }
    return true;
  }

  bool ld(uint32_t* next) {
    const uint8_t mode = insn_.opcode & 0xe0;
    // BPF_LD_ABS / BPF_LD_IND never get here: check_ld_legacy() refuses them.
    if (mode != kModeImm) return fail(ENOTSUP, "BPF_LD_[ABS|IND] is not supported");
    *next = pc_ + 2;
    if (!writable(insn_.dst)) return false;
    const Insn& second = env_.insns[pc_ + 1];
    Reg r;
    switch (insn_.src) {
      case 0:
        r = make_const_scalar(static_cast<uint32_t>(insn_.imm) |
                              (static_cast<uint64_t>(static_cast<uint32_t>(second.imm)) << 32));
        break;
      case kPseudoMapFd:
      case kPseudoMapIdx:
        r = make_pointer(RegType::ConstMapPtr);
        r.map = insn_.imm;
        break;
      case kPseudoMapValue:
      case kPseudoMapIdxValue: {
        r = make_pointer(RegType::MapValue);
        r.map = insn_.imm;
        r.off = second.imm;
        const uint32_t value_size = env_.map(r.map).attr.value_size;
        if (second.imm < 0 || static_cast<uint32_t>(second.imm) >= value_size)
          return fail(EACCES, fmt::format("invalid access to map value pointer, value_size={} "
                                          "off={}",
                                          value_size, second.imm));
        break;
      }
      case kPseudoFunc:
        r = make_pointer(RegType::Func);
        r.subprog = static_cast<uint32_t>(static_cast<int64_t>(pc_) + insn_.imm + 1);
        break;
      default:
        return fail(EINVAL, "invalid BPF_LD_IMM insn");
    }
    reg(insn_.dst) = r;
    return true;
  }

  bool jump(uint32_t* next, bool* done) {
    const uint8_t op = insn_.opcode & 0xf0;
    const bool is64 = insn_class(insn_) == kClassJmp;
    env_.jmps_since_checkpoint++;
    if (op == kJmpJa) {
      *next = static_cast<uint32_t>(static_cast<int64_t>(pc_) + 1 + (is64 ? insn_.off : insn_.imm));
      return true;
    }
    if (op == kJmpExit) return env_.check_exit(st_, pc_, next, done);
    if (op == kJmpCall) return call(next);
    return cond_jump(op, is64, next);
  }

  bool call(uint32_t* next) {
    if (insn_.src == kPseudoCall) {
      const uint32_t target = static_cast<uint32_t>(static_cast<int64_t>(pc_) + insn_.imm + 1);
      *next = target;
      return env_.check_pseudo_call(st_, pc_, target);
    }
    if (insn_.src == kPseudoKfuncCall) {
      const auto& kfuncs = env_.in.kfuncs;
      if (insn_.imm < 0 || static_cast<size_t>(insn_.imm) >= kfuncs.size() || !kfuncs[insn_.imm])
        return fail(EACCES, fmt::format("calling kernel function #{} is not allowed", insn_.imm));
      return env_.check_helper_call(st_, pc_, *kfuncs[insn_.imm], true, next);
    }
    const helpers::HelperProto* proto = helpers::find_helper(static_cast<uint32_t>(insn_.imm));
    if (!proto) return fail(EINVAL, fmt::format("invalid func unknown#{}", insn_.imm));
    return env_.check_helper_call(st_, pc_, *proto, false, next);
  }

  bool cond_jump(uint8_t op, bool is64, uint32_t* next) {
    const int dst = insn_.dst;
    const bool from_reg = insn_.opcode & kSrcX;
    if (dst > 10 || !readable(dst)) return false;
    if (from_reg && (insn_.src > 10 || !readable(insn_.src))) return false;
    const uint32_t target = static_cast<uint32_t>(static_cast<int64_t>(pc_) + 1 + insn_.off);
    Reg src = from_reg ? reg(insn_.src)
                       : make_const_scalar(is64 ? static_cast<uint64_t>(
                                                      static_cast<int64_t>(insn_.imm))
                                                : static_cast<uint32_t>(insn_.imm));
    Reg& d = reg(dst);

    if (d.is_pointer() || src.is_pointer()) return pointer_jump(op, is64, src, target, next);

    const int taken = scalar_branch_taken(op, d, src, is64);
    // A branch not followed because of the ranges: those ranges matter (precision.cpp).
    auto decided_by_ranges = [&] {
      env_.mark_precise(st_, dst);
      if (from_reg) env_.mark_precise(st_, insn_.src);
    };
    if (taken >= 0) decided_by_ranges();
    if (taken == 1) {
      *next = target;
      return true;
    }
    if (taken == 0) return true;
    State other = st_;
    Reg& od = other.cur().regs[dst];
    Reg osrc = src;
    scalar_refine(op, od, osrc, is64, true);
    if (from_reg) other.cur().regs[insn_.src] = osrc;
    Reg fsrc = src;
    scalar_refine(op, d, fsrc, is64, false);
    if (from_reg) reg(insn_.src) = fsrc;
    const bool other_ok = bounds_valid(od) && bounds_valid(osrc);
    const bool this_ok = bounds_valid(d) && bounds_valid(fsrc);
    if (other_ok && this_ok) {
      env_.push_branch(std::move(other), target);
      return true;
    }
    decided_by_ranges();
    if (other_ok) {
      st_ = std::move(other);
      *next = target;
    }
    return true;  // if neither holds the path is dead; continue harmlessly on this one
  }

  bool pointer_jump(uint8_t op, bool is64, const Reg& src, uint32_t target, uint32_t* next) {
    const int dst = insn_.dst;
    const Reg d = reg(dst);
    const bool eq = op == kJmpJeq || op == kJmpJne;
    // Null checks: `if (ptr == 0)` on a maybe-null pointer splits the group.
    const Reg* ptr = d.is_pointer() ? &d : &src;
    const Reg* other = d.is_pointer() ? &src : &d;
    if (eq && other->is_const() && other->const_value() == 0 && !other->is_pointer()) {
      // Null-check semantics hang on that scalar being exactly 0.
      if (!d.is_pointer()) env_.mark_precise(st_, dst);
      else if (insn_.opcode & kSrcX) env_.mark_precise(st_, insn_.src);
      if (!ptr->maybe_null) {
        // A valid pointer is never null: the outcome is known.
        if (op == kJmpJne) *next = target;
        return true;
      }
      State null_branch = st_;
      const uint32_t id = ptr->id;
      for_each_reg(null_branch, [&](Reg& r) {
        if (r.maybe_null && r.id == id) r = make_const_scalar(0);
      });
      for_each_reg(st_, [&](Reg& r) {
        if (r.maybe_null && r.id == id) r.maybe_null = false;
      });
      // JEQ jumps on null; JNE falls through on null.
      if (op == kJmpJeq) {
        env_.push_branch(std::move(null_branch), target);
      } else {
        State non_null = std::move(st_);
        st_ = std::move(null_branch);
        env_.push_branch(std::move(non_null), target);
      }
      return true;
    }
    if (d.is_pointer() && src.is_pointer() && is64) {
      packet_compare(op, d, src, target);
    } else {
      env_.exposes_addresses = true;  // a pointer against a number: the outcome is the address's
      env_.push_branch(st_, target);
    }
    return true;
  }

  // `pkt' OP pkt_end` (either order; meta against data likewise) proves bytes readable on one side.
  void packet_compare(uint8_t op, const Reg& d, const Reg& s, uint32_t target) {
    auto is_pair = [](const Reg& p, const Reg& end) {
      return (p.type == RegType::Packet && end.type == RegType::PacketEnd) ||
             (p.type == RegType::PacketMeta && end.type == RegType::Packet);
    };
    State taken = st_;
    const Reg* pkt = nullptr;
    bool proven_when_taken = false;
    if (is_pair(d, s)) {  // pkt' OP end
      pkt = &d;
      proven_when_taken = op == kJmpJlt || op == kJmpJle;
      if (!(op == kJmpJgt || op == kJmpJge || proven_when_taken)) pkt = nullptr;
    } else if (is_pair(s, d)) {  // end OP pkt'
      pkt = &s;
      proven_when_taken = op == kJmpJgt || op == kJmpJge;
      if (!(op == kJmpJlt || op == kJmpJle || proven_when_taken)) pkt = nullptr;
    }
    if (pkt && pkt->off > 0 && pkt->umax <= 0xffff) {
      env_.mark_packet_range(proven_when_taken ? taken : st_, *pkt, pkt->off);
    }
    // Positions inside one packet, or inside one stack frame, compare the same on every run;
    // anything else compares addresses.
    auto in_packet = [](const Reg& r) {
      return r.type == RegType::Packet || r.type == RegType::PacketMeta ||
             r.type == RegType::PacketEnd;
    };
    const bool same_region = (in_packet(d) && in_packet(s)) ||
                             (d.type == RegType::Stack && s.type == RegType::Stack &&
                              d.frameno == s.frameno) ||
                             (d.type == RegType::Ctx && s.type == RegType::Ctx);
    if (!same_region) env_.exposes_addresses = true;
    env_.push_branch(std::move(taken), target);
  }

  Env& env_;
  State& st_;
  uint32_t pc_;
  const Insn& insn_;
};

void Env::mark_packet_range(State& st, const Reg& pkt, int32_t range) {
  for_each_reg(st, [&](Reg& r) {
    if (r.type == pkt.type && r.id == pkt.id) r.range = std::max(r.range, range);
  });
}

void Env::push_branch(State st, uint32_t pc) {
  if (st.parent >= 0) checkpoints[static_cast<size_t>(st.parent)].branches++;
  pending.push_back(Pending{std::move(st), pc});
  // As the kernel (BPF_COMPLEXITY_LIMIT_JMP_SEQ): this many branches waiting means a path that
  // keeps forking without ever finishing; it also bounds the memory they hold.
  if (pending.size() > kMaxPendingBranches && !failure)
    fail(pc, E2BIG, fmt::format("The sequence of {} jumps is too complex.", pending.size()));
}

namespace {

// A finished checkpoint is never an ancestor of an open path again: its history (only precision
// walks read it) goes, and so does its state unless it still serves pruning.
void release_finished(Checkpoint& cp) {
  std::vector<HistEntry>().swap(cp.state.history);
  if (!cp.searchable) std::vector<Frame>().swap(cp.state.frames);
}

}  // namespace

void Env::path_done(int32_t parent) {
  while (parent >= 0) {
    Checkpoint& cp = checkpoints[static_cast<size_t>(parent)];
    if (--cp.branches > 0) break;
    parent = cp.state.parent;
    release_finished(cp);
  }
}

// 1: the path is covered by a finished checkpoint; 0: go on; -1: error.
int Env::visit_prune_point(State& st, uint32_t pc) {
  bool in_loop = false;
  std::vector<uint32_t>& here = visited[pc];
  for (size_t i = 0; i < here.size(); ++i) {
    Checkpoint& cp = checkpoints[here[i]];
    if (cp.branches > 0) {
      if (calls_sync_callback(pc)) {
        // Back at a bpf_loop / for_each call after running the callback: if this state is
        // within an earlier iteration's (still being explored), more calls add nothing.
        if (states_equal(cp.state, st, Compare::RangeWithin, pc)) {
          stats.pruned++;
          return 1;
        }
        continue;
      }
      if (states_equal(cp.state, st, Compare::Exact, pc)) {
        fail(pc, EINVAL, fmt::format("infinite loop detected at insn {}", pc));
        return -1;
      }
      in_loop = true;
      continue;
    }
    if (states_equal(cp.state, st, Compare::Subsumes, pc)) {
      stats.pruned++;
      cp.hits++;
      propagate_precision(cp.state, st);
      return 1;
    }
    // A finished checkpoint that keeps failing to match (typically one loop iteration's) is
    // dropped from the search, as the kernel drops states with miss_cnt > hit_cnt * 3 + 3; it
    // stays in `checkpoints` for the precision walks of the paths below it.
    if (++cp.misses > cp.hits * 3 + 3) {
      cp.searchable = false;
      release_finished(cp);
      here[i] = here.back();
      here.pop_back();
      --i;
    }
  }
  // Inside a loop most iterations differ; store a checkpoint only every few jumps (the kernel
  // waits for 20 jumps or 100 instructions; fewer keeps loops whose body branches much from
  // re-exploring each iteration's sibling paths several iterations deep).
  // Callback call sites always keep one: the callback iterations converge against them.
  const bool history_long = st.history.size() >= kForceCheckpointHistory;
  if (in_loop && !calls_sync_callback(pc) && jmps_since_checkpoint < kLoopCheckpointJumps &&
      insns_since_checkpoint < kLoopCheckpointInsns && !history_long)
    return 0;
  // Past the per-insn limit the checkpoint still cuts the path's history (precision walks stop
  // at checkpoints that already have what they look for), it just never prunes.
  const bool searchable = visited[pc].size() < kMaxCheckpointsPerInsn;
  // Such a checkpoint only bounds the history walks: one every 100 instructions does (a path
  // that loops to the instruction limit would otherwise hold tens of thousands of states).
  if (!searchable && insns_since_checkpoint < kChainCheckpointInsns && !history_long) return 0;
  Checkpoint cp;
  cp.state = st;
  cp.insn = pc;
  cp.branches = 1;
  cp.searchable = searchable;
  checkpoints.push_back(std::move(cp));
  const uint32_t index = static_cast<uint32_t>(checkpoints.size() - 1);
  st.parent = static_cast<int32_t>(index);
  st.history.clear();  // the checkpoint holds the path up to here
  if (searchable) {
    visited[pc].push_back(index);
    stats.states++;
  }
  jmps_since_checkpoint = 0;
  insns_since_checkpoint = 0;
  return 0;
}

bool Env::explore_from(State root, uint32_t start) {
  pending.clear();
  push_branch(std::move(root), start);
  while (!pending.empty()) {
    State st = std::move(pending.back().state);
    uint32_t pc = pending.back().pc;
    pending.pop_back();
    if (in.verbose_log) log_line(fmt::format("from branch to {}: {}", pc, state_str(st)));
    for (;;) {
      if (++stats.insns_processed > in.complexity_limit)
        return fail(pc, E2BIG, fmt::format("BPF program is too large. Processed {} insn",
                                           stats.insns_processed));
      insns_since_checkpoint++;
      if (prune_point[pc]) {
        const int seen = visit_prune_point(st, pc);
        if (seen < 0) return false;
        if (seen > 0) {
          if (in.verbose_log) log_line(fmt::format("{}: safe", pc));
          path_done(st.parent);
          break;
        }
      }
      if (in.verbose_log) {
        const Insn* second = pc + 1 < insns.size() ? &insns[pc + 1] : nullptr;
        log_line(fmt::format("{}: {}", pc, disassemble(insns[pc], second)));
      }
      uint32_t next = pc + 1;
      bool done = false;
      HistEntry entry;
      entry.pc = pc;
      entry.depth = static_cast<uint8_t>(st.frames.size() - 1);
      entry.in_sync_callback = st.cur().callback == helpers::CallbackKind::Loop ||
                               st.cur().callback == helpers::CallbackKind::ForEachMapElem;
      // Appended before the step: branches it pushes continue this history too.
      st.history.push_back(entry);
      step_stack = HistEntry{};
      in_step = true;
      Stepper step(*this, st, pc);
      const bool stepped = step.run(&next, &done);
      in_step = false;
      if (stepped && step_stack.stack_use != StackUse::None) {
        st.history.back().stack_use = step_stack.stack_use;
        st.history.back().stack_frame = step_stack.stack_frame;
        st.history.back().stack_slot = step_stack.stack_slot;
      }
      if (!stepped || failure) {  // (push_branch() fails without failing the step)
        if (in.verbose_log) log_line(fmt::format("{}: {}", pc, state_str(st)));
        return false;
      }
      if (in.verbose_log) log_line(fmt::format("{}: {}", pc, state_str(st)));
      if (done) {
        path_done(st.parent);
        break;
      }
      pc = next;
    }
  }
  return true;
}

}  // namespace hourglass::verifier
