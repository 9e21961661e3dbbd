// Native C++ versions of the programs in bench/progs/bench_exec.bpf.c: the baseline the exec
// section divides the JIT's figures by (exec_native.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hourglass/result.h"

namespace hourglass::bench {

// Runs the native version of `program` `repeat` times on `packet`; returns the mean ns per run.
// ENOENT when there is no native version of that program.
Result<double> run_native(const std::string& program, const std::vector<uint8_t>& packet,
                          uint32_t repeat);

}  // namespace hourglass::bench
