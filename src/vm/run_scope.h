// vm-private: the RunContext of one run (Program::run, CallbackTarget::invoke, run_raw).
#pragma once

#include "common/run_context.h"

namespace hourglass::vm {

// Installs this thread's RunContext for one run and restores the enclosing one afterwards (runs
// nest: a helper such as bpf_loop invokes a callback while the outer program is still running).
// A nested run inherits the timer-callback facts of the enclosing one, so that a timer engine
// can set them once around CallbackTarget::invoke and helpers inside see them.
class RunScope {
 public:
  RunScope(ProgramRef* program, const HelperEnv* env) : outer_(current_run()) {
    context_.program = program;
    context_.env = env;
    if (outer_) {
      context_.in_timer_callback = outer_->in_timer_callback;
      context_.running_timer = outer_->running_timer;
      if (!context_.env) context_.env = outer_->env;
    }
    current_run() = &context_;
  }
  ~RunScope() { current_run() = outer_; }
  RunScope(const RunScope&) = delete;
  RunScope& operator=(const RunScope&) = delete;

  bool nested() const { return outer_ != nullptr; }

  // Makes the context fresh for another run of `program` (Program::run_repeated): what a run
  // changes (the current program after a tail call, the tail-call count) goes back to the start.
  void restart(ProgramRef* program) {
    context_.program = program;
    context_.tail_call_count = 0;
  }

 private:
  RunContext context_;
  RunContext* outer_;
};

}  // namespace hourglass::vm
