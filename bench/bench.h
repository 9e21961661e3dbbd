// hourglass-bench's sections and the table they print. A section measures one side (Hourglass
// or the kernel) at a time into a Figures map keyed by metric; the driver then lays both sides
// into one table whose rows the section declares, so a side that fails shows "n/a" rather than
// stopping the run.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend.h"

namespace hourglass::bench {

struct BenchConfig {
  bool quick = false;        // a few seconds in all: smaller counts, fewer repetitions
  int rounds = 2;            // each side measured this many times, alternating; best kept
  bool kernel = true;        // run the kernel column when the syscall is available
  bool skip_verification = false;  // Hourglass: RuntimeOptions::dangerously_skip_verification
  std::string progs_dir;     // where bench/progs/*.bpf.o were built
  std::string object_path(const std::string& name) const { return progs_dir + "/" + name + ".bpf.o"; }
};

// metric key -> value; a missing key prints "n/a".
using Figures = std::map<std::string, double>;

enum class Better { Lower, Higher };

struct RowSpec {
  std::string key;
  std::string label;        // with its unit, e.g. "start (re-arm), ns/op"
  double goal_ratio = 0;    // issue 7's goal as hourglass/kernel; 0: no goal
  Better better = Better::Lower;  // whether the goal is an upper or a lower bound
  // Which Hourglass figure set the row reads (sections may run Hourglass in several modes).
  std::string hourglass_mode = "default";
  bool full_only = false;  // not measured by --quick: left out of the table
};

inline RowSpec plain_row(std::string key, std::string label, std::string mode = "default",
                         Better better = Better::Lower) {
  return RowSpec{std::move(key), std::move(label), 0, better, std::move(mode)};
}
inline RowSpec goal_row(std::string key, std::string label, double goal_ratio,
                        Better better = Better::Lower, std::string mode = "default") {
  return RowSpec{std::move(key), std::move(label), goal_ratio, better, std::move(mode)};
}

// One side's measurement: fills `figures` as it goes, records what went wrong in `notes`.
struct SideResult {
  Figures figures;
  std::vector<std::string> notes;
};

struct Section {
  std::string id;     // --section value
  std::string title;
  std::vector<RowSpec> rows;
  // Hourglass modes this section runs: mode name -> runtime options.
  std::vector<std::pair<std::string, RuntimeOptions>> hourglass_modes;
  std::function<void(Backend&, const BenchConfig&, SideResult&)> measure;
  std::vector<std::string> method_notes;  // printed under the table
};

std::vector<Section> all_sections();

// Runs a section on every side and prints its table (Markdown) to stdout.
void run_section(const Section& section, const BenchConfig& config);

// ---- measurement helpers shared by the sections ----

// Runs `program` with `args`; an error unless it returned 0 and counted no errors.
Status run_checked(BenchObject& object, const std::string& program, bench_args& args);

// Runs a setup program again while it reports BENCH_RETVAL_NOMEM (its bpf_timer_init failed
// with -ENOMEM), for up to about three seconds.
Status run_setup(BenchObject& object, const std::string& program, bench_args& args);

// Per-operation cost of `program`'s loop body minus `baseline`'s, both run with `args`
// (iterations included) `repetitions` times alternately; the fastest run of each counts.
Result<double> per_op_ns(BenchObject& object, const std::string& program,
                         const std::string& baseline, const bench_args& args, int repetitions);

// Records `value` under `key`, or the error as a note.
void record(SideResult& side, const std::string& key, const Result<double>& value);

}  // namespace hourglass::bench
