// Sections 5 and 6: map operations from a BPF loop, and a CPU-bound program.
#include <algorithm>

#include "bench.h"

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

void measure_exec(Backend& backend, const BenchConfig& config, SideResult& side) {
  auto object = backend.load(config.object_path("bench_exec"));
  if (!object.ok()) {
    side.notes.push_back("load: " + object.error().message);
    return;
  }
  std::vector<uint8_t> packet(64);
  for (size_t i = 0; i < packet.size(); ++i) packet[i] = static_cast<uint8_t>(i * 7 + 1);
  const uint32_t repeat = config.quick ? 20000 : 200000;
  double fastest = 0;
  for (int i = 0; i < (config.quick ? 2 : 5); ++i) {
    auto mean = (*object)->run_packet("fnv1a_64", packet, repeat);
    if (!mean.ok()) {
      side.notes.push_back("fnv1a_64: " + mean.error().message);
      return;
    }
    fastest = i == 0 ? *mean : std::min(fastest, *mean);
  }
  side.figures["fnv1a"] = fastest;
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
  section.title = "6. CPU-bound program: FNV-1a over a 64-byte packet (XDP test-run)";
  section.rows = {
      plain_row("fnv1a", "fnv1a 64 B, hourglass interpreter vs kernel JIT, ns/run", "interpreter"),
      plain_row("fnv1a", "fnv1a 64 B, hourglass JIT vs kernel JIT, ns/run", "jit"),
  };
  RuntimeOptions interpreter, jit;
  interpreter.engine = ExecEngine::Interpreter;
  jit.engine = ExecEngine::Jit;
  section.hourglass_modes = {{"interpreter", interpreter}, {"jit", jit}};
  section.measure = measure_exec;
  section.method_notes = {"mean ns per run as the test-run reports it (fastest of several test-runs)"};
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
