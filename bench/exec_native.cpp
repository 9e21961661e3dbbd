// Native baselines of section 6: the algorithms of bench/progs/bench_exec.bpf.c written in C++
// and compiled into hourglass-bench with the project's flags, timed the way a test-run times a
// program (a loop of `repeat` runs on one packet, mean per run of this thread's CPU time). Keep
// them in step with the BPF versions: same data read, same operations, same result bit.
#include <time.h>

#include <cstring>
#include <unordered_map>

#include "exec_native.h"

namespace hourglass::bench {
namespace {

constexpr uint32_t kXdpAborted = 0, kXdpDrop = 1, kXdpPass = 2;

uint32_t load_u32(const uint8_t* data, size_t index) {
  uint32_t value;
  std::memcpy(&value, data + 4 * index, sizeof value);
  return value;
}

uint32_t fnv1a_64(const uint8_t* data, size_t size) {
  if (size < 64) return kXdpAborted;
  uint32_t hash = 2166136261u;
  for (int i = 0; i < 64; i++) {
    hash ^= data[i];
    hash *= 16777619u;
  }
  return hash & 1 ? kXdpPass : kXdpDrop;
}

uint32_t arith_loop(const uint8_t* data, size_t size) {
  if (size < 16) return kXdpAborted;
  uint64_t x = load_u32(data, 0) | (static_cast<uint64_t>(load_u32(data, 1)) << 32);
  uint64_t y = load_u32(data, 2);
  for (uint32_t i = 0; i < 256; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    y ^= x >> 33;
    y = (y << 5) + (y >> 3) + i;
  }
  return (x ^ y) & 1 ? kXdpPass : kXdpDrop;
}

uint32_t sort32(const uint8_t* data, size_t size) {
  constexpr int kCount = 32;
  if (size < 4 * kCount) return kXdpAborted;
  uint64_t values[kCount];
  for (int i = 0; i < kCount; i++) values[i] = load_u32(data, i);
  for (int i = 1; i < kCount; i++) {
    for (int j = i; j > 0; j--) {
      const uint64_t a = values[j - 1], b = values[j];
      const uint64_t difference = b - a;
      const uint64_t swap = difference & static_cast<uint64_t>(static_cast<int64_t>(difference) >> 63);
      values[j - 1] = a + swap;
      values[j] = b - swap;
    }
  }
  return (values[0] ^ values[kCount / 2] ^ values[kCount - 1]) & 1 ? kXdpPass : kXdpDrop;
}

// The BPF program's hash map persists across runs; so does this one (one bench thread).
std::unordered_map<uint32_t, uint64_t>& native_counts() {
  static std::unordered_map<uint32_t, uint64_t> counts;
  return counts;
}

uint32_t map_loop(const uint8_t* data, size_t size) {
  if (size < 4) return kXdpAborted;
  auto& counts = native_counts();
  const uint32_t seed = load_u32(data, 0);
  uint64_t total = 0;
  for (uint32_t i = 0; i < 32; i++) {
    const uint32_t key = (seed + i * 37) % 128;
    auto found = counts.find(key);
    uint64_t* value = found == counts.end() ? nullptr : &found->second;
    if (value) {
      *value += i;
      total += *value;
    }
    if (!value || (i & 3) == 0) counts.insert_or_assign(key, total + i);
  }
  return total & 1 ? kXdpPass : kXdpDrop;
}

// bpf_loop's shape without the kernel's inlining: the callback called through a pointer that the
// compiler cannot see through, 64 times.
long empty_callback(uint64_t, void*) { return 0; }
long (*volatile loop_callback)(uint64_t, void*) = empty_callback;

uint32_t loop64(const uint8_t*, size_t) {
  constexpr uint64_t kIterations = 64;
  uint64_t iterations = 0;
  while (iterations < kIterations) {
    const long stop = loop_callback(iterations, nullptr);
    ++iterations;
    if (stop) break;
  }
  return iterations == kIterations ? kXdpPass : kXdpDrop;
}

// The clock Hourglass's test-run reads (src/runtime/test_run.cpp): this thread's CPU time, so
// that time other tasks had the CPU counts on neither side (the kernel's loop excludes it too).
uint64_t thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

using NativeProgram = uint32_t (*)(const uint8_t* data, size_t size);

NativeProgram find_native(const std::string& program) {
  if (program == "fnv1a_64") return fnv1a_64;
  if (program == "arith_loop") return arith_loop;
  if (program == "sort32") return sort32;
  if (program == "map_loop") return map_loop;
  if (program == "loop64") return loop64;
  return nullptr;
}

}  // namespace

Result<double> run_native(const std::string& program, const std::vector<uint8_t>& packet,
                          uint32_t repeat) {
  // Called through a volatile pointer, so the compiler can neither inline the program into the
  // loop nor hoist its work out of it: each run does the whole work, as a test-run's does.
  NativeProgram volatile function = find_native(program);
  if (!function) return make_error(ENOENT, "no native version of '" + program + "'");
  volatile uint32_t sink = 0;
  const uint64_t started = thread_cpu_ns();
  for (uint32_t i = 0; i < repeat; ++i) sink = sink + function(packet.data(), packet.size());
  return static_cast<double>(thread_cpu_ns() - started) / static_cast<double>(repeat ? repeat : 1);
}

}  // namespace hourglass::bench
