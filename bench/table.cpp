// Drives a section on each side and prints its Markdown table: metric, hourglass, kernel,
// ratio (hourglass / kernel) and the goal of issue 7 with whether this run met it.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <thread>

#include "bench.h"

namespace hourglass::bench {
namespace {

constexpr int kSettleMs = 1000;  // pause after each side's run of a section (run_section)

std::string format_value(std::optional<double> value) {
  if (!value) return "n/a";
  char text[32];
  const double v = *value;
  if (v >= 100000) std::snprintf(text, sizeof text, "%.3g", v);
  else if (v >= 100) std::snprintf(text, sizeof text, "%.0f", v);
  else std::snprintf(text, sizeof text, "%.1f", v);
  return text;
}

std::string format_ratio(std::optional<double> ratio) {
  if (!ratio) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, *ratio >= 100 ? "%.0fx" : "%.2fx", *ratio);
  return text;
}

std::string format_goal(const RowSpec& row, std::optional<double> ratio) {
  if (row.goal_ratio <= 0) return "";
  char goal[32];
  std::snprintf(goal, sizeof goal, "%s %.1fx", row.better == Better::Lower ? "<=" : ">=", row.goal_ratio);
  if (!ratio) return goal;
  const bool met = row.better == Better::Lower ? *ratio <= row.goal_ratio : *ratio >= row.goal_ratio;
  return std::string(goal) + (met ? " met" : " missed");
}

std::optional<double> find(const Figures& figures, const std::string& key) {
  auto it = figures.find(key);
  if (it == figures.end()) return std::nullopt;
  return it->second;
}

void print_row(const std::vector<std::string>& cells) {
  std::string line = "|";
  for (const auto& cell : cells) line += " " + cell + " |";
  std::puts(line.c_str());
}

// Keeps the better figure of two rounds for every key (the rows say which way is better) and
// the notes of both, without repeating one.
void merge_round(const Section& section, const SideResult& round, SideResult& best) {
  for (const auto& [key, value] : round.figures) {
    auto it = best.figures.find(key);
    if (it == best.figures.end()) {
      best.figures[key] = value;
      continue;
    }
    Better better = Better::Lower;
    for (const RowSpec& row : section.rows)
      if (row.key == key) better = row.better;
    it->second = better == Better::Lower ? std::min(it->second, value) : std::max(it->second, value);
  }
  for (const auto& note : round.notes)
    if (std::find(best.notes.begin(), best.notes.end(), note) == best.notes.end())
      best.notes.push_back(note);
}

SideResult measure_hourglass(const Section& section, const RuntimeOptions& options,
                             const BenchConfig& config) {
  SideResult side;
  RuntimeOptions runtime_options = options;
  runtime_options.dangerously_skip_verification = config.skip_verification;
  auto backend = make_hourglass_backend(runtime_options);
  if (!backend.ok()) side.notes.push_back("runtime: " + backend.error().message);
  else section.measure(**backend, config, side);
  return side;  // the backend (and its runtime) goes after its objects, inside measure
}

}  // namespace

