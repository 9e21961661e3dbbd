// The interpreter: one switch on the opcode byte of pre-decoded slots (image.h), registers and
// call frames in locals, every stack frame inside one array on the host stack (no allocation per
// run or per instruction).
//
// Semantics follow RFC 9669 (including cpu v4) and, where the RFC leaves room, the kernel:
// division by zero gives 0, modulo by zero leaves the dividend (zero-extended for 32 bits), signed
// INT_MIN / -1 gives INT_MIN and INT_MIN % -1 gives 0, shift amounts are masked, 32-bit results are
// zero-extended. Memory is accessed unchecked (the verifier proves accesses before a program gets
// here; unverified streams are trusted by whoever runs them), but control flow never leaves the
// image: targets were checked when it was prepared, the call depth is bounded, and falling off
// the end stops the run with an error.
#include <bit>
#include <cstring>
#include <optional>
#include <string>

#include "common/run_context.h"
#include "vm/image.h"
#include "vm/jit_x86.h"

static_assert(std::endian::native == std::endian::little, "the interpreter assumes a little-endian host");

namespace hourglass::vm {

namespace {

// Set by a failing nested run (see set_pending_abort); read by the enclosing interpreter after
// each helper call. Thread-local: only this thread's runs see it.
thread_local std::optional<Error> tls_pending_abort;

// Plain BPF loads and stores. Map values are shared between threads, and programs routinely
// read with a plain load what another CPU updates with an atomic add (the kernel's JITs emit one
// machine access for both): an aligned access is therefore a relaxed atomic, which costs the same
// single mov and keeps such programs free of C++ data races (and of ThreadSanitizer reports).
// Misaligned accesses, which have no atomicity in BPF either, are copied bytewise.
template <class T>
T load(uint64_t address) {
  if ((address & (sizeof(T) - 1)) == 0) [[likely]]
    return __atomic_load_n(reinterpret_cast<const T*>(address), __ATOMIC_RELAXED);
  T value;
  std::memcpy(&value, reinterpret_cast<const void*>(address), sizeof(T));
  return value;
}

template <class T>
void store(uint64_t address, T value) {
  if ((address & (sizeof(T) - 1)) == 0) [[likely]] {
    __atomic_store_n(reinterpret_cast<T*>(address), value, __ATOMIC_RELAXED);
    return;
  }
  std::memcpy(reinterpret_cast<void*>(address), &value, sizeof(T));
}

// The atomic read-modify-write instructions. Values are shared with other threads running the
// same program (and with the application through maps), hence real atomic operations; sequential
// consistency matches the kernel's fully ordered atomics.
template <class T>
void atomic_op(const Slot& slot, uint64_t* reg) {
  T* target = reinterpret_cast<T*>(reg[slot.dst] + static_cast<uint64_t>(slot.off));
  const T operand = static_cast<T>(reg[slot.src]);
  T old;
  switch (slot.imm & ~isa::kAtomicFetch) {
    case isa::kAluAdd: old = __atomic_fetch_add(target, operand, __ATOMIC_SEQ_CST); break;
    case isa::kAluOr: old = __atomic_fetch_or(target, operand, __ATOMIC_SEQ_CST); break;
    case isa::kAluAnd: old = __atomic_fetch_and(target, operand, __ATOMIC_SEQ_CST); break;
    case isa::kAluXor: old = __atomic_fetch_xor(target, operand, __ATOMIC_SEQ_CST); break;
    case isa::kAtomicXchg & ~isa::kAtomicFetch:
      old = __atomic_exchange_n(target, operand, __ATOMIC_SEQ_CST);
      break;
    default: {  // cmpxchg: compares with R0, always loads the old value into R0
      T expected = static_cast<T>(reg[0]);
      __atomic_compare_exchange_n(target, &expected, operand, false, __ATOMIC_SEQ_CST,
                                  __ATOMIC_SEQ_CST);
      reg[0] = expected;
      return;
    }
  }
  if (slot.imm & isa::kAtomicFetch) reg[slot.src] = old;  // zero-extended for 32 bits
}

uint64_t udiv(uint64_t a, uint64_t b) { return b == 0 ? 0 : a / b; }
uint64_t umod(uint64_t a, uint64_t b) { return b == 0 ? a : a % b; }
int64_t sdiv(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return static_cast<int64_t>(0 - static_cast<uint64_t>(a));  // INT_MIN / -1 wraps
  return a / b;
}
int64_t smod(int64_t a, int64_t b) {
  if (b == 0) return a;
  if (b == -1) return 0;
  return a % b;
}

uint64_t div64(const Slot& s, uint64_t a, uint64_t b) {
  if (s.off == 1) return static_cast<uint64_t>(sdiv(static_cast<int64_t>(a), static_cast<int64_t>(b)));
  return udiv(a, b);
}
uint64_t mod64(const Slot& s, uint64_t a, uint64_t b) {
  if (s.off == 1) return static_cast<uint64_t>(smod(static_cast<int64_t>(a), static_cast<int64_t>(b)));
  return umod(a, b);
}
uint32_t div32(const Slot& s, uint32_t a, uint32_t b) {
  if (s.off == 1)
    return static_cast<uint32_t>(sdiv(static_cast<int32_t>(a), static_cast<int32_t>(b)));
  return static_cast<uint32_t>(udiv(a, b));
}
uint32_t mod32(const Slot& s, uint32_t a, uint32_t b) {
  if (s.off == 1)
    return static_cast<uint32_t>(smod(static_cast<int32_t>(a), static_cast<int32_t>(b)));
  return static_cast<uint32_t>(umod(a, b));
}

uint64_t sign_extend(uint64_t value, int64_t bits) {
  switch (bits) {
    case 8: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(value)));
    case 16: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(value)));
    default: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(value)));
  }
}

