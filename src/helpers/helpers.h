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
};

}  // namespace hourglass
