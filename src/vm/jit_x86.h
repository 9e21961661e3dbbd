// vm-private: the x86-64 JIT (jit_x86_compiler.cpp emits, jit_x86_runtime.cpp runs).
//
// Native layout. BPF registers live in host registers as in the kernel's JIT: r0 rax, r1 rdi,
// r2 rsi, r3 rdx, r4 rcx, r5 r8 (exactly the SysV argument registers, so helper calls need no
// shuffle), r6 rbx, r7 r13, r8 r14, r9 r15, r10 rbp. r12 holds the JitRunState of the run
// (callee-saved, so helpers preserve it); r9, r10 and r11 are scratch.
//
// Every BPF function (the entry, each bpf-to-bpf call target, each callback) becomes a native
// function: it pushes rbp and those of rbx/r13/r14/r15 the image uses, reserves isa::kStackSize
// bytes of BPF stack below them, and points rbp at the top of that stack. A bpf-to-bpf call is a native call; the call
// depth is counted in the run state. A run enters through a trampoline that saves the host's
// callee-saved registers and the stack pointer (so that an error anywhere can unwind at once).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/run_context.h"
#include "hourglass/result.h"
#include "vm/image.h"

namespace hourglass::vm {

// Per-run state, on the host stack of the thread running; JIT code reaches it through r12. The
// field offsets are baked into generated code via offsetof.
//
// Only the first group is initialised per run; the scratch fields below it are always written
// before they are read (by the trampoline, the generated code or the runtime routines), and
// leaving them alone keeps a run's entry cost to a few stores (the state is ~400 bytes).
struct JitRunState {
  uint32_t depth = 0;          // bpf-to-bpf frames below the entry function
  uint32_t error_kind = 0;     // JitError
  uint32_t held_count = 0;     // entries of `held` in use
  uint8_t abort_pending = 0;   // a nested run failed (set_pending_abort)
  // The run context of the run (the thread's innermost); generated code puts its image's
  // program back into it after a call that may have tail-called elsewhere.
  RunContext* run = nullptr;
  // This thread's count of nested runs (bounded by kMaxNestedJitRuns), which the inline bpf_loop
  // (jit_x86_inline.cpp) raises around its callback calls like a nested run would.
  int* nested_runs = nullptr;

  // Makes the state fresh for the next run of a repeated run (run_image_repeated).
  void begin_run() {
    depth = error_kind = held_count = 0;
    abort_pending = 0;
  }

  uint8_t callx_local;        // the resolved callx target is a subprogram of this image
  uint32_t error_pc;          // written with error_kind
  uint64_t saved_rsp;         // trampoline's stack pointer, restored by the error exit
  uint64_t saved_r0;          // scratch of the fetching atomics
  uint64_t saved_regs[6];     // r0-r5 around calls into runtime routines
  uint64_t callx_target;      // the value a failing callx used (for the message)
  uint64_t tail_target;       // native entry a tail call jumps to
  uint64_t tail_result;       // r0 of a tail-called interpreted program
  // Tail-called programs held until the run ends. A callback called as a nested call of the
  // run (jit_invoke_callback) shares this array: it starts only while at most kMaxTailCalls
  // entries are in use, adds at most kMaxTailCalls of its own (its own tail-call count) and
  // releases them when it returns, hence twice the run's limit.
  ProgramRef* held[2 * isa::kMaxTailCalls];
};

// Runs (JIT runs and callbacks called as nested runs or inline loops) nest at most this deep per
// thread: each level takes host stack (8 frames of 512 bytes and more).
inline constexpr int kMaxNestedJitRuns = 16;

enum JitError : uint32_t { kJitOk = 0, kJitDepth, kJitFellOff, kJitCallx, kJitAbort };

// Results of jit_tail_call, tested by the generated code.
enum JitTailCall : uint32_t { kTailFallThrough = 0, kTailJump, kTailReturn, kTailAbort };

// Machine code of one image: read+execute pages, unmapped when the image goes. Immutable once
// jit_compile returned, so any number of threads run it at once without locks (each run has its
// own JitRunState and native frames on its own stack).
struct JitCode {
  using Trampoline = uint64_t (*)(JitRunState* state, const uint64_t* args, const void* entry);
  uint8_t* memory = nullptr;
  size_t mapped_size = 0;
  Trampoline trampoline = nullptr;
  std::vector<const void*> entries;  // insn index -> native function entry (null: none)

  JitCode() = default;
  JitCode(const JitCode&) = delete;
  JitCode& operator=(const JitCode&) = delete;
  ~JitCode();
};

// Compiles `image` (prepared, not yet running). Null when the host is not x86-64 or an
// instruction has no translation: the caller keeps interpreting then.
std::unique_ptr<JitCode> jit_compile(const Program::Impl& image);

// Runs the JITed `image` from function entry `entry_pc` (the caller set up the RunContext and
// holds an EpochGuard, as for interpret).
Result<uint64_t> jit_run(const Program::Impl& image, uint32_t entry_pc, const uint64_t args[5]);

// Runtime routines called from generated code (C ABI).
extern "C" uint32_t hg_jit_tail_call(JitRunState* state, uint64_t map, uint64_t index,
                                     const Program::Impl* image);
extern "C" const void* hg_jit_resolve_callx(JitRunState* state, uint64_t target,
                                            const Program::Impl* image);

// CallbackTarget::invoke of JIT-compiled images (installed by maybe_jit_compile). When the
// callback belongs to the program of the JIT run that is current on this thread (bpf_loop,
// bpf_for_each_map_elem called by that program), it runs as a nested call inside that run's
// JitRunState; otherwise (timer workers, other programs, interpreted runs in between) it falls
// back to invoke_callback. Either way it behaves like a fresh run of its own.
uint64_t jit_invoke_callback(const CallbackTarget* self, uint64_t r1, uint64_t r2, uint64_t r3,
                             uint64_t r4, uint64_t r5);

// Marks the innermost JIT run on this thread as aborting (called by set_pending_abort).
void jit_note_pending_abort();

}  // namespace hourglass::vm
