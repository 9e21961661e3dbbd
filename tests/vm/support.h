// Helpers for the vm tests: assembling text programs and building single instructions.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "assembler.h"
#include "isa/insn.h"
#include "vm/vm.h"

namespace hourglass::vm::testing {

// vm_tests runs every test on the interpreter; vm_jit_tests (the same sources built with
// HG_TEST_ENGINE=Jit) runs them all again on the JIT.
#ifndef HG_TEST_ENGINE
#define HG_TEST_ENGINE Interpreter
#endif
inline constexpr Engine kTestEngine = Engine::HG_TEST_ENGINE;

inline std::vector<isa::Insn> assemble_or_die(const std::vector<std::string>& lines) {
  auto program = conformance::assemble(lines);
  EXPECT_TRUE(program.ok()) << (program.ok() ? "" : program.error().message);
  return program.ok() ? *program : std::vector<isa::Insn>{};
}

// Runs an assembled program through run_raw with r1 = memory, r2 = its size.
inline Result<uint64_t> run_text(const std::vector<std::string>& lines, void* memory = nullptr,
                                 size_t size = 0) {
  return run_raw(assemble_or_die(lines), memory, size, kTestEngine);
}

inline isa::Insn insn(uint8_t opcode, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0,
                      int32_t imm = 0) {
  return isa::make_insn(opcode, dst, src, off, imm);
}

// ld_imm64 with a pseudo source (two slots).
inline void append_ld_imm64(std::vector<isa::Insn>& program, uint8_t dst, uint8_t pseudo,
                            int32_t imm, int32_t next_imm = 0) {
  program.push_back(insn(isa::kOpLdImm64, dst, pseudo, 0, imm));
  program.push_back(insn(0, 0, 0, 0, next_imm));
}

inline void append(std::vector<isa::Insn>& program, const std::vector<std::string>& lines) {
  auto more = assemble_or_die(lines);
  program.insert(program.end(), more.begin(), more.end());
}

// A Program on the test engine from bare instructions (no verifier): one reference, for a
// ProgramHolder. `name` is the program's; `subprog_names` as in ImageInput.
inline Result<Program*> create_program(
    std::string name, std::vector<isa::Insn> insns, std::vector<maps::Map*> maps = {},
    std::vector<helpers::HelperFn> kfuncs = {},
    std::vector<std::pair<uint32_t, std::string>> subprog_names = {}) {
  ImageInput input;
  input.engine = kTestEngine;
  input.name = std::move(name);
  input.insns = std::move(insns);
  input.maps = std::move(maps);
  input.kfuncs = std::move(kfuncs);
  input.subprog_names = std::move(subprog_names);
  return Program::create(std::move(input));
}

// Owns one reference on a Program and drops it at scope exit.
struct ProgramHolder {
  Program* program = nullptr;
  explicit ProgramHolder(Program* p) : program(p) {}
  ~ProgramHolder() {
    if (program) program->release();
  }
  ProgramHolder(const ProgramHolder&) = delete;
  ProgramHolder& operator=(const ProgramHolder&) = delete;
  Program* operator->() const { return program; }
};

}  // namespace hourglass::vm::testing
