// Runs JITed images: the per-run state, the routines generated code calls back into (tail calls,
// callx resolution), and turning the state's error fields into the interpreter's messages.
#include <optional>
#include <string>

#include "common/run_context.h"
#include "maps/epoch.h"
#include "vm/jit_x86.h"
#include "vm/run_scope.h"

namespace hourglass::vm {

namespace {

// The innermost JIT run on this thread, so that set_pending_abort can raise its flag (read by
// the generated code after each helper call). Thread-local: runs never migrate between threads.
thread_local JitRunState* tls_current_jit_run = nullptr;

// Bounds host-stack use when callbacks nest, like the interpreter's own bound (kMaxNestedJitRuns).
// Raised by JitRunScope, NestedCallFrame and the inline bpf_loop (through
// JitRunState::nested_runs); the first two put back the value they found rather than count down,
// because an error unwinding out of an inline loop skips the loop's own decrement.
thread_local int tls_nested_jit_runs = 0;

class JitRunScope {
 public:
  explicit JitRunScope(JitRunState* state)
      : outer_(tls_current_jit_run), outer_nested_runs_(tls_nested_jit_runs) {
    tls_current_jit_run = state;
    state->nested_runs = &tls_nested_jit_runs;
    ++tls_nested_jit_runs;
  }
  ~JitRunScope() {
    tls_current_jit_run = outer_;
    tls_nested_jit_runs = outer_nested_runs_;
  }
  JitRunScope(const JitRunScope&) = delete;
  JitRunScope& operator=(const JitRunScope&) = delete;

