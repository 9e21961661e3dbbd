// vm-private: the prepared image of a program, shared by the preparation pass (prepare.cpp) and the
// interpreter (interpreter.cpp). A JIT back-end would add its native code beside `code` here and
// keep everything else (relocations, callback targets, map references) as it is.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/program_ref.h"
#include "helpers/proto.h"
#include "hourglass/result.h"
#include "isa/insn.h"
#include "maps/map.h"
#include "vm/vm.h"

namespace hourglass::vm {

// Internal opcodes: encodings the ISA leaves unused (ALU/JMP operation 0xe0/0xf0), given to
// instructions whose meaning depends on more than the opcode byte, so that the interpreter's one
// switch on the opcode byte needs no second look.
inline constexpr uint8_t kOpMovsx64 = 0xef;   // ALU64 mov with off 8/16/32
inline constexpr uint8_t kOpMovsx32 = 0xec;   // ALU32 mov with off 8/16
inline constexpr uint8_t kOpLocalCall = 0xe5;  // call with src = BPF_PSEUDO_CALL; value = target pc
inline constexpr uint8_t kOpTailCall = 0xf5;   // helper 12, implemented by the vm
inline constexpr uint8_t kOpLdImm64Tail = 0x00;  // second slot of ld_imm64, never executed
inline constexpr uint8_t kOpFellOff = 0xf7;      // sentinel after the last instruction

// One pre-decoded instruction slot: registers unpacked, relocations resolved. 16 bytes: `off` and
// `value` share storage because no instruction needs both.
struct Slot {
  uint8_t opcode = 0;
  uint8_t dst = 0;
  uint8_t src = 0;
  int32_t imm = 0;
  union {
    int64_t off = 0;  // loads, stores, atomics, jumps, div/mod (1 = signed), movsx (width)
    // ld_imm64: the 64-bit value to load (relocated). helper/kfunc call: the HelperFn. local
    // call: the absolute target pc.
    uint64_t value;
  };
};
static_assert(sizeof(Slot) == 16);

struct JitCode;  // jit_x86.h

// Resolves helper ids for calls (static and callx). Program::create uses the helper table;
// run_raw a tiny table of its own.
using HelperResolver = helpers::HelperFn (*)(int32_t helper_id);

// Immutable once prepare_image returned: any number of threads run the same image at once
// without locks (each run keeps registers and stacks on its own host stack). Lifetime: owned
// by the Program; callback targets and the tail-call path reach it only while holding a
// reference on that Program.
struct Program::Impl {
  Program* self = nullptr;  // null for run_raw images
  std::vector<Slot> code;
  std::vector<maps::Map*> used_maps;  // one reference each, released by ~Program
  // Bytes to clear below the frame pointer when a function starts at this instruction (indexed
  // by pc; empty when no function needs it, the usual case). From ImageInput::zeroed_frames.
  std::vector<uint16_t> frame_zero_bytes;
  // Stable addresses: ld_imm64 BPF_PSEUDO_FUNC loads &callbacks[i] into a register.
  std::deque<CallbackTarget> callbacks;
  std::deque<std::string> callback_names;
  const HelperEnv* env = nullptr;
  HelperResolver resolve_helper = nullptr;
  Engine engine = Engine::Interpreter;
  // Native code when the image was JIT-compiled (engine Jit and the compiler translated every
  // instruction); null means interpret. shared_ptr: its deleter is bound where it is made, so
  // files destroying an Impl need not see JitCode.
  std::shared_ptr<const JitCode> jit;

  bool uses_map(const void* map) const;
  const CallbackTarget* find_callback(uint64_t address) const;
};

// Validates `input.insns` and builds `image` from them (image.self is already set). Errors name
// the instruction index. On error the maps acquired so far stay in image.used_maps, so the
// caller's normal cleanup releases them.
Status prepare_image(Program::Impl& image, const ImageInput& input, HelperResolver resolve_helper);

// Why a nested run (a callback invoked from a helper) failed, handed to the enclosing run on this
// thread, which stops with the same error once the helper returns.
void set_pending_abort(Error error);
// Takes the error left by set_pending_abort on this thread (JIT runs read it when they stop).
std::optional<Error> take_pending_abort();

// Runs `image` from `entry_pc` with R1..R5 on this thread. The caller has set up the RunContext
// and holds an EpochGuard.
Result<uint64_t> interpret(const Program::Impl& image, uint32_t entry_pc, const uint64_t args[5]);

// Error unless `engine` is known. Engine::Jit is always accepted: where it cannot compile (not
// x86-64, an instruction without translation) the program is interpreted instead.
Status check_engine(Engine engine);

// Compiles `image` if its engine is Jit (sets image.jit on success; nothing on failure).
void maybe_jit_compile(Program::Impl& image);

// Runs `image` from function entry `entry_pc` on whichever engine it was prepared for.
Result<uint64_t> run_image(const Program::Impl& image, uint32_t entry_pc, const uint64_t args[5]);

class RunScope;  // run_scope.h
// Runs `image`'s entry function `count` times with the same R1..R5 (Program::run_repeated), the
// run context of `scope` restarted before each run; returns the last R0 or the first error.
Result<uint64_t> run_image_repeated(const Program::Impl& image, const uint64_t args[5],
                                    uint32_t count, RunScope& scope);

// CallbackTarget::warm (callback.cpp).
void warm_callback(const CallbackTarget* self);

// CallbackTarget::invoke for interpreted and JITed images.
uint64_t invoke_callback(const CallbackTarget* self, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5);

}  // namespace hourglass::vm
