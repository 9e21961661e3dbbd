// The x86-64 JIT's code emitter: one pass over the prepared slots (image.h), Xbyak for encoding.
// The register mapping and frame layout are described in jit_x86.h. Semantics are the
// interpreter's (interpreter.cpp), instruction for instruction; where x86 differs from BPF the
// emitted code closes the gap: division and modulo by zero and INT_MIN / -1 are tested before
// div/idiv (which would trap), variable shifts go through cl (which masks like BPF), 32-bit
// cmpxchg zero-extends rax afterwards (x86 leaves it alone on success).
//
// Code is generated into a heap buffer, then copied into fresh pages mapped read+write and
// switched to read+execute before the first run: never writable and executable at once. All
// jumps inside the code are relative, so the copy needs no relocation.
#if defined(__x86_64__)
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <optional>
#endif

#include "vm/jit_x86.h"
#include "vm/jit_x86_inline.h"

namespace hourglass::vm {

JitCode::~JitCode() {
#if defined(__x86_64__)
  if (memory) munmap(memory, mapped_size);
#endif
}

#if !defined(__x86_64__)

std::unique_ptr<JitCode> jit_compile(const Program::Impl&) { return nullptr; }

#else

namespace {

using Xbyak::Label;
using Xbyak::Reg32;
using Xbyak::Reg64;
using namespace Xbyak::util;

constexpr size_t kBytesPerSlot = 160;  // generous upper bound of one slot's translation
constexpr size_t kFixedBytes = 4096;   // trampoline, error exits

// Out-of-line code for a run-stopping condition at one instruction.
struct ErrorStub {
  Label label;
  uint32_t pc;
  JitError kind;
};

class Emitter : public Xbyak::CodeGenerator {
 public:
  Emitter(const Program::Impl& image, uint8_t* buffer, size_t size)
      : Xbyak::CodeGenerator(size, buffer), image_(image), code_(image.code) {}

  // Emits everything; false if some slot has no translation (or the buffer overflowed).
  bool emit_all(std::vector<size_t>& entry_offsets, size_t& trampoline_offset) {
    mark_function_entries();
    mark_jump_targets();
    choose_saved_registers();
    insn_labels_.resize(code_.size());
    function_labels_.resize(code_.size());
    trampoline_offset = getSize();
    emit_trampoline();
    for (uint32_t pc = 0; pc < code_.size(); ++pc) {
      if (is_entry_[pc]) emit_prologue(pc);
      L(insn_labels_[pc]);
      if (const uint32_t fused = emit_fused(pc); fused != 0) {
        for (uint32_t covered = 1; covered < fused; ++covered) L(insn_labels_[pc + covered]);
        pc += fused - 1;
        continue;
      }
      if (!emit_slot(pc)) return false;
      if (code_[pc].opcode == 0x18) {  // ld_imm64: the second slot has no code of its own
        ++pc;
        L(insn_labels_[pc]);
      }
    }
    emit_abort_stub();
    emit_error_stubs();
    if (Xbyak::GetError() != 0) return false;
    entry_offsets.assign(code_.size(), SIZE_MAX);
    for (uint32_t pc = 0; pc < code_.size(); ++pc)
      if (is_entry_[pc])
        entry_offsets[pc] = static_cast<size_t>(function_labels_[pc].getAddress() - getCode());
    return true;
  }

 private:
  static Reg64 reg(uint8_t bpf_reg) {
    static const Reg64 kMap[11] = {Xbyak::util::rax, Xbyak::util::rdi, Xbyak::util::rsi,
                                   Xbyak::util::rdx, Xbyak::util::rcx, Xbyak::util::r8,
                                   Xbyak::util::rbx, Xbyak::util::r13, Xbyak::util::r14,
                                   Xbyak::util::r15, Xbyak::util::rbp};
    return kMap[bpf_reg];
  }

  static int state_offset(size_t offset) { return static_cast<int>(offset); }
#define STATE(field) (r12 + state_offset(offsetof(JitRunState, field)))