 private:
  JitRunState* outer_;
  const int outer_nested_runs_;
};

Error run_error(uint32_t pc, const std::string& what) {
  return make_error(EFAULT, "instruction " + std::to_string(pc) + ": " + what);
}

Error state_error(JitRunState& state) {
  switch (state.error_kind) {
    case kJitDepth:
      return run_error(state.error_pc,
                       "call stack deeper than " + std::to_string(isa::kMaxCallFrames) + " frames");
    case kJitFellOff:
      return run_error(state.error_pc, "fell off the end of the program");
    case kJitCallx:
      return run_error(state.error_pc,
                       "callx to unknown target " + std::to_string(state.callx_target));
    default:
      if (auto pending = take_pending_abort()) return std::move(*pending);
      return make_error(EFAULT, "jit run aborted");
  }
}

}  // namespace

void jit_note_pending_abort() {
  if (tls_current_jit_run) tls_current_jit_run->abort_pending = 1;
}

namespace {

Status check_nesting() {
  if (tls_nested_jit_runs >= kMaxNestedJitRuns)
    return make_error(ELOOP,
                      "runs nested more than " + std::to_string(kMaxNestedJitRuns) + " deep");
  return {};
}

// Ends one run: releases what its tail calls held and turns the state into its result.
Result<uint64_t> finish_run(JitRunState& state, uint64_t r0) {
  for (uint32_t i = 0; i < state.held_count; ++i) state.held[i]->release();
  state.held_count = 0;
  if (state.error_kind != kJitOk) return state_error(state);
  if (state.abort_pending) {  // raised by the last helper's nested run just before exit
    if (auto pending = take_pending_abort()) return std::move(*pending);
  }
  return r0;
}

}  // namespace

Result<uint64_t> jit_run(const Program::Impl& image, uint32_t entry_pc, const uint64_t args[5]) {
  if (auto nesting = check_nesting(); !nesting.ok()) return nesting.take_error();
  const void* entry = entry_pc < image.jit->entries.size() ? image.jit->entries[entry_pc] : nullptr;
  if (!entry)
    return make_error(EINVAL, "instruction " + std::to_string(entry_pc) + " is no function entry");
  JitRunState state;
  state.run = current_run();
  uint64_t r0 = 0;
  {
    JitRunScope scope(&state);
    r0 = image.jit->trampoline(&state, args, entry);
  }
  return finish_run(state, r0);
}

// As the interpreter: an index out of range, the 33-call limit or an empty slot fall through;
// the count grows before the slot is read. The target is held until the run ends.
extern "C" uint32_t hg_jit_tail_call(JitRunState* state, uint64_t map_address, uint64_t index64,
                                     const Program::Impl* image) {
  auto* map = reinterpret_cast<maps::Map*>(map_address);
  uint32_t index = static_cast<uint32_t>(index64);
  RunContext* run = current_run();
  if (!image->uses_map(map) || map->type() != maps::MapType::ProgArray) return kTailFallThrough;
  if (index >= map->attr().max_entries) return kTailFallThrough;
  if (run->tail_call_count >= static_cast<uint32_t>(isa::kMaxTailCalls)) return kTailFallThrough;
  ++run->tail_call_count;
  auto* ref = static_cast<ProgramRef*>(map->lookup(&index));
  if (!ref || !ref->try_acquire()) return kTailFallThrough;
  state->held[state->held_count++] = ref;  // bounded by the count above (see JitRunState::held)
  auto* target = static_cast<Program*>(ref);  // prog_array slots only hold vm::Program
  run->program = target;
  const Program::Impl* target_image = target->image();
  if (target_image->jit) {
    state->tail_target = reinterpret_cast<uint64_t>(target_image->jit->entries[0]);
    return kTailJump;
  }
  // An interpreted target (its JIT compilation fell back) runs to completion here; its R0 is
  // then returned by the tail-calling function, as if it had been jumped to.
  const uint64_t args[5] = {state->saved_regs[1], state->saved_regs[2], state->saved_regs[3],
                            state->saved_regs[4], state->saved_regs[5]};
  auto result = interpret(*target_image, 0, args);
  if (!result.ok()) {
    set_pending_abort(result.take_error());
    return kTailAbort;
  }
  state->tail_result = *result;
  return kTailReturn;
}

extern "C" const void* hg_jit_resolve_callx(JitRunState* state, uint64_t target,
                                            const Program::Impl* image) {
  state->callx_target = target;
  if (const CallbackTarget* callback = image->find_callback(target)) {
    state->callx_local = 1;
    return image->jit->entries[callback->entry_insn];
  }
  state->callx_local = 0;
  helpers::HelperFn fn = nullptr;
  if (target <= INT32_MAX && image->resolve_helper)
    fn = image->resolve_helper(static_cast<int32_t>(target));
  return reinterpret_cast<const void*>(fn);
}

void maybe_jit_compile(Program::Impl& image) {
  if (image.engine != Engine::Jit) return;
  image.jit = jit_compile(image);  // null: interpret (docs/vm.md, "JIT")
  if (!image.jit) return;
  for (CallbackTarget& target : image.callbacks) target.invoke = jit_invoke_callback;
}

namespace {

// What a callback called as a nested call borrows from the enclosing run and gives back: the
// callback starts as a fresh run would (no frames, its own tail-call count, no pending abort)
// and the enclosing run continues as it was (its frame depth, current program, held programs
// and the trampoline's stack pointer its error exit unwinds to).
class NestedCallFrame {
 public:
  NestedCallFrame(JitRunState& state, RunContext& run)
      : state_(state),
        run_(run),
        program_(run.program),
        saved_rsp_(state.saved_rsp),
        depth_(state.depth),
        held_count_(state.held_count),
        tail_call_count_(run.tail_call_count),
        abort_pending_(state.abort_pending),
        nested_runs_(tls_nested_jit_runs) {
    state.depth = 0;
    state.abort_pending = 0;
    run.tail_call_count = 0;
    ++tls_nested_jit_runs;
  }
  ~NestedCallFrame() {
    tls_nested_jit_runs = nested_runs_;
    state_.saved_rsp = saved_rsp_;
    state_.depth = depth_;
    state_.abort_pending = abort_pending_;
    run_.program = program_;
    run_.tail_call_count = tail_call_count_;
  }
  NestedCallFrame(const NestedCallFrame&) = delete;
  NestedCallFrame& operator=(const NestedCallFrame&) = delete;

  // Ends the callback as finish_run ends a run: releases what its tail calls held and returns
  // its error, if it failed (clearing the state's error for the enclosing run).
  std::optional<Error> finish() {
    for (uint32_t i = held_count_; i < state_.held_count; ++i) state_.held[i]->release();
    state_.held_count = held_count_;
    if (state_.error_kind != kJitOk) {
      Error error = state_error(state_);
      state_.error_kind = kJitOk;
      return error;
    }
    if (state_.abort_pending) return take_pending_abort();  // the last helper's nested run
    return std::nullopt;
  }

