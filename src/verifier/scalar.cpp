// Scalar domain: tnums (known bits), signed/unsigned 64- and 32-bit ranges, the ALU transfer
// functions and the refinement of both operands on conditional jumps.
//
// Soundness over precision: whenever an operation could wrap in a way the ranges cannot express,
// the result becomes unbounded and sync_bounds() recovers what the known bits still say.
#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "verifier/internal.h"

namespace hourglass::verifier {

// ------------------------------------------------------------------------ tnum
Tnum tnum_const(uint64_t v) { return Tnum{v, 0}; }

Tnum tnum_range(uint64_t min, uint64_t max) {
  uint64_t chi = min ^ max;
  int bits = chi ? 64 - std::countl_zero(chi) : 0;
  if (bits > 63) return kTnumUnknown;
  uint64_t delta = (1ull << bits) - 1;
  return Tnum{min & ~delta, delta};
}

Tnum tnum_add(Tnum a, Tnum b) {
  uint64_t sm = a.mask + b.mask, sv = a.value + b.value;
  uint64_t chi = (sm + sv) ^ sv;
  uint64_t mu = chi | a.mask | b.mask;
  return Tnum{sv & ~mu, mu};
}

Tnum tnum_sub(Tnum a, Tnum b) {
  uint64_t dv = a.value - b.value;
  uint64_t chi = (dv + a.mask) ^ (dv - b.mask);
  uint64_t mu = chi | a.mask | b.mask;
  return Tnum{dv & ~mu, mu};
}

Tnum tnum_and(Tnum a, Tnum b) {
  uint64_t v = a.value & b.value;
  return Tnum{v, (a.value | a.mask) & (b.value | b.mask) & ~v};
}

Tnum tnum_or(Tnum a, Tnum b) {
  uint64_t v = a.value | b.value;
  return Tnum{v, (a.mask | b.mask) & ~v};
}

Tnum tnum_xor(Tnum a, Tnum b) {
  uint64_t mu = a.mask | b.mask;
  return Tnum{(a.value ^ b.value) & ~mu, mu};
}

Tnum tnum_lshift(Tnum a, unsigned shift) { return Tnum{a.value << shift, a.mask << shift}; }
Tnum tnum_rshift(Tnum a, unsigned shift) { return Tnum{a.value >> shift, a.mask >> shift}; }

Tnum tnum_arshift(Tnum a, unsigned shift, unsigned width) {
  if (width == 32)
    return Tnum{static_cast<uint32_t>(static_cast<int32_t>(a.value) >> shift),
                static_cast<uint32_t>(static_cast<int32_t>(a.mask) >> shift)};
  return Tnum{static_cast<uint64_t>(static_cast<int64_t>(a.value) >> shift),
              static_cast<uint64_t>(static_cast<int64_t>(a.mask) >> shift)};
}

// Long multiplication over known bits: the product of the known parts, plus, for every bit of a
// that is (or may be) set, b shifted there with its uncertainty.
Tnum tnum_mul(Tnum a, Tnum b) {
  Tnum known = tnum_const(a.value * b.value);
  Tnum uncertain = tnum_const(0);
  while (a.value || a.mask) {
    if (a.value & 1)
      uncertain = tnum_add(uncertain, Tnum{0, b.mask});
    else if (a.mask & 1)
      uncertain = tnum_add(uncertain, Tnum{0, b.value | b.mask});
    a = tnum_rshift(a, 1);
    b = tnum_lshift(b, 1);
  }
  return tnum_add(known, uncertain);
}

// A contradiction (a bit known 0 on one side, 1 on the other) yields value&mask != 0, which
// bounds_valid() reports as an impossible state.
Tnum tnum_intersect(Tnum a, Tnum b) {
  uint64_t conflict = (a.value ^ b.value) & ~a.mask & ~b.mask;
  if (conflict) return Tnum{1, 1};
  uint64_t v = a.value | b.value, mu = a.mask & b.mask;
  return Tnum{v & ~mu, mu};
}

Tnum tnum_cast(Tnum a, unsigned bytes) {
  if (bytes >= 8) return a;
  uint64_t keep = (1ull << (bytes * 8)) - 1;
  return Tnum{a.value & keep, a.mask & keep};
}

bool tnum_in(Tnum outer, Tnum inner) {
  if (inner.mask & ~outer.mask) return false;
  return (inner.value & ~outer.mask) == outer.value;
}

std::string tnum_str(Tnum t) { return fmt::format("(0x{:x}; 0x{:x})", t.value, t.mask); }

// ------------------------------------------------------------------------ registers
Reg make_unknown_scalar() {
  Reg reg;
  reg.type = RegType::Scalar;
  return reg;
}

Reg make_const_scalar(uint64_t v) {
  Reg reg = make_unknown_scalar();
  reg.var_off = tnum_const(v);
  reg.smin = reg.smax = static_cast<int64_t>(v);
  reg.umin = reg.umax = v;
  reg.s32min = reg.s32max = static_cast<int32_t>(v);
  reg.u32min = reg.u32max = static_cast<uint32_t>(v);
  return reg;
}

Reg make_pointer(RegType type) {
  Reg reg;
  reg.type = type;
  reg.var_off = tnum_const(0);
  reg.smin = reg.smax = 0;
  reg.umin = reg.umax = 0;
  reg.s32min = reg.s32max = 0;
  reg.u32min = reg.u32max = 0;
  return reg;
}

namespace {

void update_from_tnum(Reg& r) {
  const Tnum t = r.var_off;
  r.smin = std::max(r.smin, static_cast<int64_t>(t.value | (t.mask & (1ull << 63))));
  r.smax = std::min(r.smax, static_cast<int64_t>(t.value | (t.mask & ~(1ull << 63))));
  r.umin = std::max(r.umin, t.value);
  r.umax = std::min(r.umax, t.value | t.mask);
  const Tnum t32 = tnum_cast(t, 4);
  r.s32min = std::max(r.s32min, static_cast<int32_t>(t32.value | (t32.mask & 0x80000000u)));
  r.s32max = std::min(r.s32max, static_cast<int32_t>(t32.value | (t32.mask & 0x7fffffffu)));
  r.u32min = std::max(r.u32min, static_cast<uint32_t>(t32.value));
  r.u32max = std::min(r.u32max, static_cast<uint32_t>(t32.value | t32.mask));
}

// Signed and unsigned views agree whenever a range does not cross a sign boundary.
void deduce_bounds(Reg& r) {
  if ((r.u32min >> 31) == (r.u32max >> 31)) {
    r.s32min = std::max(r.s32min, static_cast<int32_t>(r.u32min));
    r.s32max = std::min(r.s32max, static_cast<int32_t>(r.u32max));
  }
  if ((static_cast<uint32_t>(r.s32min) >> 31) == (static_cast<uint32_t>(r.s32max) >> 31)) {
    r.u32min = std::max(r.u32min, static_cast<uint32_t>(r.s32min));
    r.u32max = std::min(r.u32max, static_cast<uint32_t>(r.s32max));
  }
  if ((r.umin >> 63) == (r.umax >> 63)) {
    r.smin = std::max(r.smin, static_cast<int64_t>(r.umin));
    r.smax = std::min(r.smax, static_cast<int64_t>(r.umax));
  }
  if ((static_cast<uint64_t>(r.smin) >> 63) == (static_cast<uint64_t>(r.smax) >> 63)) {
    r.umin = std::max(r.umin, static_cast<uint64_t>(r.smin));
    r.umax = std::min(r.umax, static_cast<uint64_t>(r.smax));
  }
  // 64-bit bounds inside one 4 GiB window say something about the low 32 bits ...
  if ((r.umin >> 32) == (r.umax >> 32)) {
    r.u32min = std::max(r.u32min, static_cast<uint32_t>(r.umin));
    r.u32max = std::min(r.u32max, static_cast<uint32_t>(r.umax));
  }
  if ((static_cast<uint64_t>(r.smin) >> 32) == (static_cast<uint64_t>(r.smax) >> 32) &&
      static_cast<int32_t>(r.smin) <= static_cast<int32_t>(r.smax)) {
    r.s32min = std::max(r.s32min, static_cast<int32_t>(r.smin));
    r.s32max = std::min(r.s32max, static_cast<int32_t>(r.smax));
  }
  // ... and a value whose upper half is zero is its low half.
  if (r.umax <= kU32Max) {
    r.umin = std::max(r.umin, static_cast<uint64_t>(r.u32min));
    r.umax = std::min(r.umax, static_cast<uint64_t>(r.u32max));
  }
}

void tnum_from_bounds(Reg& r) {
  r.var_off = tnum_intersect(r.var_off, tnum_range(r.umin, r.umax));
  if ((r.var_off.value & r.var_off.mask) != 0) return;
  Tnum low = tnum_range(r.u32min, r.u32max);
  Tnum combined{(r.var_off.value & ~0xffffffffull) | low.value,
                (r.var_off.mask & ~0xffffffffull) | low.mask};
  r.var_off = tnum_intersect(r.var_off, combined);
}

}  // namespace

void sync_bounds(Reg& reg) {
  for (int round = 0; round < 2; ++round) {
    update_from_tnum(reg);
    deduce_bounds(reg);
    tnum_from_bounds(reg);
  }
  update_from_tnum(reg);
}

bool bounds_valid(const Reg& r) {
  return r.smin <= r.smax && r.umin <= r.umax && r.s32min <= r.s32max && r.u32min <= r.u32max &&
         (r.var_off.value & r.var_off.mask) == 0;
}

void mark_unknown_width(Reg& reg, unsigned bytes) {
  reg = make_unknown_scalar();
  if (bytes < 8) {
    reg.var_off = tnum_cast(kTnumUnknown, bytes);
    sync_bounds(reg);
  }
}

void zext32(Reg& reg) {
  Reg out = make_unknown_scalar();
  out.var_off = tnum_cast(reg.var_off, 4);
  out.u32min = reg.u32min;
  out.u32max = reg.u32max;
  out.s32min = reg.s32min;
  out.s32max = reg.s32max;
  out.umin = reg.u32min;
  out.umax = reg.u32max;
  sync_bounds(out);
  reg = out;
}

// ------------------------------------------------------------------------ ALU
namespace {

using isa::kAluAdd, isa::kAluSub, isa::kAluMul, isa::kAluDiv, isa::kAluOr, isa::kAluAnd,
    isa::kAluLsh, isa::kAluRsh, isa::kAluNeg, isa::kAluMod, isa::kAluXor, isa::kAluArsh;

uint64_t eval_const(uint8_t op, uint64_t a, uint64_t b, bool is64, int16_t off) {
  const bool sign = off == 1;
  if (!is64) {
    a = static_cast<uint32_t>(a);
    b = static_cast<uint32_t>(b);
  }
  const unsigned shift_mask = is64 ? 63 : 31;
  uint64_t r = 0;
  switch (op) {
    case kAluAdd: r = a + b; break;
    case kAluSub: r = a - b; break;
    case kAluMul: r = a * b; break;
    case kAluOr: r = a | b; break;
    case kAluAnd: r = a & b; break;
    case kAluXor: r = a ^ b; break;
    case kAluLsh: r = a << (b & shift_mask); break;
    case kAluRsh: r = a >> (b & shift_mask); break;
    case kAluNeg: r = 0 - a; break;
    case kAluArsh:
      r = is64 ? static_cast<uint64_t>(static_cast<int64_t>(a) >> (b & 63))
               : static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31));
      break;
    case kAluDiv:
      if (b == 0) r = 0;
      else if (!sign) r = a / b;
      else if (is64) {
        int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
        r = (sa == kS64Min && sb == -1) ? a : static_cast<uint64_t>(sa / sb);
      } else {
        int32_t sa = static_cast<int32_t>(a), sb = static_cast<int32_t>(b);
        r = (sa == kS32Min && sb == -1) ? a : static_cast<uint32_t>(sa / sb);
      }
      break;
    case kAluMod:
      if (b == 0) r = a;
      else if (!sign) r = a % b;
      else if (is64) {
        int64_t sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
        r = sb == -1 ? 0 : static_cast<uint64_t>(sa % sb);
      } else {
        int32_t sa = static_cast<int32_t>(a), sb = static_cast<int32_t>(b);
        r = sb == -1 ? 0 : static_cast<uint32_t>(sa % sb);
      }
      break;
  }
  return is64 ? r : static_cast<uint32_t>(r);
}

