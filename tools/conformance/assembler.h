// The conformance suite's assembly language (README section 4): one instruction or label per
// line, uBPF-style mnemonics ("ldxb %r0, [%r1+0x2]", "lock fetch add32 [%r10-4], %r1",
// "call local func1"). Written for this project from the README's description.
#pragma once

#include <string>
#include <vector>

#include "hourglass/result.h"
#include "isa/insn.h"

namespace hourglass::conformance {

// Assembles the lines of an `-- asm` section (comments already removed, empty lines allowed).
// Errors name the line ("line 3: unknown mnemonic 'foo'"), counted among the given lines from 1.
Result<std::vector<isa::Insn>> assemble(const std::vector<std::string>& lines);

}  // namespace hourglass::conformance