  // Instructions some jump, call or callback lands on (function entries included): the fused
  // patterns never swallow one of them.
  void mark_jump_targets() {
    is_target_ = is_entry_;
    for (uint32_t pc = 0; pc < code_.size(); ++pc) {
      const Slot& s = code_[pc];
      if (s.opcode == isa::kOpLdImm64) {
        ++pc;
        continue;
      }
      int64_t to = unconditional_target(pc, s);
      if (to < 0 && is_conditional(s)) to = int64_t{pc} + 1 + s.off;
      if (to >= 0 && to < static_cast<int64_t>(code_.size())) is_target_[static_cast<size_t>(to)] = true;
    }
  }

  void mark_function_entries() {
    is_entry_.assign(code_.size(), false);
    is_entry_[0] = true;
    for (const Slot& slot : code_) {
      if (slot.opcode == kOpLocalCall) is_entry_[slot.value] = true;
      if (slot.opcode == kOpTailCall) has_tail_calls_ = true;
    }
    for (const CallbackTarget& target : image_.callbacks) is_entry_[target.entry_insn] = true;
  }

  // trampoline(state = rdi, args = rsi, entry = rdx): saves the host's callee-saved registers,
  // loads R1-R5 and calls the entry function. The error exit unwinds to `trampoline_return_`.
  void emit_trampoline() {
    push(rbp);
    push(rbx);
    push(r12);
    push(r13);
    push(r14);
    push(r15);
    sub(rsp, 8);  // 16-byte alignment at the call below
    mov(r12, rdi);
    mov(qword[STATE(saved_rsp)], rsp);
    mov(r11, rdx);
    mov(rdi, qword[rsi]);
    mov(rdx, qword[rsi + 16]);
    mov(rcx, qword[rsi + 24]);
    mov(r8, qword[rsi + 32]);
    mov(rsi, qword[rsi + 8]);
    xor_(eax, eax);
    call(r11);
    L(trampoline_return_);
    add(rsp, 8);
    pop(r15);
    pop(r14);
    pop(r13);
    pop(r12);
    pop(rbx);
    pop(rbp);
    ret();
    L(error_exit_);
    mov(rsp, qword[STATE(saved_rsp)]);
    xor_(eax, eax);
    jmp(trampoline_return_, T_NEAR);
  }

  // A function's prologue sits before its first instruction's label: straight-line code falling
  // into it (never in verified programs) jumps over it, as the interpreter would just continue.
  void emit_prologue(uint32_t pc) {
    jmp(insn_labels_[pc], T_NEAR);
    L(function_labels_[pc]);
    push(rbp);
    for (const Reg64& saved : saved_registers_) push(saved);
    sub(rsp, isa::kStackSize);
    lea(rbp, ptr[rsp + isa::kStackSize]);
    // A function that may read stack bytes it never wrote gets them as zeros, not as whatever
    // this native stack held (ImageInput::zeroed_frames).
    const uint32_t zeroed = image_.frame_zero_bytes.empty() ? 0 : image_.frame_zero_bytes[pc];
    for (uint32_t offset = 8; offset <= zeroed; offset += 8) mov(qword[rbp - offset], 0);
  }

  void emit_function_return() {
    mov(rsp, rbp);
    for (auto saved = saved_registers_.rbegin(); saved != saved_registers_.rend(); ++saved)
      pop(*saved);
    pop(rbp);
  }

  // The host registers of R6-R9 that some instruction of the image names (as destination or
  // source): only those are saved by each function, the others keep the caller's values anyway.
  // One set for the whole image, so that every function's epilogue matches every prologue (an
  // unverified stream may jump from one function's body into another's). The count is kept
  // even, so that with rbp and the return address rsp stays 16-byte aligned at helper calls.
  void choose_saved_registers() {
    bool named[4] = {};
    for (const Slot& slot : code_)
      for (uint8_t bpf_reg : {slot.dst, slot.src})
        if (bpf_reg >= 6 && bpf_reg <= 9) named[bpf_reg - 6] = true;
    for (uint8_t i = 0; i < 4; ++i)
      if (named[i]) saved_registers_.push_back(reg(static_cast<uint8_t>(6 + i)));
    if (saved_registers_.size() % 2 != 0) {
      for (uint8_t i = 0; i < 4; ++i)
        if (!named[i]) {
          saved_registers_.push_back(reg(static_cast<uint8_t>(6 + i)));
          break;
        }
    }
  }

  Label& error_stub(uint32_t pc, JitError kind) {
    stubs_.push_back(std::make_unique<ErrorStub>());
    stubs_.back()->pc = pc;
    stubs_.back()->kind = kind;
    return stubs_.back()->label;
  }

