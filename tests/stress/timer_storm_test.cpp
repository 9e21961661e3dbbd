// Timer storm through the public API (tests/progs/stress_storm.bpf.c): program threads on several
// virtual CPUs init/start/cancel/set_callback timers and update/delete elements of array, hash
// and LRU maps while callbacks fire, re-arm and delete their own elements; application threads
// update/delete/look up the same maps; another thread drops the last user reference of two maps
// mid-storm. Afterwards every counter must add up, no timer may survive its map, and the runtime
// must shut down.
//
// Scale: HG_STRESS_SCALE=<n> multiplies the number of operations (default 1: about a second;
// e.g. HG_STRESS_SCALE=100 for a long run). Sanitized builds run a quarter of the default.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "test_support.h"

namespace hourglass::testing {
namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || defined(HOURGLASS_SANITIZED)
constexpr uint32_t kSanitizerDivisor = 4;
#else
constexpr uint32_t kSanitizerDivisor = 1;
#endif

constexpr uint32_t kCpus = 4;
constexpr uint32_t kProgramThreads = 4;
constexpr uint32_t kAppThreads = 2;
constexpr uint32_t kRepeat = 50;  // storm runs per test_run call
constexpr uint32_t kValueSize = 24;  // struct elem: u64 fires + struct bpf_timer
constexpr uint32_t kTimerOffset = 8;

uint32_t stress_scale() {
  const char* text = std::getenv("HG_STRESS_SCALE");
  const long scale = text ? std::strtol(text, nullptr, 10) : 1;
  return scale > 0 ? static_cast<uint32_t>(scale) : 1;
}

// test_run calls per program thread.
uint32_t program_rounds() { return 4800 * stress_scale() / kSanitizerDivisor; }
// Operations per application thread.
uint32_t app_ops() { return 120000 * stress_scale() / kSanitizerDivisor; }

struct StormCounters {
  std::atomic<uint64_t> runs{0};             // storm program runs completed
  std::atomic<uint64_t> run_failures{0};     // test_run errors or non-zero retval
  std::atomic<uint64_t> app_unexpected{0};   // application-side error codes outside the allowed set
  std::atomic<uint64_t> timer_bytes_leaked{0};  // lookups that showed non-zero bpf_timer bytes
  std::atomic<uint64_t> app_ops{0};
};

void run_program_thread(const ProgramHandle& storm, uint32_t cpu, StormCounters& counters) {
  TestRunOptions options;
  options.repeat = kRepeat;
  options.cpu = cpu;
  const uint32_t rounds = program_rounds();
  for (uint32_t round = 0; round < rounds; ++round) {
    auto result = storm.test_run(options);
    if (!result.ok() || result->retval != 0) counters.run_failures.fetch_add(1);
    counters.runs.fetch_add(kRepeat);
  }
}

bool is_allowed(const Status& status, std::initializer_list<int> allowed_errnos) {
  if (status.ok()) return true;
  for (int code : allowed_errnos)
    if (status.error().code == code) return true;
  return false;
}

// Application-side operations with the bpf() syscall's codes: arrays cannot delete (EINVAL), a
// full preallocated hash refuses new keys (E2BIG), an LRU evicts (ENOMEM only when no node can be
// found at all). Lookups must never show the kernel-private bpf_timer bytes.
void run_app_thread(std::vector<MapHandle> storm_maps, uint32_t seed, StormCounters& counters) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> value(kValueSize, 0);
  const uint32_t ops = app_ops();
  for (uint32_t i = 0; i < ops; ++i) {
    MapHandle& map = storm_maps[rng() % storm_maps.size()];
    const bool is_array = map.type() == 2 /* BPF_MAP_TYPE_ARRAY */;
    const uint32_t key = rng() % (map.max_entries() + (is_array ? 0 : map.max_entries() / 2));
    uint64_t fires_value = rng();
    std::memcpy(value.data(), &fires_value, sizeof(fires_value));
    std::memset(value.data() + kTimerOffset, 0xab, kValueSize - kTimerOffset);  // must be ignored
    bool allowed = true;
    switch (rng() % 4) {
      case 0:
        allowed = is_allowed(map.update(&key, value.data(), 0 /* BPF_ANY */), {E2BIG, ENOMEM});
        break;
      case 1:
      {
        const Status removed = map.remove(&key);
        allowed = is_array ? (!removed.ok() && removed.error().code == EINVAL)
                           : is_allowed(removed, {ENOENT});
        break;
      }
      case 2: {
        auto looked_up = map.lookup(&key);
        if (looked_up.ok()) {
          if (looked_up->size() != kValueSize) allowed = false;
          for (uint32_t b = kTimerOffset; allowed && b < looked_up->size(); ++b)
            if ((*looked_up)[b] != 0) {
              counters.timer_bytes_leaked.fetch_add(1);
              break;
            }
        } else if (looked_up.error().code != ENOENT) {
          allowed = false;
        }
        break;
      }
      default: {
        auto next = map.next_key(&key);
        if (!next.ok() && next.error().code != ENOENT) allowed = false;
        break;
      }
    }
    if (!allowed) counters.app_unexpected.fetch_add(1);
    counters.app_ops.fetch_add(1);
  }
}

template <class T>
T read_global(const Object& object, const char* name) {
  return global<T>(object, name);
}

