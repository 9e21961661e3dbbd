// The face of helpers/: the helper table (proto.h) and the environment helper implementations
// read through the current RunContext.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "helpers/proto.h"

namespace hourglass {
namespace timers {
class TimerEngine;
}

// What helpers need from the runtime that runs them. Owned by the runtime; outlives every run.
struct HelperEnv {
  timers::TimerEngine* timers = nullptr;  // clocks and bpf_timer/bpf_wq
  uint32_t ncpus = 1;
  // bpf_trace_printk output, one formatted line at a time (no trailing newline added).
  std::function<void(std::string_view)> trace_sink;
  // Seed for bpf_get_prandom_u32 (0: from the clock). Virtual-time runs set a fixed one so that
  // scenarios repeat exactly.
  uint64_t prandom_seed = 0;
};

}  // namespace hourglass