  void emit_error_stubs() {
    for (auto& stub : stubs_) {
      L(stub->label);
      mov(dword[STATE(error_kind)], static_cast<uint32_t>(stub->kind));
      mov(dword[STATE(error_pc)], stub->pc);
      jmp(error_exit_, T_NEAR);
    }
  }

  Label& target(uint32_t pc, int64_t offset) {
    return insn_labels_[static_cast<uint32_t>(static_cast<int64_t>(pc) + 1 + offset)];
  }

  bool emit_slot(uint32_t pc) {
    const Slot& s = code_[pc];
    if (s.dst > 10 || s.src > 10) return false;
    const uint8_t op = s.opcode;
    if (op == kOpMovsx64 || op == kOpMovsx32) return emit_movsx(s), true;
    if (op == kOpLocalCall) return emit_local_call(pc, s), true;
    if (op == kOpTailCall) return emit_tail_call(), true;
    if (op == kOpFellOff) return jmp(error_stub(pc, kJitFellOff), T_NEAR), true;
    if (op == isa::kOpCall)
      return emit_helper_call(reinterpret_cast<const void*>(s.value)), true;
    if (op == isa::kOpCallx) return emit_callx(pc, s), true;
    if (op == isa::kOpExit) return emit_function_return(), ret(), true;
    if (op == 0x18) return mov(reg(s.dst), s.value), true;
    switch (op & 0x07) {
      case 0x07:
        return emit_alu(s, true);
      case 0x04:
        return emit_alu(s, false);
      case 0x05:
      case 0x06:
        return emit_jump(pc, s);
      default:
        return emit_memory(s);
    }
  }

  // ---- ALU ----

  // A BPF register as a 64-bit or a 32-bit x86 operand. 32-bit x86 ALU instructions write the
  // low half and zero the upper one, which is exactly BPF's ALU32 rule: no extra zero-extension
  // is emitted after them.
  static Xbyak::Reg sized(const Reg64& full, bool wide) {
    return wide ? Xbyak::Reg(full) : Xbyak::Reg(full.cvt32());
  }

  // ALU64 (wide) and ALU32, register or immediate source. Immediates are sign-extended to 64
  // bits by x86 as BPF requires (mov of a 32-bit immediate zero-extends, as ALU32 mov must).
  bool emit_alu(const Slot& s, bool wide) {
    const Xbyak::Reg dst = sized(reg(s.dst), wide), src = sized(reg(s.src), wide);
    const bool use_src = (s.opcode & isa::kSrcX) != 0;
    const int32_t imm = s.imm;
    switch (s.opcode & 0xf0) {
      case isa::kAluAdd: return use_src ? add(dst, src) : add(dst, imm), true;
      case isa::kAluSub: return use_src ? sub(dst, src) : sub(dst, imm), true;
      case isa::kAluMul: return use_src ? imul(dst, src) : imul(dst, dst, imm), true;
      case isa::kAluOr: return use_src ? or_(dst, src) : or_(dst, imm), true;
      case isa::kAluAnd: return use_src ? and_(dst, src) : and_(dst, imm), true;
      case isa::kAluXor: return use_src ? xor_(dst, src) : xor_(dst, imm), true;
      case isa::kAluNeg: return neg(dst), true;
      case isa::kAluMov:
        if (use_src) return mov(dst, src), true;
        return mov(dst, wide ? static_cast<uint64_t>(static_cast<int64_t>(imm))
                             : static_cast<uint64_t>(static_cast<uint32_t>(imm))),
               true;
      case isa::kAluDiv:
      case isa::kAluMod: return emit_divmod(s, wide), true;
      case isa::kAluLsh:
      case isa::kAluRsh:
      case isa::kAluArsh: return emit_shift(s, wide), true;
      case isa::kAluEnd:
        // ALU64 end (0xd7) always swaps; ALU32 0xdc converts to big endian (a swap here), 0xd4
        // to little endian (only a truncation). There is no ALU64 end from a register.
        if (wide && use_src) return false;
        return emit_bswap(reg(s.dst), imm, wide || use_src);
      default:
        return false;
    }
  }

