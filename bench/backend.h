// The two places hourglass-bench runs the same .bpf.o: Hourglass (include/hourglass/runtime.h)
// and the host kernel through libbpf. A section talks only to this interface, so every figure in
// a table's two columns comes from the same program driven the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hourglass/result.h"
#include "hourglass/runtime.h"
#include "progs/bench_abi.h"

namespace hourglass::bench {

// One loaded object: its programs can be test-run and its maps read and written by name.
class BenchObject {
 public:
  virtual ~BenchObject() = default;
  // Test-runs a SEC("syscall") program with `args` as its context; `args` holds the context as
  // the program left it. Returns the program's return value.
  virtual Result<uint64_t> run(const std::string& program, bench_args& args) = 0;
  // Test-runs a packet program `repeat` times on `packet`; returns the mean ns per run.
  virtual Result<double> run_packet(const std::string& program, const std::vector<uint8_t>& packet,
                                    uint32_t repeat) = 0;
  virtual Result<std::vector<uint8_t>> lookup(const std::string& map, uint32_t key) = 0;
  virtual Status update(const std::string& map, uint32_t key, const std::vector<uint8_t>& value) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<std::unique_ptr<BenchObject>> load(const std::string& path) = 0;
  // The memory figure the scale section compares (bytes): process RSS for Hourglass, the
  // kernel's slab total for the kernel.
  virtual uint64_t memory_bytes() const = 0;
  // Runs the calling thread's test-runs on one CPU (kernel: sets the thread's affinity, since a
  // timer fires on the CPU that armed it). Hourglass chooses the virtual CPU per test-run.
  virtual void pin_to_cpu0(bool pinned) = 0;
};

// Hourglass with the given runtime options (engine, precision timers, ncpus).
Result<std::unique_ptr<Backend>> make_hourglass_backend(const RuntimeOptions& options);
// The host kernel; an error when the bpf() syscall cannot load and test-run syscall programs.
Result<std::unique_ptr<Backend>> make_kernel_backend();

// Resident set size of this process, from /proc/self/statm.
uint64_t process_rss_bytes();
// "Slab:" of /proc/meminfo, in bytes (system-wide, so only approximate for one workload).
uint64_t kernel_slab_bytes();

}  // namespace hourglass::bench