Reg with_ranges(Tnum t, uint64_t umin, uint64_t umax, int64_t smin, int64_t smax) {
  Reg r = make_unknown_scalar();
  r.var_off = t;
  r.umin = umin;
  r.umax = umax;
  r.smin = smin;
  r.smax = smax;
  sync_bounds(r);
  return r;
}

// 64-bit range arithmetic; a 32-bit operation runs here on zero-extended operands and is
// truncated by the caller.
Reg range_alu(uint8_t op, const Reg& a, const Reg& b, int16_t off) {
  const bool b_const = b.var_off.is_const();
  const uint64_t k = b.var_off.value;
  switch (op) {
    case kAluAdd: {
      int64_t smin, smax;
      uint64_t umin, umax;
      const bool smin_over = __builtin_add_overflow(a.smin, b.smin, &smin);
      const bool smax_over = __builtin_add_overflow(a.smax, b.smax, &smax);
      const bool umin_over = __builtin_add_overflow(a.umin, b.umin, &umin);
      const bool umax_over = __builtin_add_overflow(a.umax, b.umax, &umax);
      const bool s_over = smin_over || smax_over, u_over = umin_over || umax_over;
      return with_ranges(tnum_add(a.var_off, b.var_off), u_over ? 0 : umin,
                         u_over ? kU64Max : umax, s_over ? kS64Min : smin,
                         s_over ? kS64Max : smax);
    }
    case kAluSub: {
      int64_t smin, smax;
      const bool smin_over = __builtin_sub_overflow(a.smin, b.smax, &smin);
      const bool smax_over = __builtin_sub_overflow(a.smax, b.smin, &smax);
      const bool s_over = smin_over || smax_over;
      bool u_under = a.umin < b.umax;
      return with_ranges(tnum_sub(a.var_off, b.var_off), u_under ? 0 : a.umin - b.umax,
                         u_under ? kU64Max : a.umax - b.umin, s_over ? kS64Min : smin,
                         s_over ? kS64Max : smax);
    }
    case kAluMul: {
      Tnum t = tnum_mul(a.var_off, b.var_off);
      if (a.umax > kU32Max || b.umax > kU32Max) return with_ranges(t, 0, kU64Max, kS64Min, kS64Max);
      uint64_t umin = a.umin * b.umin, umax = a.umax * b.umax;
      return with_ranges(t, umin, umax, kS64Min, kS64Max);
    }
    case kAluAnd: {
      Tnum t = tnum_and(a.var_off, b.var_off);
      return with_ranges(t, t.value, std::min(a.umax, b.umax), kS64Min, kS64Max);
    }
    case kAluOr: {
      Tnum t = tnum_or(a.var_off, b.var_off);
      return with_ranges(t, std::max(a.umin, b.umin), t.value | t.mask, kS64Min, kS64Max);
    }
    case kAluXor: {
      Tnum t = tnum_xor(a.var_off, b.var_off);
      return with_ranges(t, t.value, t.value | t.mask, kS64Min, kS64Max);
    }
    case kAluLsh: {
      if (!b_const || k > 63) return make_unknown_scalar();
      Tnum t = tnum_lshift(a.var_off, static_cast<unsigned>(k));
      if (k && (a.umax >> (64 - k)) != 0) return with_ranges(t, 0, kU64Max, kS64Min, kS64Max);
      return with_ranges(t, a.umin << k, a.umax << k, kS64Min, kS64Max);
    }
    case kAluRsh: {
      if (!b_const || k > 63) return with_ranges(kTnumUnknown, 0, a.umax, kS64Min, kS64Max);
      return with_ranges(tnum_rshift(a.var_off, static_cast<unsigned>(k)), a.umin >> k,
                         a.umax >> k, kS64Min, kS64Max);
    }
    case kAluArsh: {
      if (!b_const || k > 63) return make_unknown_scalar();
      return with_ranges(tnum_arshift(a.var_off, static_cast<unsigned>(k), 64), 0, kU64Max,
                         a.smin >> k, a.smax >> k);
    }
    case kAluDiv: {
      if (off == 1) return make_unknown_scalar();
      if (b_const) {
        if (k == 0) return make_const_scalar(0);
        return with_ranges(kTnumUnknown, a.umin / k, a.umax / k, kS64Min, kS64Max);
      }
      return with_ranges(kTnumUnknown, 0, a.umax, kS64Min, kS64Max);
    }
    case kAluMod: {
      if (off == 1) return make_unknown_scalar();
      if (b_const && k == 0) return a;
      if (b.umin > 0) {
        if (a.umax < b.umin) return a;
        return with_ranges(kTnumUnknown, 0, std::min(a.umax, b.umax - 1), kS64Min, kS64Max);
      }
      return with_ranges(kTnumUnknown, 0, a.umax, kS64Min, kS64Max);
    }
  }
  return make_unknown_scalar();
}