  bool emit_bswap(const Reg64& dst, int32_t width, bool swap) {
    switch (width) {
      case 16:
        if (swap) rol(dst.cvt16(), 8);
        movzx(dst.cvt32(), dst.cvt16());
        return true;
      case 32:
        if (swap)
          bswap(dst.cvt32());
        else
          mov(dst.cvt32(), dst.cvt32());
        return true;
      case 64:
        if (swap) bswap(dst);
        return true;
      default:
        return false;
    }
  }

  void emit_movsx(const Slot& s) {
    const Reg64 dst = reg(s.dst), src = reg(s.src);
    if (s.opcode == kOpMovsx64) {
      if (s.off == 8)
        movsx(dst, src.cvt8());
      else if (s.off == 16)
        movsx(dst, src.cvt16());
      else
        movsxd(dst, src.cvt32());
    } else {
      if (s.off == 8)
        movsx(dst.cvt32(), src.cvt8());
      else
        movsx(dst.cvt32(), src.cvt16());
    }
  }

  // Shifts by a register go through cl, which x86 masks to 5 or 6 bits exactly as BPF does.
  void emit_shift(const Slot& s, bool wide) {
    const uint32_t operation = s.opcode & 0xf0;
    auto shift = [&](const Xbyak::Operand& target, const Xbyak::Reg8& count) {
      if (operation == 0x60)
        shl(target, count);
      else if (operation == 0x70)
        shr(target, count);
      else
        sar(target, count);
    };
    auto shift_imm = [&](const Xbyak::Operand& target, int amount) {
      if (operation == 0x60)
        shl(target, amount);
      else if (operation == 0x70)
        shr(target, amount);
      else
        sar(target, amount);
    };
    const Reg64 dst = reg(s.dst);
    const Xbyak::Reg& dst_sized = wide ? static_cast<const Xbyak::Reg&>(dst) : dst.cvt32();
    if (!(s.opcode & 0x08)) {
      shift_imm(dst_sized, s.imm & (wide ? 63 : 31));
      return;
    }
    const Reg64 src = reg(s.src);
    if (src == rcx) {  // a 32-bit shift zero-extends its destination by itself
      shift(dst_sized, cl);
      return;
    }
    mov(r10, rcx);  // BPF r4 lives in rcx
    mov(rcx, src);
    if (dst == rcx) {
      shift(wide ? static_cast<const Xbyak::Reg&>(r10) : r10d, cl);
      mov(rcx, r10);
    } else {
      shift(dst_sized, cl);
      mov(rcx, r10);
    }
  }

  // div/mod: rax and rdx (BPF r0 and r3) are saved in r9/r10, the divisor sits in r11.
  void emit_divmod(const Slot& s, bool wide) {
    const bool is_mod = (s.opcode & 0xf0) == 0x90;
    const bool is_signed = s.off == 1;
    const Reg64 dst = reg(s.dst);
    if (s.opcode & 0x08)
      mov(r11, reg(s.src));
    else
      mov(r11, static_cast<int64_t>(s.imm));
    const Xbyak::Reg& divisor = wide ? static_cast<const Xbyak::Reg&>(r11) : r11d;
    const Xbyak::Reg& accumulator = wide ? static_cast<const Xbyak::Reg&>(rax) : eax;
    mov(r9, rax);
    mov(r10, rdx);
    if (wide)
      mov(rax, dst);
    else
      mov(eax, dst.cvt32());
    Label by_zero, by_minus_one, done;
    test(divisor, divisor);
    jz(by_zero, T_NEAR);
    if (is_signed) {
      cmp(divisor, -1);
      je(by_minus_one, T_NEAR);
      if (wide)
        cqo();
      else
        cdq();
      idiv(divisor);
    } else {
      xor_(edx, edx);
      div(divisor);
    }
    if (is_mod) mov(rax, rdx);  // remainder; 32-bit div wrote edx, so upper bits are zero
    jmp(done, T_NEAR);
    L(by_minus_one);  // INT_MIN / -1 wraps, INT_MIN % -1 is 0: neg/zero for every dividend
    if (is_mod)
      xor_(eax, eax);
    else
      neg(accumulator);
    jmp(done, T_NEAR);
    L(by_zero);  // x / 0 = 0, x % 0 = x (rax already holds the zero-extended dividend)
    if (!is_mod) xor_(eax, eax);
    L(done);
    if (!wide) mov(eax, eax);
    mov(r11, rax);
    mov(rax, r9);
    mov(rdx, r10);
    mov(dst, r11);
  }

