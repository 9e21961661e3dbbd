// Sections 5 and 6: map operations from a BPF loop, and CPU-bound programs.
#include <algorithm>
#include <chrono>

#include "bench.h"
#include "exec_native.h"

namespace hourglass::bench {
namespace {

// Delete and insert change the table, so they alternate on one key range instead of going
// through per_op_ns: delete [start, start + n), then insert the same keys back.
void measure_delete_insert(BenchObject& object, uint64_t first_key, uint64_t count, int repetitions,
                           SideResult& side) {
  uint64_t fastest_delete = UINT64_MAX, fastest_insert = UINT64_MAX, fastest_baseline = UINT64_MAX;
  for (int i = 0; i < repetitions; ++i) {
    bench_args removed{}, inserted{}, baseline{};
    removed.iterations = inserted.iterations = baseline.iterations = count;
    removed.param = inserted.param = baseline.param = first_key;
    if (auto ran = run_checked(object, "sequential_baseline", baseline); !ran.ok()) {
      side.notes.push_back("baseline: " + ran.error().message);
      return;
    }
    if (auto ran = run_checked(object, "hash_delete", removed); !ran.ok()) {
      side.notes.push_back("hash delete: " + ran.error().message);
      return;
    }
    if (auto ran = run_checked(object, "hash_insert", inserted); !ran.ok()) {
      side.notes.push_back("hash insert: " + ran.error().message);
      return;
    }
    fastest_baseline = std::min<uint64_t>(fastest_baseline, baseline.elapsed_ns);
    fastest_delete = std::min<uint64_t>(fastest_delete, removed.elapsed_ns);
    fastest_insert = std::min<uint64_t>(fastest_insert, inserted.elapsed_ns);
  }
  auto per_op = [&](uint64_t fastest) {
    return std::max(0.0, static_cast<double>(fastest) - static_cast<double>(fastest_baseline)) /
           static_cast<double>(count);
  };
  side.figures["hash_delete"] = per_op(fastest_delete);
  side.figures["hash_insert"] = per_op(fastest_insert);
}

void measure_maps(Backend& backend, const BenchConfig& config, SideResult& side) {
  auto object = backend.load(config.object_path("bench_maps"));
  if (!object.ok()) {
    side.notes.push_back("load: " + object.error().message);
    return;
  }
  const uint64_t entries = config.quick ? 100000 : 1000000;
  bench_args fill{};
  fill.iterations = entries;
  if (auto filled = run_checked(**object, "hash_insert", fill); !filled.ok()) {
    side.notes.push_back("fill: " + filled.error().message);
    return;
  }
  const int repetitions = config.quick ? 3 : 5;
  bench_args args{};
  args.iterations = config.quick ? 20000 : 200000;
  args.param = entries;
  record(side, "hash_lookup", per_op_ns(**object, "hash_lookup", "random_baseline", args, repetitions));
  record(side, "hash_update", per_op_ns(**object, "hash_update", "random_baseline", args, repetitions));
  measure_delete_insert(**object, 0, args.iterations, repetitions, side);
  record(side, "array_lookup", per_op_ns(**object, "array_lookup", "random_baseline", args, repetitions));
  record(side, "array_update", per_op_ns(**object, "array_update", "random_baseline", args, repetitions));
}

double nanoseconds_since(std::chrono::steady_clock::time_point started) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count());
}

// The programs of bench/progs/bench_exec.bpf.c, each also compiled natively (exec_native.cpp).
struct ExecProgram {
  const char* name;
  const char* label;
  size_t packet_size;
  uint32_t repeat;  // runs per test-run (a tenth with --quick)
};

constexpr ExecProgram kExecPrograms[] = {
    {"fnv1a_64", "fnv1a 64 B", 64, 200000},
    {"arith_loop", "arithmetic loop (256 rounds)", 128, 20000},
    {"sort32", "insertion sort of 32 u32 on the stack", 128, 20000},
    {"map_loop", "hash map loop (32 lookups, 8 updates)", 128, 20000},
    {"loop64", "bpf_loop, 64 iterations of an empty callback", 64, 20000},
};

// Bytes i*7+1 (the original FNV packet) for the first 64, pseudo-random words after: the sort
// then has about n^2/4 moves to make.
std::vector<uint8_t> exec_packet(size_t size) {
  std::vector<uint8_t> packet(size);
  uint32_t state = 12345;
  for (size_t i = 0; i < size; ++i) {
    state = state * 1103515245u + 12345u;
    packet[i] = i < 64 ? static_cast<uint8_t>(i * 7 + 1) : static_cast<uint8_t>(state >> 16);
  }
  return packet;
}

// The fixed cost of one test-run call (context set-up, engine entry, copy-out; the syscall on
// the kernel's side): empty programs run with repeat 1, wall time per call, fastest batch.
void measure_test_run_calls(BenchObject& object, const BenchConfig& config, SideResult& side) {
  const int calls = config.quick ? 200 : 2000;
  const std::vector<uint8_t> packet = exec_packet(64);
  double fastest_xdp = 0, fastest_syscall = 0;
  for (int batch = 0; batch < 3; ++batch) {
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) {
      if (auto ran = object.run_packet("xdp_nop", packet, 1); !ran.ok()) {
        side.notes.push_back("xdp_nop: " + ran.error().message);
        return;
      }
    }
    const double xdp = nanoseconds_since(started) / calls;
    started = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) {
      bench_args args{};
      if (auto ran = object.run("syscall_nop", args); !ran.ok()) {
        side.notes.push_back("syscall_nop: " + ran.error().message);
        return;
      }
    }
    const double syscall = nanoseconds_since(started) / calls;
    fastest_xdp = batch == 0 ? xdp : std::min(fastest_xdp, xdp);
    fastest_syscall = batch == 0 ? syscall : std::min(fastest_syscall, syscall);
  }
  side.figures["call.xdp"] = fastest_xdp;
  side.figures["call.syscall"] = fastest_syscall;
}