// The 32-bit subregister of `reg` as a zero-extended 64-bit scalar.
Reg low_half(const Reg& reg) {
  Reg r = make_unknown_scalar();
  r.var_off = tnum_cast(reg.var_off, 4);
  r.umin = reg.u32min;
  r.umax = reg.u32max;
  r.u32min = reg.u32min;
  r.u32max = reg.u32max;
  r.s32min = reg.s32min;
  r.s32max = reg.s32max;
  sync_bounds(r);
  return r;
}

// Truncates a 64-bit result to its low 32 bits, zero-extended.
Reg truncate32(const Reg& r) {
  Reg out = make_unknown_scalar();
  out.var_off = tnum_cast(r.var_off, 4);
  if ((r.umin >> 32) == (r.umax >> 32)) {
    out.u32min = static_cast<uint32_t>(r.umin);
    out.u32max = static_cast<uint32_t>(r.umax);
  }
  out.umax = kU32Max;
  sync_bounds(out);
  zext32(out);
  return out;
}

}  // namespace

Reg scalar_alu(uint8_t op, const Reg& dst, const Reg& src, bool is64, int16_t insn_off) {
  const bool dst_known = is64 ? dst.var_off.is_const() : tnum_cast(dst.var_off, 4).is_const();
  const bool src_known = is64 ? src.var_off.is_const() : tnum_cast(src.var_off, 4).is_const();
  if (dst_known && (src_known || op == kAluNeg))
    return make_const_scalar(
        eval_const(op, dst.var_off.value, src.var_off.value, is64, insn_off));
  if (op == kAluNeg) return is64 ? range_alu(kAluSub, make_const_scalar(0), dst, 0)
                                 : truncate32(range_alu(kAluSub, make_const_scalar(0),
                                                        low_half(dst), 0));
  if (is64) return range_alu(op, dst, src, insn_off);
  if (op == kAluArsh) {
    // Signed shift of the 32-bit subregister: shift the s32 range, keep known bits.
    const Tnum amount = tnum_cast(src.var_off, 4);
    if (!amount.is_const() || amount.value > 31) {
      Reg r = make_unknown_scalar();
      zext32(r);
      return r;
    }
    const unsigned k = static_cast<unsigned>(amount.value);
    Reg r = make_unknown_scalar();
    r.var_off = tnum_cast(tnum_arshift(tnum_cast(dst.var_off, 4), k, 32), 4);
    r.umax = kU32Max;
    r.s32min = dst.s32min >> k;
    r.s32max = dst.s32max >> k;
    sync_bounds(r);
    zext32(r);
    return r;
  }
  if (insn_off == 1 && (op == kAluDiv || op == kAluMod)) {
    Reg r = make_unknown_scalar();
    zext32(r);
    return r;
  }
  return truncate32(range_alu(op, low_half(dst), low_half(src), insn_off));
}