  // ---- jumps ----

  // Jumps to `to` when BPF condition `operation` (opcode & 0xf0) holds, or when it does not.
  // False for an operation that is no condition.
  bool jump_if(uint32_t operation, bool negated, Label& to) {
    switch (operation) {
      case isa::kJmpJeq: return negated ? jne(to, T_NEAR) : je(to, T_NEAR), true;
      case isa::kJmpJne: return negated ? je(to, T_NEAR) : jne(to, T_NEAR), true;
      case isa::kJmpJset: return negated ? jz(to, T_NEAR) : jnz(to, T_NEAR), true;
      case isa::kJmpJgt: return negated ? jbe(to, T_NEAR) : ja(to, T_NEAR), true;
      case isa::kJmpJge: return negated ? jb(to, T_NEAR) : jae(to, T_NEAR), true;
      case isa::kJmpJlt: return negated ? jae(to, T_NEAR) : jb(to, T_NEAR), true;
      case isa::kJmpJle: return negated ? ja(to, T_NEAR) : jbe(to, T_NEAR), true;
      case isa::kJmpJsgt: return negated ? jle(to, T_NEAR) : jg(to, T_NEAR), true;
      case isa::kJmpJsge: return negated ? jl(to, T_NEAR) : jge(to, T_NEAR), true;
      case isa::kJmpJslt: return negated ? jge(to, T_NEAR) : jl(to, T_NEAR), true;
      case isa::kJmpJsle: return negated ? jg(to, T_NEAR) : jle(to, T_NEAR), true;
      default: return false;
    }
  }

  static bool is_conditional(const Slot& s) {
    const uint8_t jump_class = s.opcode & 0x07;
    const uint8_t operation = s.opcode & 0xf0;
    if (jump_class != isa::kClassJmp && jump_class != isa::kClassJmp32) return false;
    return (operation >= isa::kJmpJeq && operation <= isa::kJmpJsge) ||
           (operation >= isa::kJmpJlt && operation <= isa::kJmpJsle);
  }

  // Unconditional jump (ja, or gotol with its 32-bit offset): its target pc, or -1.
  int64_t unconditional_target(uint32_t pc, const Slot& s) const {
    if (s.opcode == (isa::kClassJmp | isa::kJmpJa)) return int64_t{pc} + 1 + s.off;
    if (s.opcode == (isa::kClassJmp32 | isa::kJmpJa)) return int64_t{pc} + 1 + s.imm;
    return -1;
  }

  // Sets the flags for conditional jump `s`: cmp, or test for jset; 64 or 32 bits by class.
  void emit_compare(const Slot& s) {
    const bool wide = (s.opcode & 0x07) == isa::kClassJmp;
    const Xbyak::Reg dst = sized(reg(s.dst), wide), src = sized(reg(s.src), wide);
    const bool use_src = (s.opcode & isa::kSrcX) != 0;
    if ((s.opcode & 0xf0) == isa::kJmpJset)
      use_src ? test(dst, src) : test(dst, s.imm);
    else
      use_src ? cmp(dst, src) : cmp(dst, s.imm);
  }

  bool emit_jump(uint32_t pc, const Slot& s) {
    if (int64_t to = unconditional_target(pc, s); to >= 0)
      return jmp(insn_labels_[static_cast<uint32_t>(to)], T_NEAR), true;
    if (!is_conditional(s)) return false;
    emit_compare(s);
    return jump_if(s.opcode & 0xf0, false, target(pc, s.off));
  }

  // ---- fused pairs: shapes clang emits all the time, each one x86 instruction fewer ----

