// Sections 1 and 2: the cost of single timer operations, and of start as armed timers pile up
// (with the memory each armed timer takes).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "bench.h"

namespace hourglass::bench {
namespace {

void measure_timer_ops(Backend& backend, const BenchConfig& config, SideResult& side) {
  auto object = backend.load(config.object_path("bench_timer_ops"));
  if (!object.ok()) {
    side.notes.push_back("load: " + object.error().message);
    return;
  }
  bench_args setup_args{};
  if (auto setup = run_setup(**object, "setup", setup_args); !setup.ok()) {
    side.notes.push_back("setup: " + setup.error().message);
    return;
  }
  bench_args args{};
  args.iterations = config.quick ? 20000 : 200000;
  const int repetitions = config.quick ? 3 : 7;
  record(side, "start", per_op_ns(**object, "op_start", "baseline", args, repetitions));
  record(side, "cancel", per_op_ns(**object, "op_cancel", "baseline", args, repetitions));
  record(side, "set_callback", per_op_ns(**object, "op_set_callback", "baseline", args, repetitions));
  record(side, "start_cancel", per_op_ns(**object, "op_start_cancel", "baseline", args, repetitions));
}

constexpr uint64_t kAllScaleSizes[] = {1000, 10000, 100000, 1000000, 10000000};

std::vector<uint64_t> scale_sizes(const BenchConfig& config) {
  if (config.quick) return {1000, 10000};
  return {std::begin(kAllScaleSizes), std::end(kAllScaleSizes)};
}

std::string size_name(uint64_t size) {
  return size >= 1000000 ? std::to_string(size / 1000000) + "M" : std::to_string(size / 1000) + "k";
}

// bpf_loop runs at most 8M iterations (BPF_MAX_LOOPS): longer ranges go in chunks of this.
constexpr uint64_t kLoopChunk = 4'000'000;

// Runs `program` over slots [first, end) in chunks (param = chunk start, iterations = its
// length); sums the chunks' elapsed_ns and sink.
Result<bench_args> run_range(BenchObject& object, const std::string& program, uint64_t first,
                             uint64_t end) {
  bench_args total{};
  for (uint64_t chunk = first; chunk < end; chunk += kLoopChunk) {
    bench_args args{};
    args.param = chunk;
    args.iterations = std::min(kLoopChunk, end - chunk);
    if (auto ran = run_checked(object, program, args); !ran.ok()) return ran.take_error();
    total.elapsed_ns += args.elapsed_ns;
    total.sink += args.sink;
  }
  return total;
}

// Arms slots [first, end), running the range again while some inits fail with -ENOMEM and
// progress is still being made. Returns ns per timer of the first round when that round armed
// everything, 0 when it took several rounds (no clean figure), an error when arming stalled.
Result<double> arm_range(BenchObject& object, uint64_t first, uint64_t end) {
  uint64_t previous_unarmed = UINT64_MAX;
  int stalled_rounds = 0;
  for (int round = 0;; ++round) {
    auto arm = run_range(object, "arm", first, end);
    if (!arm.ok()) return arm.take_error();
    const uint64_t unarmed = arm->sink;
    if (unarmed == 0)
      return round == 0 ? static_cast<double>(arm->elapsed_ns) / static_cast<double>(end - first) : 0.0;
    stalled_rounds = unarmed < previous_unarmed ? 0 : stalled_rounds + 1;
    if (stalled_rounds >= 10)
      return make_error(ENOMEM, "bpf_timer_init returned -ENOMEM for " + std::to_string(unarmed) +
                                    " of " + std::to_string(end - first) + " timers, no progress");
    previous_unarmed = unarmed;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Makes slots [0, count) fall due at one instant (after they are all re-armed) and waits for
// their callbacks: millions of callbacks per second from the first expiry to the last callback.
Result<double> fire_rate(BenchObject& object, uint64_t count, double arm_ns_per_timer) {
  const std::vector<uint8_t> zero_stats(16, 0);
  if (auto reset = object.update("stats", 0, zero_stats); !reset.ok()) return reset.take_error();
  bench_args fire{};
  fire.iterations = std::min(count, kLoopChunk);
  fire.param2 = static_cast<uint64_t>(std::max(50e6, 3 * arm_ns_per_timer * static_cast<double>(count)));
  if (auto ran = run_checked(object, "fire_range", fire); !ran.ok()) return ran.take_error();
  const uint64_t due_ns = fire.sink;
  for (uint64_t chunk = kLoopChunk; chunk < count; chunk += kLoopChunk) {
    bench_args more{};
    more.param = chunk;
    more.param2 = due_ns;
    more.iterations = std::min(kLoopChunk, count - chunk);
    if (auto ran = run_checked(object, "fire_range_at", more); !ran.ok()) return ran.take_error();
  }
  // 10 s, or 2 us per timer at ten million: a figure far below 1 M/s still comes out.
  const auto allowance = std::chrono::microseconds(std::max<uint64_t>(10'000'000, 2 * count));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::nanoseconds(fire.param2) + allowance;
  std::this_thread::sleep_for(std::chrono::nanoseconds(fire.param2));
  while (std::chrono::steady_clock::now() < deadline) {
    auto bytes = object.lookup("stats", 0);
    if (!bytes.ok()) return bytes.take_error();
    uint64_t counters[2];
    std::memcpy(counters, bytes->data(), sizeof counters);
    if (counters[0] >= count) {
      if (counters[1] <= due_ns) return make_error(EINVAL, "callbacks ran before their expiry");
      return static_cast<double>(count) / static_cast<double>(counters[1] - due_ns) * 1e3;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return make_error(ETIME, "not every timer fired in time after their common expiry");
}

// Arms slots [0, size) cumulatively, size after size: the memory delta of each step is divided
// over the timers that step armed; the start cost is then taken on a random armed slot.
void measure_scale(Backend& backend, const BenchConfig& config, SideResult& side) {
  auto object = backend.load(config.object_path(config.quick ? "bench_scale" : "bench_scale_10m"));
  if (!object.ok()) {
    side.notes.push_back("load: " + object.error().message);
    return;
  }
  const std::vector<uint64_t> sizes = scale_sizes(config);
  if (auto touched = run_range(**object, "prefault", 0, sizes.back()); !touched.ok()) {
    side.notes.push_back("prefault: " + touched.error().message);
    return;
  }
  uint64_t armed = 0;
  for (uint64_t size : sizes) {
    const std::string name = size_name(size);
    const uint64_t memory_before = backend.memory_bytes();
    auto arm_ns = arm_range(**object, armed, size);
    if (!arm_ns.ok()) {
      side.notes.push_back("arm " + name + ": " + arm_ns.error().message);
      return;
    }
    const uint64_t memory_after = backend.memory_bytes();
    const double newly_armed = static_cast<double>(size - armed);
    if (*arm_ns > 0) side.figures["arm@" + name] = *arm_ns;
    side.figures["bytes@" + name] =
        memory_after > memory_before ? static_cast<double>(memory_after - memory_before) / newly_armed : 0;
    armed = size;

    bench_args args{};
    args.iterations = config.quick ? 20000 : 200000;
    args.param = size;
    const int repetitions = config.quick ? 3 : 5;
    record(side, "start@" + name, per_op_ns(**object, "op_start", "baseline", args, repetitions));
    // The same re-arm confined to the first 64 timers (always cached) while `size` stay armed:
    // the queue structure's own cost as it grows, apart from cache misses on cold timers.
    bench_args hot_args = args;
    hot_args.param = 64;
    record(side, "start_hot@" + name,
           per_op_ns(**object, "op_start", "baseline", hot_args, repetitions));
    record(side, "cancel_start@" + name,
           per_op_ns(**object, "op_cancel_start", "baseline", args, repetitions));
    const double arm_ns_estimate = *arm_ns > 0 ? *arm_ns : 2000;
    record(side, "fire@" + name, fire_rate(**object, size, arm_ns_estimate));
    // The fired timers are idle now: arm them again (unmeasured) before the next size.
    if (auto rearmed = arm_range(**object, 0, size); !rearmed.ok()) {
      side.notes.push_back("re-arm " + name + ": " + rearmed.error().message);
      return;
    }
  }
}

std::vector<RowSpec> scale_rows() {
  std::vector<RowSpec> rows;
  BenchConfig quick_config;
  quick_config.quick = true;
  const std::vector<uint64_t> quick_sizes = scale_sizes(quick_config);
  for (uint64_t size : kAllScaleSizes) {
    const std::string name = size_name(size);
    rows.push_back(goal_row("start@" + name, "start (re-arm) with " + name + " armed, ns/op",
                            size == 1000000 ? 0.3 : 0));
  }
  for (uint64_t size : kAllScaleSizes) {
    const std::string name = size_name(size);
    rows.push_back(plain_row("start_hot@" + name,
                             "start (re-arm) of a hot timer with " + name + " armed, ns/op"));
  }
  for (uint64_t size : kAllScaleSizes) {
    const std::string name = size_name(size);
    rows.push_back(plain_row("cancel_start@" + name,
                             "cancel+set_callback+start with " + name + " armed, ns/op"));
  }
  for (uint64_t size : kAllScaleSizes) {
    const std::string name = size_name(size);
    rows.push_back(plain_row("arm@" + name, "arm (init+set_callback+start) up to " + name + ", ns/timer"));
  }
  for (uint64_t size : kAllScaleSizes) {
    const std::string name = size_name(size);
    // Higher is better: as a default (lower-is-better) row the rounds kept their worst rate.
    rows.push_back(plain_row("fire@" + name, "fire rate, " + name + " due at once, M callbacks/s",
                             "default", Better::Higher));
  }
  for (uint64_t size : kAllScaleSizes) {
    const std::string name = size_name(size);
    rows.push_back(goal_row("bytes@" + name, "memory per armed timer up to " + name + ", bytes", 0.5));
  }
  for (RowSpec& row : rows) {
    const bool in_quick = std::any_of(quick_sizes.begin(), quick_sizes.end(), [&](uint64_t size) {
      return row.key.ends_with("@" + size_name(size));
    });
    row.full_only = !in_quick;
  }
  return rows;
}

}  // namespace

Section timer_ops_section() {
  Section section;
  section.id = "timer-ops";
  section.title = "1. Timer operation cost (one timer)";
  section.rows = {
      goal_row("start", "bpf_timer_start (re-arm of an armed timer), ns/op", 1.0),
      goal_row("cancel", "bpf_timer_cancel (idle timer), ns/op", 1.0),
      plain_row("set_callback", "bpf_timer_set_callback, ns/op"),
      goal_row("start_cancel", "set_callback+start+cancel (armed), ns/cycle", 1.0),
  };
  section.hourglass_modes = {{"default", RuntimeOptions{}}};
  section.measure = measure_timer_ops;
  section.method_notes = {
      "per op = (fastest loop with the op - fastest loop without it) / iterations; loops are bpf_loop "
      "bodies timed with bpf_ktime_get_ns() inside the program",
      "a cancel clears the callback (kernel semantics), so the arm/disarm cycle sets it again",
  };
  return section;
}

Section scale_section() {
  Section section;
  section.id = "scale";
  section.title = "2. Scale: start cost and memory as armed timers grow";
  section.rows = scale_rows();
  section.hourglass_modes = {{"default", RuntimeOptions{}}};
  section.measure = measure_scale;
  section.method_notes = {
      "timers armed at random expiries 1 h ahead; start re-arms a random armed timer, "
      "start of a hot timer re-arms one of 64 (cached) timers while the others stay armed (the "
      "queue structure's own cost), "
      "cancel+set_callback+start cancels one and arms it again; arm figures have no baseline "
      "subtracted (they include the lookup and bpf_get_prandom_u32); the full run arms up to 10M "
      "in a 10M-slot array, --quick up to 10k in a 1M-slot one",
      "memory is approximate: hourglass = RSS delta of this process around arming (values "
      "prefaulted first), kernel = /proc/meminfo Slab delta (system-wide) around arming",
  };
  return section;
}

}  // namespace hourglass::bench