void run_section(const Section& section, const BenchConfig& config) {
  const auto started = std::chrono::steady_clock::now();
  std::map<std::string, SideResult> hourglass_sides;  // by mode
  SideResult kernel_side;
  std::vector<std::string> notes;
  auto kernel = config.kernel ? make_kernel_backend()
                              : Result<std::unique_ptr<Backend>>(make_error(ENODEV, "not run (--no-kernel)"));
  // Sides alternate round by round, so a busy moment on a shared machine costs one round of one
  // side rather than one side's whole figure.
  // Each side's run ends with a pause before the other's starts: the kernel frees a closed
  // object's maps afterwards in a kworker, and on a kernel without preemption (PREEMPT_NONE, as
  // on our VMs) freeing a 10M-slot timer array holds a CPU for ~100 ms, during which Hourglass's
  // worker thread on that CPU cannot run: one round's 1k fire rate read 0.01 M/s (a callback
  // 100 ms late) whenever it followed the kernel's scale run. The pause lets that finish.
  const auto settle = [&] {
    if (!config.quick) std::this_thread::sleep_for(std::chrono::milliseconds(kSettleMs));
  };
  for (int round = 0; round < config.rounds; ++round) {
    for (const auto& [mode, options] : section.hourglass_modes) {
      merge_round(section, measure_hourglass(section, options, config), hourglass_sides[mode]);
      settle();
    }
    if (kernel.ok()) {
      SideResult kernel_round;
      section.measure(**kernel, config, kernel_round);
      merge_round(section, kernel_round, kernel_side);
      settle();
    }
  }
  for (const auto& [mode, side] : hourglass_sides)
    for (const auto& note : side.notes) notes.push_back("hourglass (" + mode + "): " + note);
  if (!kernel.ok()) notes.push_back("kernel: n/a, " + kernel.error().message);
  for (const auto& note : kernel_side.notes) notes.push_back("kernel: " + note);

  std::printf("\n### %s\n\n", section.title.c_str());
  print_row({"metric", "hourglass", "kernel", "ratio", "goal"});
  print_row({"---", "---:", "---:", "---:", "---"});
  for (const RowSpec& row : section.rows) {
    if (row.full_only && config.quick) continue;
    std::optional<double> ours = find(hourglass_sides[row.hourglass_mode].figures, row.key);
    std::optional<double> theirs = find(kernel_side.figures, row.key);
    std::optional<double> ratio;
    if (ours && theirs && *theirs > 0) ratio = *ours / *theirs;
    print_row({row.label, format_value(ours), format_value(theirs), format_ratio(ratio),
               format_goal(row, ratio)});
  }
  std::puts("");
  for (const auto& note : section.method_notes) std::printf("- %s\n", note.c_str());
  for (const auto& note : notes) std::printf("- %s\n", note.c_str());
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("- section time: %.1f s (both sides)\n", seconds);
  std::fflush(stdout);
}

Status run_checked(BenchObject& object, const std::string& program, bench_args& args) {
  auto retval = object.run(program, args);
  if (!retval.ok()) return retval.take_error();
  if (*retval != 0)
    return make_error(EINVAL, program + " returned " + std::to_string(*retval));
  if (args.errors != 0)
    return make_error(EINVAL, program + ": " + std::to_string(args.errors) +
                                  " helper calls returned an unexpected value");
  return {};
}

Status run_setup(BenchObject& object, const std::string& program, bench_args& args) {
  const bench_args original = args;
  for (int attempt = 0; attempt < 150; ++attempt) {
    args = original;
    auto retval = object.run(program, args);
    if (!retval.ok()) return retval.take_error();
    if (*retval != BENCH_RETVAL_NOMEM) {
      if (*retval != 0) return make_error(EINVAL, program + " returned " + std::to_string(*retval));
      if (args.errors != 0)
        return make_error(EINVAL, program + ": " + std::to_string(args.errors) +
                                      " helper calls returned an unexpected value");
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return make_error(ENOMEM, program + ": bpf_timer_init kept failing with -ENOMEM");
}

Result<double> per_op_ns(BenchObject& object, const std::string& program,
                         const std::string& baseline, const bench_args& args, int repetitions) {
  uint64_t fastest_op = UINT64_MAX, fastest_baseline = UINT64_MAX;
  for (int i = 0; i < repetitions; ++i) {
    bench_args op_args = args, baseline_args = args;
    if (auto ran = run_checked(object, baseline, baseline_args); !ran.ok()) return ran.take_error();
    if (auto ran = run_checked(object, program, op_args); !ran.ok()) return ran.take_error();
    fastest_baseline = std::min<uint64_t>(fastest_baseline, baseline_args.elapsed_ns);
    fastest_op = std::min<uint64_t>(fastest_op, op_args.elapsed_ns);
  }
  const double difference = static_cast<double>(fastest_op) - static_cast<double>(fastest_baseline);
  return std::max(0.0, difference) / static_cast<double>(std::max<uint64_t>(1, args.iterations));
}

void record(SideResult& side, const std::string& key, const Result<double>& value) {
  if (value.ok()) side.figures[key] = *value;
  else side.notes.push_back(key + ": " + value.error().message);
}

}  // namespace hourglass::bench
