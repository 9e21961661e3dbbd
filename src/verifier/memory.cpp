// Memory safety: every load and store (and every memory argument of a helper) is checked against
// the region its pointer register names: stack (bounds, initialised bytes, spilled registers),
// map values (value_size, hidden bpf_timer / bpf_wq / bpf_spin_lock bytes, read-only maps), map
// keys in callbacks, the context (one small access table per program type) and packets (only the
// range proven by a comparison with data_end).
#include <algorithm>
#include <fmt/format.h>

#include "verifier/internal.h"

namespace hourglass::verifier {

using helpers::ProgType;
using isa::kStackSize;

namespace {

// ------------------------------------------------------------------ stack bytes
StackSlot& slot_for(Frame& frame, int32_t byte_off) {
  const size_t index = static_cast<size_t>((-byte_off - 1) / 8);
  if (frame.stack.size() <= index) frame.stack.resize(index + 1);
  return frame.stack[index];
}

int byte_in_slot(int32_t byte_off) { return byte_off + ((-byte_off - 1) / 8 + 1) * 8; }

SlotByte byte_kind(const Frame& frame, int32_t byte_off) {
  const size_t index = static_cast<size_t>((-byte_off - 1) / 8);
  if (index >= frame.stack.size()) return SlotByte::Invalid;
  return frame.stack[index].bytes[byte_in_slot(byte_off)];
}

// Turns a spilled register back into plain bytes (a partial overwrite keeps the rest readable).
// The bytes of a spilled pointer become readable numbers: `exposes` records that.
// They become Misc even for a spilled 0: Zero bytes would make the spilled value's range matter
// without precision tracking seeing it (as the kernel, which turns them into STACK_MISC).
void destroy_spill(StackSlot& slot, bool& exposes) {
  if (!slot.spill_size) return;
  if (slot.spilled.is_pointer()) exposes = true;
  for (int j = slot.spill_start; j < slot.spill_start + slot.spill_size; ++j)
    slot.bytes[j] = SlotByte::Misc;
  slot.spill_size = 0;
  slot.spilled = Reg{};
}

void write_bytes(Frame& frame, int32_t off, int size, SlotByte kind, bool& exposes) {
  for (int32_t b = off; b < off + size; ++b) {
    StackSlot& slot = slot_for(frame, b);
    destroy_spill(slot, exposes);
    slot.bytes[byte_in_slot(b)] = kind;
  }
}

void sign_extend_loaded(Reg& reg, int size) {
  const unsigned bits = static_cast<unsigned>(size) * 8;
  if (reg.is_const()) {
    const uint64_t v = reg.const_value();
    const int64_t extended = static_cast<int64_t>(v << (64 - bits)) >> (64 - bits);
    reg = make_const_scalar(static_cast<uint64_t>(extended));
    return;
  }
  reg = make_unknown_scalar();
  reg.smin = -(int64_t{1} << (bits - 1));
  reg.smax = (int64_t{1} << (bits - 1)) - 1;
  sync_bounds(reg);
}

// ------------------------------------------------------------------ context tables
struct CtxField {
  int32_t off;
  int32_t size;
  RegType result;  // Scalar or a packet pointer kind
  bool writable;
};

// struct __sk_buff (UAPI): the fields tc programs may touch.
constexpr CtxField kSkbFields[] = {
    {0, 4, RegType::Scalar, false},    {4, 4, RegType::Scalar, false},     // len, pkt_type
    {8, 4, RegType::Scalar, true},     {12, 4, RegType::Scalar, true},     // mark, queue_mapping
    {16, 4, RegType::Scalar, false},   {20, 4, RegType::Scalar, false},    // protocol, vlan_present
    {24, 4, RegType::Scalar, false},   {28, 4, RegType::Scalar, false},    // vlan_tci, vlan_proto
    {32, 4, RegType::Scalar, true},    {36, 4, RegType::Scalar, false},    // priority, ingress_ifindex
    {40, 4, RegType::Scalar, false},   {44, 4, RegType::Scalar, true},     // ifindex, tc_index
    {48, 4, RegType::Scalar, true},    {52, 4, RegType::Scalar, true},     // cb[0..1]
    {56, 4, RegType::Scalar, true},    {60, 4, RegType::Scalar, true},     // cb[2..3]
    {64, 4, RegType::Scalar, true},    {68, 4, RegType::Scalar, false},    // cb[4], hash
    {72, 4, RegType::Scalar, true},    {76, 4, RegType::Packet, false},    // tc_classid, data
    {80, 4, RegType::PacketEnd, false}, {84, 4, RegType::Scalar, false},   // data_end, napi_id
    {88, 4, RegType::Scalar, false},   {92, 4, RegType::Scalar, false},    // family, remote_ip4
    {96, 4, RegType::Scalar, false},   {100, 16, RegType::Scalar, false},  // local_ip4, remote_ip6
    {116, 16, RegType::Scalar, false}, {132, 4, RegType::Scalar, false},   // local_ip6, remote_port
    {136, 4, RegType::Scalar, false},  {140, 4, RegType::PacketMeta, false},  // local_port, meta
    {152, 8, RegType::Scalar, true},   {160, 4, RegType::Scalar, false},   // tstamp, wire_len
    {164, 4, RegType::Scalar, false},  {176, 4, RegType::Scalar, false},   // gso_segs, gso_size
    {180, 1, RegType::Scalar, false},  {184, 8, RegType::Scalar, false},   // tstamp_type, hwtstamp
};

// struct xdp_md: u32 fields, only whole-field reads. egress_ifindex (off 20) is readable in the
// kernel only by BPF_XDP_DEVMAP programs, which Hourglass does not run: refused, as the kernel
// refuses it for plain XDP programs.
constexpr CtxField kXdpFields[] = {
    {0, 4, RegType::Packet, false},  {4, 4, RegType::PacketEnd, false},
    {8, 4, RegType::PacketMeta, false}, {12, 4, RegType::Scalar, false},
    {16, 4, RegType::Scalar, false},
};

bool skb_access(ProgType type, int32_t off, int size, bool write, RegType* result) {
  const bool filter = type == ProgType::SocketFilter;
  for (const CtxField& f : kSkbFields) {
    if (off < f.off || off + size > f.off + f.size) continue;
    if (f.result != RegType::Scalar) {
      if (filter || write || off != f.off || size != f.size) return false;
    } else if (write) {
      if (!f.writable || (filter && (off < 48 || off >= 68))) return false;
      if (off != f.off || size != f.size) return false;
    }
    *result = f.result;
    return true;
  }
  return false;
}

// Returns false if the access is not allowed; *result is what a load yields.
bool ctx_access(ProgType type, int32_t off, int size, bool write, RegType* result) {
  *result = RegType::Scalar;
  if (off < 0 || off % size != 0) return false;
  switch (type) {
    case ProgType::Xdp:
      for (const CtxField& f : kXdpFields)
        if (off == f.off && size == 4 && !write) {
          *result = f.result;
          return true;
        }
      return false;
    case ProgType::SchedCls:
    case ProgType::SchedAct:
    case ProgType::SocketFilter:
      return skb_access(type, off, size, write, result);
    case ProgType::Kprobe: return !write && off + size <= 168;            // struct pt_regs
    case ProgType::PerfEvent: return !write && off + size <= 184;         // bpf_perf_event_data
    case ProgType::Tracepoint: return !write && off >= 8 && off + size <= 2048;
    case ProgType::RawTracepoint:
    case ProgType::Tracing: return !write && off + size <= 12 * 8;       // u64 args[12]
    case ProgType::Syscall: return off + size <= 65535;                  // the caller's buffer
    case ProgType::Unspec: return false;
  }
  return false;
}

const char* field_name(int kind) {
  return kind == 0 ? "bpf_timer" : kind == 1 ? "bpf_wq" : "bpf_spin_lock";
}

}  // namespace

void Env::touch_stack(State& st, int frame_index, int32_t lowest_off) {
  Subprog& sp = subprogs[st.frames[static_cast<size_t>(frame_index)].subprog];
  sp.stack_depth = std::max(sp.stack_depth, static_cast<uint32_t>(-lowest_off));
}

// Never-written stack is readable, as the kernel lets a privileged (CAP_PERFMON) loader read it
// (env->allow_uninit_stack): the bytes read as an unknown number and stay Invalid. The frame's
// owner is flagged so the vm zeroes that frame at entry (SubprogInfo::reads_uninit_stack): the
// frame is the host's stack, whose stale bytes must neither leak into the program nor make the
// interpreter and the JIT disagree. The read's frame, not the reader's: a callee or callback may
// read its caller's frame through a pointer, and only the owner's entry precedes every such read.
void Env::note_uninit_stack_read(const State& st, int frame_index) {
  subprogs[st.frames[static_cast<size_t>(frame_index)].subprog].reads_uninit_stack = true;
}

// ------------------------------------------------------------------ loads and stores
bool Env::check_mem_access(State& st, uint32_t pc, int regno, int32_t off, int size, bool write,
                           const Reg* value, int value_regno, Reg* loaded, bool sign_extend) {
  const Reg ptr = st.cur().regs[regno];
  const bool value_is_ptr = value && value->is_pointer();
  if (ptr.maybe_null)
    return fail(pc, EACCES, fmt::format("R{} invalid mem access '{}'", regno,
                                        reg_type_name(ptr.type, true)));
  Reg result = make_unknown_scalar();
  mark_unknown_width(result, static_cast<unsigned>(size));
  switch (ptr.type) {
    case RegType::Stack: {
      Frame& frame = st.frames[static_cast<size_t>(ptr.frameno)];
      if (!ptr.var_off.is_const()) {
        // Variable offset: every byte it may touch must be inside the frame; a write turns every
        // byte it may touch into unknown data, a read of never-written bytes flags the frame.
        if (ptr.smin <= -(1 << 29) || ptr.smax >= (1 << 29))
          return fail(pc, EACCES, fmt::format("invalid unbounded variable-offset {} stack R{}",
                                              write ? "write to" : "read from", regno));
        const int32_t lo = ptr.off + off + static_cast<int32_t>(ptr.smin);
        const int32_t hi = ptr.off + off + static_cast<int32_t>(ptr.smax) + size;
        if (lo < -kStackSize || hi > 0)
          return fail(pc, EACCES,
                      fmt::format("invalid variable-offset {} stack R{} var_off={} off={} size={}",
                                  write ? "write to" : "read from", regno, tnum_str(ptr.var_off),
                                  off, size));
        touch_stack(st, ptr.frameno, lo);
        // The bytes every possible offset writes: [highest start, lowest start + size).
        const int32_t surely_lo = hi - size, surely_hi = lo + size;
        for (int32_t b = lo; b < hi; ++b) {
          if (write) {
            StackSlot& slot = slot_for(frame, b);
            // As the kernel, a byte the store may miss becomes Misc all the same: a later read
            // of it may see a never-written byte.
            if (slot.bytes[byte_in_slot(b)] == SlotByte::Invalid && (b < surely_lo || b >= surely_hi))
              note_uninit_stack_read(st, ptr.frameno);
            destroy_spill(slot, exposes_addresses);
            const bool zero = value && value->is_const() && value->const_value() == 0;
            if (zero && value_regno >= 0 && slot.bytes[byte_in_slot(b)] == SlotByte::Zero)
              mark_precise(st, value_regno);  // Zero bytes stay Zero only for exactly 0
            if (slot.bytes[byte_in_slot(b)] != SlotByte::Zero || !zero)
              slot.bytes[byte_in_slot(b)] = SlotByte::Misc;
          } else if (byte_kind(frame, b) == SlotByte::Spill &&
                     slot_for(frame, b).spilled.is_pointer()) {
            exposes_addresses = true;  // the bytes of a spilled pointer read as a number
          } else if (byte_kind(frame, b) == SlotByte::Invalid) {
            note_uninit_stack_read(st, ptr.frameno);
          }
        }
        break;
      }
      const int32_t total = ptr.off + static_cast<int32_t>(ptr.var_off.value) + off;
      if (total < -kStackSize || total + size > 0)
        return fail(pc, EACCES, fmt::format("invalid {} stack R{} off={} size={}",
                                            write ? "write to" : "read from", regno, total, size));
      if (total % size != 0)
        return fail(pc, EACCES, fmt::format("misaligned stack access off {}+{}+{} size {}",
                                            tnum_str(ptr.var_off), ptr.off, off, size));
      touch_stack(st, ptr.frameno, total);
      StackSlot& slot = slot_for(frame, total);
      const int first = byte_in_slot(total);
      // What precision backtracking needs to know about this access (precision.cpp).
      step_stack.stack_frame = static_cast<uint8_t>(ptr.frameno);
      step_stack.stack_slot = static_cast<uint8_t>((-total - 1) / 8);
      if (write) {
        const bool spillable = value && (size == 8 || (size == 4 && !value_is_ptr));
        step_stack.stack_use = spillable ? StackUse::Spill : StackUse::Bytes;
        if (spillable) {
          bool old_pointer = false;  // only a narrower spill leaves some of its bytes behind
          destroy_spill(slot, old_pointer);
          if (old_pointer && size < 8) exposes_addresses = true;
          for (int j = 0; j < 8; ++j)
            if (j < first || j >= first + size) {
              if (slot.bytes[j] == SlotByte::Spill) slot.bytes[j] = SlotByte::Misc;
            }
          for (int j = first; j < first + size; ++j) slot.bytes[j] = SlotByte::Spill;
          slot.spilled = *value;
          if (size == 4) {
            zext32(slot.spilled);
          }
          slot.spill_start = static_cast<uint8_t>(first);
          slot.spill_size = static_cast<uint8_t>(size);
        } else {
          const bool zero = value && value->is_const() &&
                            (value->const_value() & (size == 8 ? kU64Max
                                                               : (1ull << (size * 8)) - 1)) == 0;
          // Zero bytes read back as the constant 0: the stored value must have been exactly that.
          if (zero && value_regno >= 0) mark_precise(st, value_regno);
          write_bytes(frame, total, size, zero ? SlotByte::Zero : SlotByte::Misc, exposes_addresses);
        }
        return true;
      }
      bool all_zero = true;
      for (int32_t b = total; b < total + size; ++b) {
        const SlotByte kind = byte_kind(frame, b);
        if (kind == SlotByte::Invalid) note_uninit_stack_read(st, ptr.frameno);
        all_zero = all_zero && kind == SlotByte::Zero;
      }
      if (slot.spill_size && slot.spill_start == first && slot.spill_size == size) {
        result = slot.spilled;
        step_stack.stack_use = StackUse::Fill;
      } else if (slot.spill_size && slot.spilled.is_pointer() && first < slot.spill_start + 8 &&
                 first + size > slot.spill_start) {
        return fail(pc, EACCES, "invalid size of register fill");
      } else if (all_zero) {
        result = make_const_scalar(0);
      }
      break;
    }
    case RegType::MapValue: {
      const MapDesc& desc = map(ptr.map);
      const maps::MapAttr& attr = desc.attr;
      if (write && (attr.map_flags & maps::kFlagRdonlyProg))
        return fail(pc, EACCES, fmt::format("write into map forbidden, value_size={} off={} size={}",
                                            attr.value_size, ptr.off + off, size));
      if (!ptr.var_off.is_const()) {
        if (ptr.smin < 0)
          return fail(pc, EACCES,
                      fmt::format("R{} min value is negative, either use unsigned index or do a "
                                  "if (index >=0) check.",
                                  regno));
        if (ptr.umax >= (1u << 29))
          return fail(pc, EACCES,
                      fmt::format("R{} unbounded memory access, make sure to bounds check any "
                                  "such access",
                                  regno));
      }
      const int64_t lo = static_cast<int64_t>(ptr.off) + off + ptr.smin;
      const int64_t hi = static_cast<int64_t>(ptr.off) + off + static_cast<int64_t>(ptr.umax) + size;
      if (ptr.var_off.is_const()) {
        if (lo < 0 || hi > attr.value_size)
          return fail(pc, EACCES,
                      fmt::format("invalid access to map value, value_size={} off={} size={}",
                                  attr.value_size, lo, size));
      } else if (lo < 0) {
        return fail(pc, EACCES, fmt::format("R{} min value is outside of the allowed memory range",
                                            regno));
      } else if (hi > attr.value_size) {
        return fail(pc, EACCES, fmt::format("R{} max value is outside of the allowed memory range",
                                            regno));
      }
      const int32_t fields[3][2] = {{attr.record.timer_off, 16},
                                    {attr.record.wq_off, 16},
                                    {attr.record.spin_lock_off, 4}};
      for (int kind = 0; kind < 3; ++kind) {
        const int32_t f_off = fields[kind][0], f_size = fields[kind][1];
        if (f_off >= 0 && lo < f_off + f_size && hi > f_off)
          return fail(pc, EACCES, fmt::format("{} cannot be accessed directly by load/store",
                                              field_name(kind)));
      }
      if (write && value_is_ptr)
        return fail(pc, EACCES, fmt::format("R{} leaks addr into map", value_regno));
      break;
    }
    case RegType::MapKey: {
      const uint32_t key_size = map(ptr.map).attr.key_size;
      const int64_t lo = static_cast<int64_t>(ptr.off) + off + ptr.smin;
      const int64_t hi = static_cast<int64_t>(ptr.off) + off + static_cast<int64_t>(ptr.umax) + size;
      if (write) return fail(pc, EACCES, fmt::format("R{} cannot write into map_key", regno));
      if (lo < 0 || hi > key_size)
        return fail(pc, EACCES, fmt::format("invalid access to map key, key_size={} off={} size={}",
                                            key_size, lo, size));
      break;
    }
    case RegType::Ctx: {
      if (ptr.off != 0 || !ptr.var_off.is_const() || ptr.var_off.value != 0)
        return fail(pc, EACCES, fmt::format("dereference of modified ctx ptr R{} off={} disallowed",
                                            regno, ptr.off));
      RegType kind = RegType::Scalar;
      if (!ctx_access(in.type, off, size, write, &kind))
        return fail(pc, EACCES, fmt::format("invalid bpf_context access off={} size={}", off, size));
      if (write && value_is_ptr)
        return fail(pc, EACCES, fmt::format("R{} leaks addr into ctx", value_regno));
      if (kind != RegType::Scalar) {
        result = make_pointer(kind);  // packet pointers share group id 0 until offset by a variable
      }
      break;
    }
    case RegType::Packet:
    case RegType::PacketMeta: {
      if (write && in.type == ProgType::SocketFilter)
        return fail(pc, EACCES, "cannot write into packet");
      if (ptr.smin < 0 || ptr.umax >= (1u << 16))
        return fail(pc, EACCES,
                    fmt::format("R{} unbounded memory access, make sure to bounds check any such "
                                "access",
                                regno));
      // The range is proven for the pointer group (same id, same variable part), so only the
      // constant offsets count here.
      const int64_t lo = static_cast<int64_t>(ptr.off) + off;
      const int64_t hi = lo + size;
      if (lo < 0 || hi > ptr.range)
        return fail(pc, EACCES,
                    fmt::format("invalid access to packet, off={} size={}, R{}(id={},off={},r={})",
                                lo, size, regno, ptr.id, ptr.off, ptr.range));
      if (write && value_is_ptr)
        return fail(pc, EACCES, fmt::format("R{} leaks addr into packet", value_regno));
      break;
    }
    case RegType::NotInit:
      return fail(pc, EACCES, fmt::format("R{} !read_ok", regno));
    default:
      return fail(pc, EACCES, fmt::format("R{} invalid mem access '{}'", regno,
                                          reg_type_name(ptr.type, false)));
  }
  if (!write && loaded) {
    if (sign_extend && result.type == RegType::Scalar) sign_extend_loaded(result, size);
    *loaded = result;
  }
  return true;
}

// ------------------------------------------------------------------ helper memory arguments
bool Env::check_helper_mem(State& st, uint32_t pc, int regno, uint64_t size, bool write,
                           bool zero_ok) {
  const Reg& reg = st.cur().regs[regno];
  if (size == 0 && zero_ok) return true;
  if (reg.type == RegType::Scalar && zero_ok && reg.is_const() && reg.const_value() == 0) {
    mark_precise(st, regno);
    return true;
  }
  if (size > (1u << 29))
    return fail(pc, EACCES, fmt::format("R{} unbounded memory access", regno + 1));
  const int32_t len = static_cast<int32_t>(size);
  switch (reg.type) {
    case RegType::Stack: {
      if (reg.maybe_null) break;
      Frame& frame = st.frames[static_cast<size_t>(reg.frameno)];
      if (reg.smin <= -(1 << 29) || reg.smax >= (1 << 29))
        return fail(pc, EACCES, fmt::format("R{} unbounded indirect variable offset stack access",
                                            regno));
      const int64_t lo = static_cast<int64_t>(reg.off) + reg.smin;
      const int64_t hi = static_cast<int64_t>(reg.off) + reg.smax + len;
      if (lo < -kStackSize || hi > 0)
        return fail(pc, EACCES, fmt::format("invalid indirect access to stack R{} off={} size={}",
                                            regno, lo, len));
      touch_stack(st, reg.frameno, static_cast<int32_t>(lo));
      // A helper writing through a memory argument fills every byte of it (the kernel's helpers
      // zero the buffer where they fail), so the bytes it surely writes count as written: with a
      // variable offset, [highest start, lowest start + size).
      const int64_t surely_lo = hi - len, surely_hi = lo + len;
      for (int64_t b = lo; b < hi; ++b) {
        const int32_t byte = static_cast<int32_t>(b);
        if (write) {
          StackSlot& slot = slot_for(frame, byte);
          if (slot.bytes[byte_in_slot(byte)] == SlotByte::Invalid &&
              (b < surely_lo || b >= surely_hi))
            note_uninit_stack_read(st, reg.frameno);
          destroy_spill(slot, exposes_addresses);
          slot.bytes[byte_in_slot(byte)] = SlotByte::Misc;
        } else if (byte_kind(frame, byte) == SlotByte::Invalid) {
          note_uninit_stack_read(st, reg.frameno);  // the helper reads them as they are
        } else if (byte_kind(frame, byte) == SlotByte::Spill &&
                   slot_for(frame, byte).spilled.is_pointer()) {
          // The helper would copy a host address into a map or the trace output: refused as
          // pointers stored into maps are (the kernel refuses it to unprivileged loaders only,
          // in these words; docs/compatibility.md).
          return fail(pc, EACCES,
                      fmt::format("invalid indirect read from stack R{} off {}+{} size {}", regno,
                                  lo, b - lo, len));
        }
      }
      return true;
    }
    case RegType::MapValue:
    case RegType::MapKey:
    case RegType::Packet:
    case RegType::PacketMeta: {
      if (reg.maybe_null) break;
      // Same rules as a load/store of `size` bytes at the lowest offset, checked through a
      // temporary register whose variable part spans the access.
      State scratch = st;
      Reg& probe = scratch.cur().regs[regno];
      if (len == 0) return true;
      // Loads are limited to 8 bytes; walk the region in 1-byte steps at its ends instead.
      Reg value = make_unknown_scalar();
      if (!check_mem_access(scratch, pc, regno, 0, 1, write && reg.type != RegType::MapKey,
                            &value, -1, nullptr, false))
        return false;
      probe.off += len - 1;
      if (!check_mem_access(scratch, pc, regno, 0, 1, write && reg.type != RegType::MapKey,
                            &value, -1, nullptr, false))
        return false;
      // Hidden fields in the middle of the range.
      if (reg.type == RegType::MapValue) {
        const maps::MapAttr& attr = map(reg.map).attr;
        const int64_t lo = reg.off + reg.smin, hi = reg.off + static_cast<int64_t>(reg.umax) + len;
        const int32_t fields[3][2] = {{attr.record.timer_off, 16},
                                      {attr.record.wq_off, 16},
                                      {attr.record.spin_lock_off, 4}};
        for (int kind = 0; kind < 3; ++kind)
          if (fields[kind][0] >= 0 && lo < fields[kind][0] + fields[kind][1] &&
              hi > fields[kind][0])
            return fail(pc, EACCES, fmt::format("{} cannot be accessed directly by load/store",
                                                field_name(kind)));
      }
      return true;
    }
    default:
      break;
  }
  return fail(pc, EACCES,
              fmt::format("R{} type={} expected=fp, pkt, pkt_meta, map_key, map_value", regno,
                          reg_type_name(reg.type, reg.maybe_null)));
}

}  // namespace hourglass::verifier
