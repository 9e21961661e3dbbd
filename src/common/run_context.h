// The per-thread state of the BPF code running on this thread, read by helpers the way the
// kernel's helpers read per-CPU state: which program runs (bpf_timer_set_callback holds a
// reference on it), which virtual CPU the thread is, and the helper environment.
#pragma once

#include <cstdint>

#include "common/program_ref.h"

namespace hourglass {

struct HelperEnv;  // defined in helpers/helpers.h

struct RunContext {
  ProgramRef* program = nullptr;  // innermost program whose instructions are executing
  const HelperEnv* env = nullptr;
  uint32_t tail_call_count = 0;
  bool in_timer_callback = false;
  const void* running_timer = nullptr;  // timer whose callback runs on this thread, or null
};

// The run context of this thread; null when no BPF code runs here.
RunContext*& current_run() noexcept;

// Virtual CPU of this thread. The runtime assigns one to each calling thread (and each timer
// worker owns one); per-CPU maps and bpf_get_smp_processor_id() read it.
uint32_t current_vcpu() noexcept;
void set_current_vcpu(uint32_t vcpu) noexcept;

}  // namespace hourglass
