// The contract between the bench programs (bench/progs/*.bpf.c) and hourglass-bench: the layout
// of the syscall programs' context and of the shared maps' values. Included from BPF C (clang
// -target bpf) and from C++; plain fixed-size fields only, so both sides agree on the layout.
#pragma once

#define BENCH_HIST_BUCKETS 1024
// Far enough in the future that no "armed" timer of the scale and op benches ever fires during
// a run (one hour), yet small enough not to overflow an absolute expiry.
#define BENCH_FAR_NS (3600ULL * 1000000000ULL)
// What a setup program returns when bpf_timer_init failed with -ENOMEM: the driver retries it.
// (Linux 6.18 allocates a timer's state without locks, and on some hosts that allocation fails
// until the slab cache grows; see docs/performance.md.)
#define BENCH_RETVAL_NOMEM 100
#define BENCH_ENOMEM 12
#define BENCH_EBUSY 16

// The context of every SEC("syscall") bench program (the test-run's ctx_in buffer; the kernel
// and Hourglass both copy it back out after the run).
struct bench_args {
  unsigned long long iterations;  // in: how many times the measured loop body runs
  unsigned long long param;       // in: program-specific (range start, armed count, period)
  unsigned long long param2;      // in: program-specific (range end, ...)
  unsigned long long elapsed_ns;  // out: bpf_ktime_get_ns() around the measured loop
  unsigned long long errors;      // out: helper calls that returned an unexpected value
  unsigned long long sink;        // out: keeps the loop's work observable
};

// Lateness histogram, log-linear: values below 16 ns have a bucket each; above, 16 buckets per
// power of two (about 6% relative width). Written by timer callbacks with atomic adds.
struct bench_hist {
  unsigned long long count;
  unsigned long long max;
  unsigned long long sum;
  unsigned long long buckets[BENCH_HIST_BUCKETS];
};

// The periodic timer of the lateness bench.
struct bench_periodic_state {
  unsigned long long period_ns;
  unsigned long long expected_ns;  // absolute CLOCK_MONOTONIC expiry the timer was armed for
  unsigned long long remaining;    // samples still to take; 0 = stop re-arming
};

// The callback storm of the throughput bench.
struct bench_storm_state {
  unsigned long long deadline_ns;  // callbacks stop re-arming at this CLOCK_MONOTONIC time
  unsigned long long fired;
  unsigned long long first_ns;     // set by the start program
  unsigned long long last_ns;      // latest callback's time
  unsigned long long errors;
};