// ------------------------------------------------------------------------ branches
namespace {

using isa::kJmpJeq, isa::kJmpJne, isa::kJmpJgt, isa::kJmpJge, isa::kJmpJlt, isa::kJmpJle,
    isa::kJmpJsgt, isa::kJmpJsge, isa::kJmpJslt, isa::kJmpJsle, isa::kJmpJset;

// The bounds of one width as plain 64-bit numbers.
struct Ranges {
  uint64_t umin, umax;
  int64_t smin, smax;
  Tnum bits;
};

Ranges view(const Reg& r, bool is64) {
  if (is64) return {r.umin, r.umax, r.smin, r.smax, r.var_off};
  return {r.u32min, r.u32max, r.s32min, r.s32max, tnum_cast(r.var_off, 4)};
}

void store(Reg& r, const Ranges& v, bool is64) {
  if (is64) {
    r.umin = v.umin;
    r.umax = v.umax;
    r.smin = v.smin;
    r.smax = v.smax;
    r.var_off = v.bits;
  } else {
    r.u32min = static_cast<uint32_t>(v.umin);
    r.u32max = static_cast<uint32_t>(v.umax);
    r.s32min = static_cast<int32_t>(v.smin);
    r.s32max = static_cast<int32_t>(v.smax);
    Tnum low = v.bits;
    r.var_off = Tnum{(r.var_off.value & ~0xffffffffull) | low.value,
                     (r.var_off.mask & ~0xffffffffull) | low.mask};
  }
  // An impossible refinement leaves min > max; bounds_valid() reports it.
  if (v.umin > v.umax || v.smin > v.smax) {
    r.umin = 1;
    r.umax = 0;
  } else if (bounds_valid(r)) {
    sync_bounds(r);
  }
}

uint8_t negate(uint8_t op) {
  switch (op) {
    case kJmpJeq: return kJmpJne;
    case kJmpJne: return kJmpJeq;
    case kJmpJgt: return kJmpJle;
    case kJmpJle: return kJmpJgt;
    case kJmpJge: return kJmpJlt;
    case kJmpJlt: return kJmpJge;
    case kJmpJsgt: return kJmpJsle;
    case kJmpJsle: return kJmpJsgt;
    case kJmpJsge: return kJmpJslt;
    case kJmpJslt: return kJmpJsge;
  }
  return op;
}

}  // namespace