 private:
  JitRunState& state_;
  RunContext& run_;
  ProgramRef* const program_;
  const uint64_t saved_rsp_;
  const uint32_t depth_;
  const uint32_t held_count_;
  const uint32_t tail_call_count_;
  const uint8_t abort_pending_;
  const int nested_runs_;
};

// True if `self` can run as a nested call of `state`'s run: that run is the thread's innermost
// (no other run was entered since), its current program owns the callback (so the callback's
// RunContext would be the same), and the host-stack bound of nested runs still has room.
bool can_call_nested(const JitRunState* state, const RunContext* run, const CallbackTarget& self,
                     const Program::Impl& image) {
  return state != nullptr && state->run == run && run->program == self.program &&
         (image.env == nullptr || image.env == run->env) &&
         state->held_count <= static_cast<uint32_t>(isa::kMaxTailCalls) &&
         tls_nested_jit_runs < kMaxNestedJitRuns;
}

}  // namespace

// Per call this costs a few checks, the saved fields and the trampoline; invoke_callback also
// sets up a RunScope, an EpochGuard (the enclosing run holds one), a JitRunState and a Result.
// An error inside the callback unwinds to the trampoline entered here (state.saved_rsp), not to
// the enclosing run's: the helper that called us (bpf_loop, bpf_for_each_map_elem) returns
// normally and the enclosing run stops with the error after it, as with invoke_callback.
uint64_t jit_invoke_callback(const CallbackTarget* self, uint64_t r1, uint64_t r2, uint64_t r3,
                             uint64_t r4, uint64_t r5) {
  const auto* image = static_cast<const Program::Impl*>(self->engine_data);
  JitRunState* state = tls_current_jit_run;
  RunContext* run = current_run();
  if (!can_call_nested(state, run, *self, *image)) return invoke_callback(self, r1, r2, r3, r4, r5);
  const uint64_t args[5] = {r1, r2, r3, r4, r5};
  uint64_t r0 = 0;
  std::optional<Error> failed;
  {
    NestedCallFrame frame(*state, *run);
    r0 = image->jit->trampoline(state, args, image->jit->entries[self->entry_insn]);
    failed = frame.finish();
  }  // the enclosing run's fields are back: the abort below is raised for it
  if (!failed) [[likely]]
    return r0;
  set_pending_abort(std::move(*failed));
  return 0;
}

Result<uint64_t> run_image(const Program::Impl& image, uint32_t entry_pc, const uint64_t args[5]) {
  if (image.jit) return jit_run(image, entry_pc, args);
  return interpret(image, entry_pc, args);
}

// The loop sits next to the native call, as the kernel's test-run loop sits next to its call of
// the JITed function: one JitRunScope for all runs, and per run only the few fields of the state
// that a run changes are reset (a clean run leaves nothing to release or report).
Result<uint64_t> run_image_repeated(const Program::Impl& image, const uint64_t args[5],
                                    uint32_t count, RunScope& scope) {
  uint64_t r0 = 0;
  if (!image.jit) {
    for (uint32_t i = 0; i < count; ++i) {
      scope.restart(image.self);
      auto ran = interpret(image, 0, args);
      if (!ran.ok()) return ran;
      r0 = *ran;
      maps::quiescent_point();
    }
    return r0;
  }
  if (auto nesting = check_nesting(); !nesting.ok()) return nesting.take_error();
  const void* entry = image.jit->entries[0];
  JitCode::Trampoline trampoline = image.jit->trampoline;
  JitRunState state;
  state.run = current_run();
  JitRunScope jit_scope(&state);
  for (uint32_t i = 0; i < count; ++i) {
    scope.restart(image.self);
    state.begin_run();
    r0 = trampoline(&state, args, entry);
    if (state.held_count != 0 || state.error_kind != kJitOk || state.abort_pending) {
      auto finished = finish_run(state, r0);
      if (!finished.ok()) return finished;
    }
    maps::quiescent_point();  // a run that retired many objects lets them be reclaimed
  }
  return r0;
}

}  // namespace hourglass::vm