// Figures per program: `name` = ns/run of the backend, `name.native` = ns/run of the native
// version measured in the same round, `name.over_native` = their ratio.
void measure_exec(Backend& backend, const BenchConfig& config, SideResult& side) {
  auto object = backend.load(config.object_path("bench_exec"));
  if (!object.ok()) {
    side.notes.push_back("load: " + object.error().message);
    return;
  }
  const int repetitions = config.quick ? 2 : 5;
  for (const ExecProgram& program : kExecPrograms) {
    const std::vector<uint8_t> packet = exec_packet(program.packet_size);
    const uint32_t repeat = config.quick ? program.repeat / 10 : program.repeat;
    double fastest = 0, fastest_native = 0;
    bool failed = false;
    // Alternating, so that a busy moment of the machine hits both alike.
    for (int i = 0; i < repetitions && !failed; ++i) {
      auto mean = (*object)->run_packet(program.name, packet, repeat);
      auto native = run_native(program.name, packet, repeat);
      if (!mean.ok() || !native.ok()) {
        side.notes.push_back(std::string(program.name) + ": " +
                             (mean.ok() ? native.error() : mean.error()).message);
        failed = true;
        break;
      }
      fastest = i == 0 ? *mean : std::min(fastest, *mean);
      fastest_native = i == 0 ? *native : std::min(fastest_native, *native);
    }
    if (failed) continue;
    side.figures[program.name] = fastest;
    side.figures[std::string(program.name) + ".native"] = fastest_native;
    if (fastest_native > 0)
      side.figures[std::string(program.name) + ".over_native"] = fastest / fastest_native;
  }
  measure_test_run_calls(**object, config, side);
}

}  // namespace

Section maps_section() {
  Section section;
  section.id = "maps";
  section.title = "5. Map operations from a BPF loop (hash and array, 1M entries)";
  section.rows = {
      plain_row("hash_lookup", "hash lookup (hit, random key), ns/op"),
      plain_row("hash_update", "hash update (existing, random key), ns/op"),
      plain_row("hash_delete", "hash delete, ns/op"),
      plain_row("hash_insert", "hash insert (new key), ns/op"),
      plain_row("array_lookup", "array lookup (random index), ns/op"),
      plain_row("array_update", "array update (random index), ns/op"),
  };
  section.hourglass_modes = {{"default", RuntimeOptions{}}};
  section.measure = measure_maps;
  section.method_notes = {
      "u32 keys, u64 values; random keys from bpf_get_prandom_u32() % entries, whose cost the "
      "baseline loop removes; --quick fills only 100k entries",
  };
  return section;
}

Section exec_section() {
  Section section;
  section.id = "exec";
  section.title = "6. CPU-bound programs (XDP test-run): interpreter, JIT, kernel JIT, native C++";
  for (const ExecProgram& program : kExecPrograms) {
    const std::string name = program.name, label = program.label;
    section.rows.push_back(plain_row(name, label + ", interpreter, ns/run", "interpreter"));
    section.rows.push_back(goal_row(name, label + ", JIT, ns/run", 1.1, Better::Lower, "jit"));
    section.rows.push_back(plain_row(name + ".native", label + ", native C++, ns/run", "jit"));
    section.rows.push_back(plain_row(name + ".over_native", label + ", JIT / native C++", "jit"));
  }
  section.rows.push_back(
      plain_row("call.xdp", "test-run call, empty XDP program (repeat 1, 64 B), ns/call", "jit"));
  section.rows.push_back(
      plain_row("call.syscall", "test-run call, empty syscall program (64 B ctx), ns/call", "jit"));
  RuntimeOptions interpreter, jit;
  interpreter.engine = ExecEngine::Interpreter;
  jit.engine = ExecEngine::Jit;
  section.hourglass_modes = {{"interpreter", interpreter}, {"jit", jit}};
  section.measure = measure_exec;
  section.method_notes = {
      "ns/run: mean per run as the test-run reports it (BPF_PROG_TEST_RUN with repeat: both "
      "runtimes time their own loop), fastest of several test-runs",
      "interpreter and JIT rows: the kernel column is the kernel's JIT on the same .bpf.o",
      "native C++: the same algorithm compiled into hourglass-bench (exec_native.cpp), called "
      "through a function pointer per run; measured beside each side, so its ratio shows the noise",
      "JIT / native C++: hourglass column = Hourglass JIT / native, kernel column = kernel JIT / "
      "native; uBPF publishes about 1.1-1.2x native on such loops (not measured here)",
      "test-run call rows: wall time per call of an empty program with repeat 1 (the kernel's "
      "includes the bpf() syscall), fastest of 3 batches",
  };
  return section;
}

Section timer_ops_section();
Section scale_section();
Section lateness_section();
Section throughput_section();

std::vector<Section> all_sections() {
  return {timer_ops_section(), scale_section(),  lateness_section(),
          throughput_section(), maps_section(),  exec_section()};
}

}  // namespace hourglass::bench
