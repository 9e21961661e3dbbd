// Differential fuzzing with a fixed seed: random programs of ALU (64 and 32 bit, every operation
// including signed division, sign-extending moves and byte swaps), loads, stores, atomics and
// forward branches (among them the shapes the JIT fuses) run on the interpreter and on the JIT; r0
// and the memory they worked on must be identical. Branches only jump forward, so every program
// terminates.
#include <gtest/gtest.h>

#include <array>
#include <random>

#include "support.h"
#include "vm/image.h"
#include "vm/jit_x86.h"

namespace hourglass::vm::testing {
namespace {

constexpr size_t kMemorySize =
    64;  // r1 points at it; r1 is never an ALU operand (addresses differ)

class ProgramGenerator {
 public:
  explicit ProgramGenerator(uint64_t seed) : random_(seed) {}

  std::vector<isa::Insn> generate(size_t body_length) {
    std::vector<isa::Insn> program;
    for (uint8_t r : {0, 2, 3, 4, 5, 6, 7, 8, 9})  // every operand register starts defined
      program.push_back(insn(isa::kClassAlu64 | isa::kAluMov, r, 0, 0, random_imm()));
    const size_t body_start = program.size();
    while (program.size() - body_start < body_length)
      emit_random(program, body_start + body_length);
    // Fold every register into r0 so that each one's value is compared.
    for (uint8_t r : {2, 3, 4, 5, 6, 7, 8, 9})
      program.push_back(insn(isa::kClassAlu64 | isa::kAluXor | isa::kSrcX, 0, r));
    program.push_back(insn(isa::kOpExit));
    return program;
  }

 private:
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(random_() % n); }
  uint8_t operand_register() {
    static constexpr std::array<uint8_t, 9> kRegisters = {0, 2, 3, 4, 5, 6, 7, 8, 9};
    return kRegisters[below(kRegisters.size())];
  }
  int32_t random_imm() {
    switch (below(5)) {
      case 0:
        return static_cast<int32_t>(below(8)) - 4;
      case 1:
        return INT32_MIN;
      case 2:
        return -1;
      default:
        return static_cast<int32_t>(random_());
    }
  }

  void emit_random(std::vector<isa::Insn>& program, size_t body_end) {
    const uint32_t kind = below(11);
    if (kind < 6)
      emit_alu(program);
    else if (kind < 8)
      emit_memory(program);
    else if (kind < 9)
      emit_atomic(program);
    else if (kind < 10)
      emit_branch(program, body_end);
    else
      emit_fusable(program, body_end);
  }

  // The shapes the JIT fuses (jit_x86_compiler.cpp, emit_fused): "rA = rB; rA += imm [; rA +=
  // rC]" and "if cond goto +1; goto +k". Random branches elsewhere land inside them now and then,
  // which must keep them apart.
  void emit_fusable(std::vector<isa::Insn>& program, size_t body_end) {
    if (below(2)) {
      const uint8_t dst = operand_register();
      program.push_back(insn(isa::kClassAlu64 | isa::kAluMov | isa::kSrcX, dst, operand_register()));
      program.push_back(insn(isa::kClassAlu64 | isa::kAluAdd, dst, 0, 0, random_imm()));
      if (below(2))
        program.push_back(insn(isa::kClassAlu64 | isa::kAluAdd | isa::kSrcX, dst, operand_register()));
      return;
    }
    emit_branch(program, body_end);
    program.back().off = 1;
    const size_t room = body_end > program.size() + 1 ? body_end - program.size() - 1 : 0;
    const int16_t skip = static_cast<int16_t>(room ? below(static_cast<uint32_t>(room) + 1) : 0);
    program.push_back(insn(isa::kClassJmp | isa::kJmpJa, 0, 0, skip));
  }

  void emit_alu(std::vector<isa::Insn>& program) {
    static constexpr std::array<uint8_t, 13> kOperations = {
        isa::kAluAdd, isa::kAluSub, isa::kAluMul, isa::kAluDiv, isa::kAluOr,
        isa::kAluAnd, isa::kAluLsh, isa::kAluRsh, isa::kAluNeg, isa::kAluMod,
        isa::kAluXor, isa::kAluMov, isa::kAluArsh};
    const bool wide = below(2);
    const uint8_t cls = wide ? isa::kClassAlu64 : isa::kClassAlu;
    const uint8_t dst = operand_register();
    if (below(10) == 0) {  // byte swaps: to-le, to-be, bswap64-class
      static constexpr std::array<int32_t, 3> kWidths = {16, 32, 64};
      const uint8_t opcode = below(3) == 0 ? 0xd7 : (below(2) ? 0xd4 : 0xdc);
      program.push_back(insn(opcode, dst, 0, 0, kWidths[below(3)]));
      return;
    }
    const uint8_t operation = kOperations[below(kOperations.size())];
    const bool use_src = below(2);
    int16_t off = 0;
    if ((operation == isa::kAluDiv || operation == isa::kAluMod) && below(2)) off = 1;  // signed
    if (operation == isa::kAluMov && use_src && below(3) == 0) {                        // movsx
      static constexpr std::array<int16_t, 3> kWidths = {8, 16, 32};
      off = kWidths[below(wide ? 3 : 2)];
    }
    int32_t imm = random_imm();
    if (operation == isa::kAluLsh || operation == isa::kAluRsh || operation == isa::kAluArsh)
      imm = static_cast<int32_t>(below(wide ? 64 : 32));
    if (operation == isa::kAluNeg) {
      program.push_back(insn(cls | operation, dst));
      return;
    }
    program.push_back(insn(static_cast<uint8_t>(cls | operation | (use_src ? isa::kSrcX : 0)), dst,
                           use_src ? operand_register() : 0, off, use_src ? 0 : imm));
  }