  // The slots a fused pattern at `pc` covers (0: none). Only slots no jump lands on are folded
  // into their predecessor, so every label still marks the code of its own instruction.
  uint32_t emit_fused(uint32_t pc) {
    if (pc + 1 >= code_.size() || is_target_[pc + 1]) return 0;
    const Slot& first = code_[pc];
    const Slot& second = code_[pc + 1];
    // "if cond goto +1; goto L" (a loop's back edge): one jump to L on the negated condition.
    if (is_conditional(first) && first.off == 1) {
      const int64_t to = unconditional_target(pc + 1, second);
      if (to < 0) return 0;
      emit_compare(first);
      jump_if(first.opcode & 0xf0, true, insn_labels_[static_cast<uint32_t>(to)]);
      return 2;
    }
    // "rA = rB" then one or two adds into rA, an immediate and/or a register other than rA, in
    // either order (an address on the stack or in a map value, a sum): one lea.
    constexpr uint8_t kMov64Reg = isa::kClassAlu64 | isa::kAluMov | isa::kSrcX;
    constexpr uint8_t kAdd64Imm = isa::kClassAlu64 | isa::kAluAdd | isa::kSrcK;
    constexpr uint8_t kAdd64Reg = isa::kClassAlu64 | isa::kAluAdd | isa::kSrcX;
    if (first.opcode != kMov64Reg) return 0;
    std::optional<int32_t> displacement;
    std::optional<uint8_t> index;
    uint32_t covered = 1;
    for (uint32_t next_pc = pc + 1; next_pc < code_.size() && covered < 3; ++next_pc, ++covered) {
      const Slot& next = code_[next_pc];
      if (is_target_[next_pc] || next.dst != first.dst) break;
      if (next.opcode == kAdd64Imm && !displacement)
        displacement = next.imm;
      else if (next.opcode == kAdd64Reg && !index && next.src != first.dst)
        index = next.src;
      else
        break;
    }
    if (covered == 1) return 0;
    const Reg64 dst = reg(first.dst), base = reg(first.src);
    if (index)
      lea(dst, ptr[base + reg(*index) + displacement.value_or(0)]);
    else
      lea(dst, ptr[base + *displacement]);
    return covered;
  }

  // ---- memory ----

  // Loads zero-extend (32-bit destinations clear the upper half) or sign-extend (cpu v4 ldxs);
  // stores of an immediate store its low bytes (the 64-bit one sign-extends it, as BPF does).
  bool emit_memory(const Slot& s) {
    const Reg64 dst = reg(s.dst), src = reg(s.src);
    const int32_t off = static_cast<int32_t>(s.off);
    const auto load_at = src + off;
    const auto store_at = dst + off;
    switch (s.opcode) {
      case 0x61: return mov(dst.cvt32(), dword[load_at]), true;
      case 0x69: return movzx(dst.cvt32(), word[load_at]), true;
      case 0x71: return movzx(dst.cvt32(), byte[load_at]), true;
      case 0x79: return mov(dst, qword[load_at]), true;
      case 0x81: return movsxd(dst, dword[load_at]), true;
      case 0x89: return movsx(dst, word[load_at]), true;
      case 0x91: return movsx(dst, byte[load_at]), true;
      case 0x62: return mov(dword[store_at], static_cast<uint32_t>(s.imm)), true;
      case 0x6a: return mov(word[store_at], static_cast<uint16_t>(s.imm)), true;
      case 0x72: return mov(byte[store_at], static_cast<uint8_t>(s.imm)), true;
      case 0x7a: return mov(qword[store_at], s.imm), true;
      case 0x63: return mov(dword[store_at], src.cvt32()), true;
      case 0x6b: return mov(word[store_at], src.cvt16()), true;
      case 0x73: return mov(byte[store_at], src.cvt8()), true;
      case 0x7b: return mov(qword[store_at], src), true;
      case 0xc3: return emit_atomic(s, false);
      case 0xdb: return emit_atomic(s, true);
      default: return false;
    }
  }