uint64_t swap_bytes(uint64_t value, int32_t width) {
  switch (width) {
    case 16: return __builtin_bswap16(static_cast<uint16_t>(value));
    case 32: return __builtin_bswap32(static_cast<uint32_t>(value));
    default: return __builtin_bswap64(value);
  }
}

uint64_t truncate(uint64_t value, int32_t width) {
  switch (width) {
    case 16: return static_cast<uint16_t>(value);
    case 32: return static_cast<uint32_t>(value);
    default: return value;
  }
}

Error run_error(uint32_t pc, const std::string& what) {
  return make_error(EFAULT, "instruction " + std::to_string(pc) + ": " + what);
}

// Bounds host-stack use when callbacks nest (bpf_loop calling a callback calling bpf_loop ...).
constexpr int kMaxNestedRuns = 16;
thread_local int tls_nested_runs = 0;

struct NestedRun {
  NestedRun() { ++tls_nested_runs; }
  ~NestedRun() { --tls_nested_runs; }
};

struct Frame {
  const Program::Impl* image;  // image to return into (tail calls may switch images)
  uint32_t return_pc;
  uint64_t callee_saved[4];    // R6-R9 of the caller
  uint64_t frame_pointer;      // caller's R10
};

// Programs entered by tail calls during one run: each is held (try_acquire) until the run ends,
// so that replacing a prog_array slot cannot free code that is still executing.
struct TailCallHolds {
  ProgramRef* held[isa::kMaxTailCalls] = {};
  uint32_t count = 0;
  ~TailCallHolds() {
    for (uint32_t i = 0; i < count; ++i) held[i]->release();
  }
};

}  // namespace

void set_pending_abort(Error error) {
  tls_pending_abort = std::move(error);
  jit_note_pending_abort();
}

std::optional<Error> take_pending_abort() {
  std::optional<Error> error = std::move(tls_pending_abort);
  tls_pending_abort.reset();
  return error;
}