TEST(TimerStorm, CountersAddUpAndEveryTimerDiesWithItsMap) {
  auto runtime = make_runtime(/*virtual_time=*/false, kCpus);
  ASSERT_NE(runtime, nullptr);
  Object object = load(*runtime, "stress_storm");
  const ProgramHandle* storm = object.program("storm");
  ASSERT_NE(storm, nullptr);

  // The application's own handles on the three storm maps (extra user references). The victim
  // maps have only the object's handle, so release_map drops their last user reference.
  std::vector<MapHandle> storm_maps = {object.map("arr"), object.map("hash"), object.map("lru")};
  for (const MapHandle& map : storm_maps) ASSERT_TRUE(map.valid());
  ASSERT_TRUE(object.map("victim_hash").valid());
  ASSERT_TRUE(object.map("victim_arr").valid());

  StormCounters counters;
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kProgramThreads; ++t)
    threads.emplace_back(run_program_thread, std::cref(*storm), t % kCpus, std::ref(counters));
  for (uint32_t t = 0; t < kAppThreads; ++t)
    threads.emplace_back(run_app_thread, storm_maps, 1234 + t, std::ref(counters));

  // Mid-storm, drop the victims' last user references: their timers are cancelled and freed
  // while programs and callbacks keep using them, and init then answers -EPERM.
  const uint64_t total_runs = uint64_t{kProgramThreads} * program_rounds() * kRepeat;
  std::thread releaser([&] {
    while (counters.runs.load() < total_runs / 3) std::this_thread::yield();
    EXPECT_TRUE(object.release_map("victim_hash"));
    while (counters.runs.load() < total_runs / 2) std::this_thread::yield();
    EXPECT_TRUE(object.release_map("victim_arr"));
  });
  for (std::thread& thread : threads) thread.join();
  releaser.join();

  EXPECT_EQ(counters.runs.load(), total_runs);
  EXPECT_EQ(counters.run_failures.load(), 0u);
  EXPECT_EQ(counters.app_unexpected.load(), 0u);
  EXPECT_EQ(counters.timer_bytes_leaked.load(), 0u);
  EXPECT_FALSE(object.map("victim_hash").valid());

  // Releasing the last user reference of every timer map cancels and frees all timers, even
  // those whose callbacks keep re-arming.
  storm_maps.clear();
  for (const char* name : {"arr", "hash", "lru"}) EXPECT_TRUE(object.release_map(name));
  runtime->quiesce_timers();
  EXPECT_TRUE(runtime->timers().empty()) << runtime->timers().size() << " timers survived";
  const uint64_t fired = runtime->timers_fired();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(runtime->timers_fired(), fired) << "a callback ran after its map lost its users";

  // Every callback invocation the engine made was counted exactly once by the program.
  const auto callbacks = read_global<uint64_t>(object, "callbacks");
  EXPECT_EQ(callbacks, fired);
  EXPECT_EQ(read_global<uint64_t>(object, "storm_runs"), total_runs);
  const auto unexpected = read_global<uint64_t>(object, "unexpected");
  const auto last_bad = read_global<uint64_t>(object, "last_bad");
  EXPECT_EQ(unexpected, 0u) << "helper " << (last_bad >> 32) << " returned "
                            << static_cast<int32_t>(last_bad & 0xffffffff);
  std::cout << "storm: " << total_runs << " program runs, " << counters.app_ops.load()
            << " application ops, " << callbacks << " callbacks, "
            << read_global<uint64_t>(object, "inits_ok") << " inits, "
            << read_global<uint64_t>(object, "starts_ok") << " starts, "
            << read_global<uint64_t>(object, "cancels_armed") << " cancels of armed timers, "
            << read_global<uint64_t>(object, "self_deadlk") << " self-cancels, "
            << read_global<uint64_t>(object, "self_cancel_reused") << " on a re-created timer, "
            << read_global<uint64_t>(object, "self_deletes") << " self-deletes, "
            << read_global<uint64_t>(object, "eperm_seen") << " EPERM after release, "
            << read_global<uint64_t>(object, "lru_enomem") << " LRU ENOMEM\n";
  // The storm really did what it is for (each is overwhelmingly likely at the default scale).
  EXPECT_GT(callbacks, 0u);
  EXPECT_GT(read_global<uint64_t>(object, "inits_ok"), 0u);
  EXPECT_GT(read_global<uint64_t>(object, "starts_ok"), 0u);
  EXPECT_GT(read_global<uint64_t>(object, "cancels_armed"), 0u);
  EXPECT_GT(read_global<uint64_t>(object, "self_deadlk"), 0u);
  EXPECT_GT(read_global<uint64_t>(object, "self_deletes"), 0u);
  EXPECT_GT(read_global<uint64_t>(object, "eperm_seen"), 0u);

  object = Object{};
  runtime.reset();  // shutdown completes (a hang fails by CTest timeout)
}

// Shutdown under load: the object and the runtime go away while timers are armed and callbacks
// are firing and re-arming; nothing may crash, hang or leak (LSan in the address build).
TEST(TimerStorm, ShutdownWhileCallbacksFire) {
  auto runtime = make_runtime(/*virtual_time=*/false, kCpus);
  ASSERT_NE(runtime, nullptr);
  Object object = load(*runtime, "stress_storm");
  const ProgramHandle* storm = object.program("storm");
  ASSERT_NE(storm, nullptr);
  StormCounters counters;
  std::vector<std::thread> threads;
  const uint32_t rounds = std::max(1u, program_rounds() / 8);
  for (uint32_t t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      TestRunOptions options;
      options.repeat = kRepeat;
      options.cpu = t;
      for (uint32_t round = 0; round < rounds; ++round) {
        auto result = storm->test_run(options);
        if (!result.ok() || result->retval != 0) counters.run_failures.fetch_add(1);
      }
    });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counters.run_failures.load(), 0u);
  EXPECT_EQ(global<uint64_t>(object, "unexpected"), 0u);
  object = Object{};  // drops maps (timers die) and programs with callbacks possibly running
  runtime.reset();
}

}  // namespace
}  // namespace hourglass::testing