  // Atomics, fully ordered as in the kernel (every locked x86 instruction is).
  bool emit_atomic(const Slot& s, bool wide) {
    const Reg64 dst = reg(s.dst), src = reg(s.src);
    const int32_t off = static_cast<int32_t>(s.off);
    const auto at = wide ? qword[dst + off] : dword[dst + off];
    const Xbyak::Reg& value = wide ? static_cast<const Xbyak::Reg&>(src) : src.cvt32();
    const int32_t operation = s.imm & ~isa::kAtomicFetch;
    const bool fetch = s.imm & isa::kAtomicFetch;
    if (s.imm == isa::kAtomicXchg) {
      xchg(at, value);
      return true;
    }
    if (s.imm == isa::kAtomicCmpXchg) {
      lock();
      cmpxchg(at, value);
      if (!wide) mov(eax, eax);
      return true;
    }
    if (operation == isa::kAluAdd) {
      lock();
      if (fetch)
        xadd(at, value);
      else
        add(at, value);
      return true;
    }
    if (operation != isa::kAluOr && operation != isa::kAluAnd && operation != isa::kAluXor)
      return false;
    if (!fetch) {
      lock();
      if (operation == isa::kAluOr)
        or_(at, value);
      else if (operation == isa::kAluAnd)
        and_(at, value);
      else
        xor_(at, value);
      return true;
    }
    // Fetching or/and/xor: a cmpxchg loop. r10 = address, r11 = operand, r9 = new value, rax
    // (BPF r0) parked in the run state meanwhile.
    const auto r9_sized = wide ? static_cast<const Xbyak::Reg&>(r9) : r9d;
    const auto r11_sized = wide ? static_cast<const Xbyak::Reg&>(r11) : r11d;
    const auto rax_sized = wide ? static_cast<const Xbyak::Reg&>(rax) : eax;
    const auto at_r10 = wide ? qword[r10] : dword[r10];
    mov(qword[STATE(saved_r0)], rax);
    lea(r10, ptr[dst + off]);
    mov(r11, src);
    Label retry;
    L(retry);
    mov(rax_sized, at_r10);
    mov(r9_sized, rax_sized);
    if (operation == isa::kAluOr)
      or_(r9_sized, r11_sized);
    else if (operation == isa::kAluAnd)
      and_(r9_sized, r11_sized);
    else
      xor_(r9_sized, r11_sized);
    lock();
    cmpxchg(at_r10, r9_sized);
    jne(retry, T_NEAR);
    mov(r11_sized, rax_sized);  // the old value, zero-extended for 32 bits
    mov(rax, qword[STATE(saved_r0)]);
    mov(src, r11);
    return true;
  }

  // ---- calls ----

  void check_abort() {
    cmp(byte[STATE(abort_pending)], 0);
    jne(abort_stub_, T_NEAR);
  }

  // bpf_map_lookup_elem and bpf_loop first try their inline paths (jit_x86_inline.cpp), which
  // jump over the call when they apply.
  void emit_helper_call(const void* fn) {
    Label inline_done;
    const bool inline_lookup = has_inline_map_lookup(fn);
    const bool inline_loop = can_inline_loop(fn, image_, has_tail_calls_);
    if (inline_lookup) emit_inline_map_lookup(*this, inline_done);
    if (inline_loop) emit_inline_loop(*this, image_, function_labels_, abort_stub_, inline_done);
    mov(r11, reinterpret_cast<uint64_t>(fn));
    call(r11);
    check_abort();
    if (inline_lookup || inline_loop) L(inline_done);
  }

  void enter_frame(uint32_t pc) {
    add(dword[STATE(depth)], 1);
    cmp(dword[STATE(depth)], static_cast<uint32_t>(isa::kMaxCallFrames));
    jae(error_stub(pc, kJitDepth), T_NEAR);
  }

  void emit_local_call(uint32_t pc, const Slot& s) {
    enter_frame(pc);
    call(function_labels_[s.value]);
    leave_frame();
  }

  // After a bpf-to-bpf call returns: one frame less, and, if some function of this image
  // tail-calls, the run context names this image's program again (a tail call in the callee
  // switched it to the target, and the code after the call belongs to us, as in the kernel,
  // where helpers see the program whose instruction calls them). Images without tail calls
  // cannot change it, so they skip the store.
  void leave_frame() {
    sub(dword[STATE(depth)], 1);
    if (!has_tail_calls_ || image_.self == nullptr) return;
    mov(r11, qword[STATE(run)]);
    mov(r10, reinterpret_cast<uint64_t>(static_cast<ProgramRef*>(image_.self)));
    mov(qword[r11 + static_cast<int>(offsetof(RunContext, program))], r10);
  }

  void save_call_registers() {
    for (int i = 0; i < 6; ++i) mov(qword[STATE(saved_regs) + 8 * i], reg(static_cast<uint8_t>(i)));
  }
  void restore_call_registers(bool with_r0) {
    for (int i = with_r0 ? 0 : 1; i < 6; ++i)
      mov(reg(static_cast<uint8_t>(i)), qword[STATE(saved_regs) + 8 * i]);
  }