namespace {
// A function the verifier found may read stack bytes it never wrote starts with a zeroed frame
// (ImageInput::zeroed_frames): the bytes would otherwise be whatever this host stack held.
// Out of line: inlined into the dispatch loop's call cases, it changed the loop's register
// allocation and slowed every program (an insertion sort by 40%).
[[gnu::noinline]] void zero_frame_if_needed(const Program::Impl& image, uint32_t entry_pc,
                                            uint64_t fp) {
  if (image.frame_zero_bytes.empty()) [[likely]] return;
  if (const uint16_t bytes = image.frame_zero_bytes[entry_pc])
    std::memset(reinterpret_cast<void*>(fp - bytes), 0, bytes);
}
}  // namespace

Result<uint64_t> interpret(const Program::Impl& entry_image, uint32_t entry_pc,
                           const uint64_t args[5]) {
  if (tls_nested_runs >= kMaxNestedRuns)
    return make_error(ELOOP, "runs nested more than " + std::to_string(kMaxNestedRuns) + " deep");
  NestedRun nested;
  alignas(16) uint8_t stack[isa::kMaxCallFrames * isa::kStackSize];
  Frame frames[isa::kMaxCallFrames];
  int depth = 0;  // frames[0 .. depth-1] are the callers of the running function
  TailCallHolds tail_calls;
  RunContext* run = current_run();

  uint64_t reg[11] = {0, args[0], args[1], args[2], args[3], args[4], 0, 0, 0, 0, 0};
  const uint64_t stack_top = reinterpret_cast<uint64_t>(stack) + sizeof(stack);
  reg[10] = stack_top;
  const Program::Impl* image = &entry_image;
  const Slot* code = image->code.data();
  uint32_t pc = entry_pc;
  zero_frame_if_needed(*image, pc, reg[10]);

  for (;;) {
    const Slot& s = code[pc++];
    uint64_t& dst = reg[s.dst];
    const uint64_t src = reg[s.src];
    const uint64_t imm = static_cast<uint64_t>(static_cast<int64_t>(s.imm));  // sign-extended
    const uint32_t dst32 = static_cast<uint32_t>(dst);
    const uint32_t src32 = static_cast<uint32_t>(src);
    const uint32_t imm32 = static_cast<uint32_t>(s.imm);
#define STORE_ADDRESS (dst + static_cast<uint64_t>(s.off))
#define LOAD_ADDRESS (src + static_cast<uint64_t>(s.off))

    switch (s.opcode) {
      // ---- ALU64 ----
      case 0x07: dst += imm; break;
      case 0x0f: dst += src; break;
      case 0x17: dst -= imm; break;
      case 0x1f: dst -= src; break;
      case 0x27: dst *= imm; break;
      case 0x2f: dst *= src; break;
      case 0x37: dst = div64(s, dst, imm); break;
      case 0x3f: dst = div64(s, dst, src); break;
      case 0x47: dst |= imm; break;
      case 0x4f: dst |= src; break;
      case 0x57: dst &= imm; break;
      case 0x5f: dst &= src; break;
      case 0x67: dst <<= (imm & 63); break;
      case 0x6f: dst <<= (src & 63); break;
      case 0x77: dst >>= (imm & 63); break;
      case 0x7f: dst >>= (src & 63); break;
      case 0x87: dst = 0 - dst; break;
      case 0x97: dst = mod64(s, dst, imm); break;
      case 0x9f: dst = mod64(s, dst, src); break;
      case 0xa7: dst ^= imm; break;
      case 0xaf: dst ^= src; break;
      case 0xb7: dst = imm; break;
      case 0xbf: dst = src; break;
      case kOpMovsx64: dst = sign_extend(src, s.off); break;
      case 0xc7: dst = static_cast<uint64_t>(static_cast<int64_t>(dst) >> (imm & 63)); break;
      case 0xcf: dst = static_cast<uint64_t>(static_cast<int64_t>(dst) >> (src & 63)); break;
      case 0xd7: dst = swap_bytes(dst, s.imm); break;

      // ---- ALU32: every result zero-extended ----
      case 0x04: dst = dst32 + imm32; break;
      case 0x0c: dst = dst32 + src32; break;
      case 0x14: dst = dst32 - imm32; break;
      case 0x1c: dst = dst32 - src32; break;
      case 0x24: dst = dst32 * imm32; break;
      case 0x2c: dst = dst32 * src32; break;
      case 0x34: dst = div32(s, dst32, imm32); break;
      case 0x3c: dst = div32(s, dst32, src32); break;
      case 0x44: dst = dst32 | imm32; break;
      case 0x4c: dst = dst32 | src32; break;
      case 0x54: dst = dst32 & imm32; break;
      case 0x5c: dst = dst32 & src32; break;
      case 0x64: dst = static_cast<uint32_t>(dst32 << (imm32 & 31)); break;
      case 0x6c: dst = static_cast<uint32_t>(dst32 << (src32 & 31)); break;
      case 0x74: dst = dst32 >> (imm32 & 31); break;
      case 0x7c: dst = dst32 >> (src32 & 31); break;
      case 0x84: dst = static_cast<uint32_t>(0 - dst32); break;
      case 0x94: dst = mod32(s, dst32, imm32); break;
      case 0x9c: dst = mod32(s, dst32, src32); break;
      case 0xa4: dst = dst32 ^ imm32; break;
      case 0xac: dst = dst32 ^ src32; break;
      case 0xb4: dst = imm32; break;
      case 0xbc: dst = src32; break;
      case kOpMovsx32: dst = static_cast<uint32_t>(sign_extend(src, s.off)); break;
      case 0xc4: dst = static_cast<uint32_t>(static_cast<int32_t>(dst32) >> (imm32 & 31)); break;
      case 0xcc: dst = static_cast<uint32_t>(static_cast<int32_t>(dst32) >> (src32 & 31)); break;
      case 0xd4: dst = truncate(dst, s.imm); break;    // to little endian: the host order
      case 0xdc: dst = swap_bytes(dst, s.imm); break;  // to big endian

      // ---- loads and stores ----
      case 0x18: dst = s.value; ++pc; break;  // ld_imm64 (relocated): skip the second slot
      case 0x61: dst = load<uint32_t>(LOAD_ADDRESS); break;
      case 0x69: dst = load<uint16_t>(LOAD_ADDRESS); break;
      case 0x71: dst = load<uint8_t>(LOAD_ADDRESS); break;
      case 0x79: dst = load<uint64_t>(LOAD_ADDRESS); break;
      case 0x81: dst = sign_extend(load<uint32_t>(LOAD_ADDRESS), 32); break;
      case 0x89: dst = sign_extend(load<uint16_t>(LOAD_ADDRESS), 16); break;
      case 0x91: dst = sign_extend(load<uint8_t>(LOAD_ADDRESS), 8); break;
      case 0x62: store<uint32_t>(STORE_ADDRESS, imm32); break;
      case 0x6a: store<uint16_t>(STORE_ADDRESS, static_cast<uint16_t>(imm32)); break;
      case 0x72: store<uint8_t>(STORE_ADDRESS, static_cast<uint8_t>(imm32)); break;
      case 0x7a: store<uint64_t>(STORE_ADDRESS, imm); break;
      case 0x63: store<uint32_t>(STORE_ADDRESS, src32); break;
      case 0x6b: store<uint16_t>(STORE_ADDRESS, static_cast<uint16_t>(src)); break;
      case 0x73: store<uint8_t>(STORE_ADDRESS, static_cast<uint8_t>(src)); break;
      case 0x7b: store<uint64_t>(STORE_ADDRESS, src); break;
      case 0xc3: atomic_op<uint32_t>(s, reg); break;
      case 0xdb: atomic_op<uint64_t>(s, reg); break;

      // ---- JMP (64-bit compares) ----
      case 0x05: pc += s.off; break;
      case 0x15: if (dst == imm) pc += s.off; break;
      case 0x1d: if (dst == src) pc += s.off; break;
      case 0x25: if (dst > imm) pc += s.off; break;
      case 0x2d: if (dst > src) pc += s.off; break;
      case 0x35: if (dst >= imm) pc += s.off; break;
      case 0x3d: if (dst >= src) pc += s.off; break;
      case 0x45: if (dst & imm) pc += s.off; break;
      case 0x4d: if (dst & src) pc += s.off; break;
      case 0x55: if (dst != imm) pc += s.off; break;
      case 0x5d: if (dst != src) pc += s.off; break;
      case 0x65: if (static_cast<int64_t>(dst) > static_cast<int64_t>(imm)) pc += s.off; break;
      case 0x6d: if (static_cast<int64_t>(dst) > static_cast<int64_t>(src)) pc += s.off; break;
      case 0x75: if (static_cast<int64_t>(dst) >= static_cast<int64_t>(imm)) pc += s.off; break;
      case 0x7d: if (static_cast<int64_t>(dst) >= static_cast<int64_t>(src)) pc += s.off; break;
      case 0xa5: if (dst < imm) pc += s.off; break;
      case 0xad: if (dst < src) pc += s.off; break;
      case 0xb5: if (dst <= imm) pc += s.off; break;
      case 0xbd: if (dst <= src) pc += s.off; break;
      case 0xc5: if (static_cast<int64_t>(dst) < static_cast<int64_t>(imm)) pc += s.off; break;
      case 0xcd: if (static_cast<int64_t>(dst) < static_cast<int64_t>(src)) pc += s.off; break;
      case 0xd5: if (static_cast<int64_t>(dst) <= static_cast<int64_t>(imm)) pc += s.off; break;
      case 0xdd: if (static_cast<int64_t>(dst) <= static_cast<int64_t>(src)) pc += s.off; break;

      // ---- JMP32 (32-bit compares) ----
      case 0x06: pc += s.imm; break;  // gotol
      case 0x16: if (dst32 == imm32) pc += s.off; break;
      case 0x1e: if (dst32 == src32) pc += s.off; break;
      case 0x26: if (dst32 > imm32) pc += s.off; break;
      case 0x2e: if (dst32 > src32) pc += s.off; break;
      case 0x36: if (dst32 >= imm32) pc += s.off; break;
      case 0x3e: if (dst32 >= src32) pc += s.off; break;
      case 0x46: if (dst32 & imm32) pc += s.off; break;
      case 0x4e: if (dst32 & src32) pc += s.off; break;
      case 0x56: if (dst32 != imm32) pc += s.off; break;
      case 0x5e: if (dst32 != src32) pc += s.off; break;
      case 0x66: if (static_cast<int32_t>(dst32) > s.imm) pc += s.off; break;
      case 0x6e: if (static_cast<int32_t>(dst32) > static_cast<int32_t>(src32)) pc += s.off; break;
      case 0x76: if (static_cast<int32_t>(dst32) >= s.imm) pc += s.off; break;
      case 0x7e: if (static_cast<int32_t>(dst32) >= static_cast<int32_t>(src32)) pc += s.off; break;
      case 0xa6: if (dst32 < imm32) pc += s.off; break;
      case 0xae: if (dst32 < src32) pc += s.off; break;
      case 0xb6: if (dst32 <= imm32) pc += s.off; break;
      case 0xbe: if (dst32 <= src32) pc += s.off; break;
      case 0xc6: if (static_cast<int32_t>(dst32) < s.imm) pc += s.off; break;
      case 0xce: if (static_cast<int32_t>(dst32) < static_cast<int32_t>(src32)) pc += s.off; break;
      case 0xd6: if (static_cast<int32_t>(dst32) <= s.imm) pc += s.off; break;
      case 0xde: if (static_cast<int32_t>(dst32) <= static_cast<int32_t>(src32)) pc += s.off; break;

      // ---- calls ----
      case isa::kOpCall: {  // helper or kfunc, through the C ABI; R1-R5 are dead afterwards
        auto fn = reinterpret_cast<helpers::HelperFn>(s.value);
        reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
        if (tls_pending_abort) [[unlikely]] {
          Error error = std::move(*tls_pending_abort);
          tls_pending_abort.reset();
          return error;
        }
        break;
      }
      case isa::kOpCallx: {
        // The register holds either a function reference of this image (ld_imm64
        // BPF_PSEUDO_FUNC) or a helper id (what the conformance suite's callx passes).
        const uint64_t target = reg[s.dst];
        if (const CallbackTarget* callback = image->find_callback(target)) {
          if (depth + 1 >= isa::kMaxCallFrames)
            return run_error(pc - 1, "call stack deeper than " + std::to_string(isa::kMaxCallFrames) + " frames");
          frames[depth] = {image, pc, {reg[6], reg[7], reg[8], reg[9]}, reg[10]};
          ++depth;
          reg[10] = stack_top - static_cast<uint64_t>(depth) * isa::kStackSize;
          pc = callback->entry_insn;
          zero_frame_if_needed(*image, pc, reg[10]);
          break;
        }
        helpers::HelperFn fn = nullptr;
        if (target <= INT32_MAX && image->resolve_helper)
          fn = image->resolve_helper(static_cast<int32_t>(target));
        if (!fn) return run_error(pc - 1, "callx to unknown target " + std::to_string(target));
        reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
        if (tls_pending_abort) [[unlikely]] {
          Error error = std::move(*tls_pending_abort);
          tls_pending_abort.reset();
          return error;
        }
        break;
      }
      case kOpLocalCall:
        if (depth + 1 >= isa::kMaxCallFrames)
          return run_error(pc - 1, "call stack deeper than " + std::to_string(isa::kMaxCallFrames) + " frames");
        frames[depth] = {image, pc, {reg[6], reg[7], reg[8], reg[9]}, reg[10]};
        ++depth;
        reg[10] = stack_top - static_cast<uint64_t>(depth) * isa::kStackSize;
        pc = static_cast<uint32_t>(s.value);
        zero_frame_if_needed(*image, pc, reg[10]);
        break;
      case kOpTailCall: {
        // As the kernel: an index out of range, the 33-call limit or an empty slot fall through
        // to the next instruction; the count grows before the slot is read.
        auto* map = reinterpret_cast<maps::Map*>(reg[2]);
        uint32_t index = static_cast<uint32_t>(reg[3]);
        if (!image->uses_map(map) || map->type() != maps::MapType::ProgArray) break;
        if (index >= map->attr().max_entries) break;
        if (run->tail_call_count >= static_cast<uint32_t>(isa::kMaxTailCalls)) break;
        ++run->tail_call_count;
        auto* ref = static_cast<ProgramRef*>(map->lookup(&index));
        if (!ref || !ref->try_acquire()) break;
        // prog_array slots only ever hold vm::Program (see vm.h).
        auto* target = static_cast<Program*>(ref);
        tail_calls.held[tail_calls.count++] = ref;
        image = target->image();
        code = image->code.data();
        run->program = target;
        reg[10] = stack_top - static_cast<uint64_t>(depth) * isa::kStackSize;  // fresh frame
        pc = 0;
        zero_frame_if_needed(*image, pc, reg[10]);
        break;
      }
      case isa::kOpExit:
        if (depth == 0) return reg[0];
        --depth;
        if (image != frames[depth].image) {
          image = frames[depth].image;
          code = image->code.data();
          run->program = image->self;
        }
        pc = frames[depth].return_pc;
        reg[6] = frames[depth].callee_saved[0];
        reg[7] = frames[depth].callee_saved[1];
        reg[8] = frames[depth].callee_saved[2];
        reg[9] = frames[depth].callee_saved[3];
        reg[10] = frames[depth].frame_pointer;
        break;
      case kOpFellOff:
        return run_error(pc - 1, "fell off the end of the program");
      default:
        return run_error(pc - 1, "unexpected opcode " + std::to_string(s.opcode));
    }
  }
#undef STORE_ADDRESS
#undef LOAD_ADDRESS
}

}  // namespace hourglass::vm