  void emit_memory(std::vector<isa::Insn>& program) {
    static constexpr std::array<uint8_t, 4> kSizes = {isa::kSizeB, isa::kSizeH, isa::kSizeW,
                                                      isa::kSizeDW};
    const uint8_t size = kSizes[below(4)];
    const int16_t off = static_cast<int16_t>(below(kMemorySize / 8) * 8);
    switch (below(4)) {
      case 0:
        program.push_back(insn(isa::kClassLdx | isa::kModeMem | size, operand_register(), 1, off));
        break;
      case 1:
        if (size == isa::kSizeDW) {
          program.push_back(
              insn(isa::kClassLdx | isa::kModeMem | size, operand_register(), 1, off));
          break;
        }
        program.push_back(
            insn(isa::kClassLdx | isa::kModeMemSx | size, operand_register(), 1, off));
        break;
      case 2:
        program.push_back(insn(isa::kClassSt | isa::kModeMem | size, 1, 0, off, random_imm()));
        break;
      default:
        program.push_back(insn(isa::kClassStx | isa::kModeMem | size, 1, operand_register(), off));
        break;
    }
  }

  void emit_atomic(std::vector<isa::Insn>& program) {
    static constexpr std::array<int32_t, 10> kOperations = {isa::kAluAdd,
                                                            isa::kAluOr,
                                                            isa::kAluAnd,
                                                            isa::kAluXor,
                                                            isa::kAluAdd | isa::kAtomicFetch,
                                                            isa::kAluOr | isa::kAtomicFetch,
                                                            isa::kAluAnd | isa::kAtomicFetch,
                                                            isa::kAluXor | isa::kAtomicFetch,
                                                            isa::kAtomicXchg,
                                                            isa::kAtomicCmpXchg};
    const uint8_t size = below(2) ? isa::kSizeDW : isa::kSizeW;
    const int16_t off = static_cast<int16_t>(below(kMemorySize / 8) * 8);
    program.push_back(insn(isa::kClassStx | isa::kModeAtomic | size, 1, operand_register(), off,
                           kOperations[below(kOperations.size())]));
  }

  void emit_branch(std::vector<isa::Insn>& program, size_t body_end) {
    static constexpr std::array<uint8_t, 11> kConditions = {
        isa::kJmpJeq,  isa::kJmpJgt, isa::kJmpJge, isa::kJmpJset, isa::kJmpJne, isa::kJmpJsgt,
        isa::kJmpJsge, isa::kJmpJlt, isa::kJmpJle, isa::kJmpJslt, isa::kJmpJsle};
    const size_t room = body_end > program.size() + 1 ? body_end - program.size() - 1 : 0;
    const int16_t off = static_cast<int16_t>(room ? below(static_cast<uint32_t>(room) + 1) : 0);
    const uint8_t cls = below(2) ? isa::kClassJmp : isa::kClassJmp32;
    const bool use_src = below(2);
    program.push_back(insn(static_cast<uint8_t>(cls | kConditions[below(kConditions.size())] |
                                                (use_src ? isa::kSrcX : 0)),
                           operand_register(), use_src ? operand_register() : 0, off,
                           use_src ? 0 : random_imm()));
  }

  std::mt19937_64 random_;
};

TEST(JitFuzz, RandomProgramsMatchTheInterpreter) {
  ProgramGenerator generator(0x686f7572676c6173ull);  // fixed: failures reproduce
  for (int round = 0; round < 3000; ++round) {
    const auto program = generator.generate(8 + static_cast<size_t>(round % 60));
    std::array<uint8_t, kMemorySize> initial{};
    for (size_t i = 0; i < initial.size(); ++i) initial[i] = static_cast<uint8_t>(i * 73 + round);
    auto interpreted_memory = initial, jit_memory = initial;
    auto interpreted =
        run_raw(program, interpreted_memory.data(), kMemorySize, Engine::Interpreter);
    auto jitted = run_raw(program, jit_memory.data(), kMemorySize, Engine::Jit);
    ASSERT_TRUE(interpreted.ok()) << interpreted.error().message;
    ASSERT_TRUE(jitted.ok()) << jitted.error().message;
    ASSERT_EQ(*interpreted, *jitted) << "round " << round;
    ASSERT_EQ(interpreted_memory, jit_memory) << "round " << round;
    if (round % 100 == 0) {  // and the JIT really ran: the program translates
      ImageInput input;
      input.insns = program;
      input.engine = Engine::Jit;
      Program::Impl image;
      ASSERT_TRUE(prepare_image(image, input, nullptr).ok());
      ASSERT_NE(jit_compile(image), nullptr) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace hourglass::vm::testing