  void emit_callx(uint32_t pc, const Slot& s) {
    save_call_registers();
    mov(r11, reg(s.dst));
    mov(rdi, r12);
    mov(rsi, r11);
    mov(rdx, reinterpret_cast<uint64_t>(&image_));
    mov(rax, reinterpret_cast<uint64_t>(&hg_jit_resolve_callx));
    call(rax);
    mov(r11, rax);
    restore_call_registers(true);
    test(r11, r11);
    jz(error_stub(pc, kJitCallx), T_NEAR);
    Label local, done;
    cmp(byte[STATE(callx_local)], 0);
    jne(local, T_NEAR);
    call(r11);
    check_abort();
    jmp(done, T_NEAR);
    L(local);
    enter_frame(pc);
    call(r11);
    leave_frame();
    L(done);
  }

  // A tail call asks the runtime (jit_x86_runtime.cpp) for the target; a native target replaces
  // the current frame (the callee returns straight to our caller), as in the interpreter.
  void emit_tail_call() {
    save_call_registers();
    mov(rdi, r12);
    // rsi (map) already in place; index is r3 = rdx
    mov(rcx, reinterpret_cast<uint64_t>(&image_));
    mov(rax, reinterpret_cast<uint64_t>(&hg_jit_tail_call));
    call(rax);
    mov(r11d, eax);
    restore_call_registers(true);
    Label jump, result, next;
    cmp(r11d, static_cast<uint32_t>(kTailJump));
    je(jump, T_NEAR);
    cmp(r11d, static_cast<uint32_t>(kTailReturn));
    je(result, T_NEAR);
    cmp(r11d, static_cast<uint32_t>(kTailAbort));
    je(abort_stub_, T_NEAR);
    jmp(next, T_NEAR);
    L(jump);
    mov(r11, qword[STATE(tail_target)]);
    emit_function_return();
    jmp(r11);
    L(result);
    mov(rax, qword[STATE(tail_result)]);
    emit_function_return();
    ret();
    L(next);
  }

  void emit_abort_stub() {
    L(abort_stub_);
    mov(dword[STATE(error_kind)], static_cast<uint32_t>(kJitAbort));
    jmp(error_exit_, T_NEAR);
  }
#undef STATE

  const Program::Impl& image_;
  const std::vector<Slot>& code_;
  std::vector<bool> is_entry_;
  bool has_tail_calls_ = false;  // some slot is a tail call (see leave_frame)
  std::vector<bool> is_target_;   // see mark_jump_targets
  std::vector<Reg64> saved_registers_;  // see choose_saved_registers
  std::vector<Label> insn_labels_;
  std::vector<Label> function_labels_;
  std::vector<std::unique_ptr<ErrorStub> > stubs_;
  Label trampoline_return_, error_exit_, abort_stub_;
};

}  // namespace

std::unique_ptr<JitCode> jit_compile(const Program::Impl& image) {
  size_t calls = 0;  // each may become an inline bpf_loop
  for (const Slot& slot : image.code) calls += slot.opcode == isa::kOpCall ? 1 : 0;
  std::vector<uint8_t> buffer(kFixedBytes + kBytesPerSlot * image.code.size() +
                              inline_loop_bytes(image) * calls);
  Xbyak::ClearError();
  Emitter emitter(image, buffer.data(), buffer.size());
  std::vector<size_t> entry_offsets;
  size_t trampoline_offset = 0;
  if (!emitter.emit_all(entry_offsets, trampoline_offset)) return nullptr;
  const size_t code_size = emitter.getSize();

  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t mapped_size = (code_size + page - 1) / page * page;
  void* memory =
      mmap(nullptr, mapped_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return nullptr;
  auto code = std::make_unique<JitCode>();
  code->memory = static_cast<uint8_t*>(memory);
  code->mapped_size = mapped_size;
  std::memcpy(memory, emitter.getCode(), code_size);
  if (mprotect(memory, mapped_size, PROT_READ | PROT_EXEC) != 0) return nullptr;  // ~JitCode unmaps
  code->trampoline = reinterpret_cast<JitCode::Trampoline>(code->memory + trampoline_offset);
  code->entries.assign(entry_offsets.size(), nullptr);
  for (size_t pc = 0; pc < entry_offsets.size(); ++pc)
    if (entry_offsets[pc] != SIZE_MAX) code->entries[pc] = code->memory + entry_offsets[pc];
  return code;
}

#endif  // __x86_64__

}  // namespace hourglass::vm