int scalar_branch_taken(uint8_t op, const Reg& dst, const Reg& src, bool is64) {
  const Ranges a = view(dst, is64), b = view(src, is64);
  switch (op) {
    case kJmpJeq:
    case kJmpJne: {
      int equal = -1;
      if (a.bits.is_const() && b.bits.is_const()) equal = a.bits.value == b.bits.value;
      else if (a.umin > b.umax || a.umax < b.umin || a.smin > b.smax || a.smax < b.smin)
        equal = 0;
      else if ((a.bits.value ^ b.bits.value) & ~a.bits.mask & ~b.bits.mask)
        equal = 0;
      if (equal < 0) return -1;
      return op == kJmpJeq ? equal : !equal;
    }
    case kJmpJgt: return a.umin > b.umax ? 1 : a.umax <= b.umin ? 0 : -1;
    case kJmpJge: return a.umin >= b.umax ? 1 : a.umax < b.umin ? 0 : -1;
    case kJmpJlt: return a.umax < b.umin ? 1 : a.umin >= b.umax ? 0 : -1;
    case kJmpJle: return a.umax <= b.umin ? 1 : a.umin > b.umax ? 0 : -1;
    case kJmpJsgt: return a.smin > b.smax ? 1 : a.smax <= b.smin ? 0 : -1;
    case kJmpJsge: return a.smin >= b.smax ? 1 : a.smax < b.smin ? 0 : -1;
    case kJmpJslt: return a.smax < b.smin ? 1 : a.smin >= b.smax ? 0 : -1;
    case kJmpJsle: return a.smax <= b.smin ? 1 : a.smin > b.smax ? 0 : -1;
    case kJmpJset:
      if (a.bits.value & b.bits.value) return 1;
      if (!((a.bits.value | a.bits.mask) & (b.bits.value | b.bits.mask))) return 0;
      return -1;
  }
  return -1;
}

void scalar_refine(uint8_t op, Reg& dst, Reg& src, bool is64, bool taken) {
  if (op == kJmpJset) {
    // Only "no bit of the constant is set" teaches something: those bits are zero.
    if (!taken && src.var_off.is_const()) {
      Ranges a = view(dst, is64);
      a.bits = tnum_and(a.bits, tnum_const(is64 ? ~src.var_off.value
                                                : ~src.var_off.value & 0xffffffffull));
      store(dst, a, is64);
    }
    return;
  }
  if (!taken) op = negate(op);
  Ranges a = view(dst, is64), b = view(src, is64);
  const uint64_t u_limit = is64 ? kU64Max : kU32Max;
  const int64_t s_low = is64 ? kS64Min : kS32Min, s_high = is64 ? kS64Max : kS32Max;
  // x > y: raise x's floor past y's floor, lower y's ceiling under x's ceiling.
  auto ugt = [&](Ranges& x, Ranges& y, bool strict) {
    if (strict && (y.umin == u_limit || x.umax == 0)) {
      x.umin = 1, x.umax = 0;
      return;
    }
    x.umin = std::max(x.umin, strict ? y.umin + 1 : y.umin);
    y.umax = std::min(y.umax, strict ? x.umax - 1 : x.umax);
  };
  auto sgt = [&](Ranges& x, Ranges& y, bool strict) {
    if (strict && (y.smin == s_high || x.smax == s_low)) {
      x.smin = 1, x.smax = 0;
      return;
    }
    x.smin = std::max(x.smin, strict ? y.smin + 1 : y.smin);
    y.smax = std::min(y.smax, strict ? x.smax - 1 : x.smax);
  };
  switch (op) {
    case kJmpJeq: {
      Ranges m{std::max(a.umin, b.umin), std::min(a.umax, b.umax), std::max(a.smin, b.smin),
               std::min(a.smax, b.smax), tnum_intersect(a.bits, b.bits)};
      a = m;
      b = m;
      break;
    }
    case kJmpJne:
      for (auto [x, y] : {std::pair<Ranges*, Ranges*>{&a, &b}, {&b, &a}}) {
        if (!y->bits.is_const()) continue;
        const uint64_t c = y->bits.value;
        const int64_t sc = is64 ? static_cast<int64_t>(c)
                                : static_cast<int64_t>(static_cast<int32_t>(c));
        if (x->umin == c && x->umin < x->umax) x->umin++;
        else if (x->umax == c && x->umin < x->umax) x->umax--;
        else if (x->umin == c && x->umax == c) x->umin = 1, x->umax = 0;
        if (x->smin == sc && x->smin < x->smax) x->smin++;
        else if (x->smax == sc && x->smin < x->smax) x->smax--;
      }
      break;
    case kJmpJgt: ugt(a, b, true); break;
    case kJmpJge: ugt(a, b, false); break;
    case kJmpJlt: ugt(b, a, true); break;
    case kJmpJle: ugt(b, a, false); break;
    case kJmpJsgt: sgt(a, b, true); break;
    case kJmpJsge: sgt(a, b, false); break;
    case kJmpJslt: sgt(b, a, true); break;
    case kJmpJsle: sgt(b, a, false); break;
  }
  store(dst, a, is64);
  store(src, b, is64);
}

}  // namespace hourglass::verifier
