// Scale and concurrency: a million armed timers, the wheel against a reference ordering, and a
// multi-threaded storm of every operation while callbacks fire.
#include <cerrno>
#include <map>
#include <random>
#include <set>

#include "timer_test_util.h"
#include "timers/timer_wheel.h"

namespace hourglass::timers::testing {
namespace {

using maps::MapType;

TEST(TimerWheelTest, PopsInExpiryThenSequenceOrderAgainstAReference) {
  std::mt19937_64 rng(42);
  const uint64_t start = 5'000'000'000ull;
  TimerWheel wheel(start);
  std::vector<WheelNode> nodes(20000);
  std::set<std::pair<uint64_t, uint64_t>> reference;  // (expires, seq)
  std::map<std::pair<uint64_t, uint64_t>, WheelNode*> by_key;
  uint64_t now = start, seq = 0;
  auto random_delay = [&]() -> uint64_t {
    switch (rng() % 4) {
      case 0: return rng() % 2000;                 // same / next tick
      case 1: return rng() % 1'000'000;            // ~ms
      case 2: return rng() % 10'000'000'000ull;    // seconds
      default: return rng() % (1ull << 50);        // far
    }
  };
  size_t next_free = 0;
  for (int step = 0; step < 200000; ++step) {
    const int action = static_cast<int>(rng() % 10);
    if (action < 5 && next_free < nodes.size()) {
      WheelNode* node = &nodes[next_free++];
      node->expires = now + random_delay();
      const uint64_t node_seq = ++seq;
      wheel.insert(node, node_seq, now);
      reference.emplace(node->expires, node_seq);
      by_key[{node->expires, node_seq}] = node;
    } else if (action < 7 && !reference.empty()) {
      auto it = std::next(reference.begin(), static_cast<long>(rng() % reference.size()));
      WheelNode* node = by_key[*it];
      ASSERT_TRUE(wheel.remove(node));
      ASSERT_FALSE(wheel.remove(node));
      by_key.erase(*it);
      reference.erase(it);
    } else {
      now += random_delay() / 1000;
      while (WheelNode* due = wheel.peek_due(now)) {
        ASSERT_FALSE(reference.empty());
        ASSERT_EQ(std::make_pair(due->expires, due->seq()), *reference.begin());
        ASSERT_LE(due->expires, now);
        wheel.remove(due);
        by_key.erase(*reference.begin());
        reference.erase(reference.begin());
      }
      if (!reference.empty()) {
        ASSERT_GT(reference.begin()->first, now);
        ASSERT_LE(wheel.next_expiry_bound(), reference.begin()->first);
      }
    }
    ASSERT_EQ(wheel.size(), reference.size());
  }
}

class ScaleTest : public TimersTest {
 protected:
  FakeProgram prog;
};

TEST_F(ScaleTest, OneMillionTimersArmAndCancel) {
  constexpr uint32_t kTimers = kSanitized ? 100'000 : 1'000'000;
  auto engine = TimerEngine::create(real_options(2));
  MapHandle map = make_map(*engine, MapType::Array, kTimers);
  FakeCallback cb{prog, [](maps::Map*, const void*, void*) { ADD_FAILURE() << "fired"; }};
  std::mt19937_64 rng(7);
  for (uint32_t i = 0; i < kTimers; ++i) {
    void* timer = timer_of(element(*map, i));
    ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
    ASSERT_EQ(engine->timer_set_callback(timer, cb.target(), &prog), 0);
    // 1 hour to ~1 day ahead: spread over many wheel levels and slots.
    ASSERT_EQ(engine->timer_start(timer, 3'600'000'000'000ull + rng() % 80'000'000'000'000ull, 0), 0);
  }
  EXPECT_EQ(engine->armed_count(), kTimers);
  EXPECT_EQ(prog.refs.load(), 1u + kTimers);
  for (uint32_t i = 0; i < kTimers; i += 2) ASSERT_EQ(engine->timer_cancel(timer_of(element(*map, i))), 1);
  EXPECT_EQ(engine->armed_count(), kTimers / 2);
  map->release_user();  // frees the other half, armed
  EXPECT_EQ(engine->armed_count(), 0u);
  EXPECT_EQ(prog.refs.load(), 1u);
}

// Freed timers' objects are recycled while the wheel still holds stale entries for them (lazy
// removal): those entries must never fire the new timers, which fire once each, on time.
TEST_F(ScaleTest, RecycledTimerObjectsNeverFireThroughStaleEntries) {
  constexpr uint32_t kTimers = 2000;
  auto engine = TimerEngine::create(virtual_options());
  MapHandle map = make_map(*engine, MapType::Array, kTimers);
  std::vector<uint32_t> fired(kTimers, 0);
  bool second_phase = false;
  FakeCallback cb{prog, [&](maps::Map*, const void* key, void*) {
                    if (!second_phase) ADD_FAILURE() << "a freed timer fired";
                    ++fired[*static_cast<const uint32_t*>(key)];
                  }};
  auto arm_all = [&](uint64_t base_ns) {
    for (uint32_t i = 0; i < kTimers; ++i) {
      void* timer = timer_of(element(*map, i));
      ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
      ASSERT_EQ(engine->timer_set_callback(timer, cb.target(), &prog), 0);
      ASSERT_EQ(engine->timer_start(timer, base_ns + i * 1000, 0), 0);
    }
  };
  arm_all(3'600'000'000'000ull);  // an hour ahead: these entries go stale below
  map->release_user();            // frees every timer, armed
  map->acquire_user();
  maps::synchronize();  // the objects are back in the pool...
  maps::synchronize();
  second_phase = true;
  arm_all(1'000'000);  // ...and reused here, now due within a few milliseconds
  ASSERT_EQ(engine->armed_count(), kTimers);
  ASSERT_TRUE(engine->advance(2 * 3'600'000'000'000ull).ok());
  for (uint32_t i = 0; i < kTimers; ++i) ASSERT_EQ(fired[i], 1u) << "timer " << i;
  EXPECT_EQ(engine->fired_total(), kTimers);
  EXPECT_EQ(engine->armed_count(), 0u);
}

// Every operation from several threads on a small hash map while callbacks fire, re-arm and
// delete elements; a thread cycles the user reference. Counters must add up at the end.
TEST_F(ScaleTest, StormOfOperationsWhileCallbacksFire) {
  auto engine = TimerEngine::create(real_options(2));
  MapHandle map = make_map(*engine, MapType::Hash, 32, /*with_wq=*/true);
  FakeProgram other("other_prog");
  std::atomic<uint64_t> invoked{0};
  std::atomic<uint64_t> bad_returns{0};
  auto check = [&](long ret, std::initializer_list<long> allowed) {
    for (long a : allowed)
      if (ret == a) return;
    if (bad_returns++ < 5) ADD_FAILURE() << "unexpected " << ret ;
  };
  FakeCallback cb{prog, [&](maps::Map* m, const void* key, void* value) {
                    ++invoked;
                    auto* v = static_cast<Value*>(value);
                    switch (invoked.load() % 4) {
                      case 0: check(engine->timer_start(timer_of(v), 2000, 0), {0, -EINVAL}); break;
                      case 1: check(engine->timer_cancel(timer_of(v)), {-EDEADLK, -EINVAL}); break;
                      case 2: check(m->remove(key), {0, -ENOENT}); break;
                      default: check(engine->wq_start(wq_of(v), 0), {0, -EINVAL}); break;
                    }
                  }};
  FakeCallback other_cb{other, [&](maps::Map*, const void*, void*) { ++invoked; }};
  std::atomic<uint64_t> wq_invoked{0};
  FakeCallback wq_cb{prog, [&](maps::Map*, const void*, void*) { ++wq_invoked; }};
  FakeCallback wq_other_cb{other, [&](maps::Map*, const void*, void*) { ++wq_invoked; }};
  std::atomic<bool> stop{false};
  auto worker = [&](uint32_t seed) {
    set_current_vcpu(seed % 2);
    std::mt19937 rng(seed);
    while (!stop.load()) {
      maps::EpochGuard guard;  // like a program run: element pointers stay valid
      uint32_t key = rng() % 48;
      auto* v = static_cast<Value*>(map->lookup(&key));
      if (!v) {
        Value zero{};
        check(map->update(&key, &zero, maps::kNoExist), {0, -EEXIST, -E2BIG});
        continue;
      }
      const CallbackTarget* target = rng() % 2 ? cb.target() : other_cb.target();
      ProgramRef* caller = target == cb.target() ? static_cast<ProgramRef*>(&prog) : &other;
      switch (rng() % 9) {
        case 0: check(engine->timer_init(timer_of(v), map.get(), kClockMonotonic), {0, -EBUSY, -EPERM}); break;
        case 1: check(engine->timer_set_callback(timer_of(v), target, caller), {0, -EINVAL, -EPERM}); break;
        case 2:
        case 3: check(engine->timer_start(timer_of(v), rng() % 50'000, rng() % 2 ? kTimerCpuPin : 0), {0, -EINVAL}); break;
        case 4: check(engine->timer_cancel(timer_of(v)), {0, 1, -EINVAL}); break;
        case 5: check(map->remove(&key), {0, -ENOENT}); break;
        case 6: {
          Value zero{};
          check(map->update(&key, &zero, maps::kAny), {0, -E2BIG});
          break;
        }
        case 7: check(engine->wq_init(wq_of(v), map.get(), 0), {0, -EBUSY, -EPERM}); break;
        default:
          check(engine->wq_set_callback(wq_of(v), target == cb.target() ? wq_cb.target() : wq_other_cb.target(), 0,
                                        caller),
                {0, -EINVAL, -EPERM});
          check(engine->wq_start(wq_of(v), 0), {0, -EINVAL});
          break;
      }
    }
  };
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < 3; ++i) threads.emplace_back(worker, i + 1);
  threads.emplace_back([&] {
    while (!stop.load()) {
      map->release_user();  // cancels and frees every timer and wq
      map->acquire_user();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  stop = true;
  for (auto& t : threads) t.join();
  map->release_user();
  engine->quiesce();
  EXPECT_EQ(bad_returns.load(), 0u);
  EXPECT_EQ(engine->armed_count(), 0u);
  EXPECT_GT(invoked.load(), 0u);
  EXPECT_EQ(prog.refs.load(), 1u);
  EXPECT_EQ(other.refs.load(), 1u);
  const uint64_t timer_fires = engine->fired_total();
  EXPECT_EQ(timer_fires, invoked.load());  // every fire counted is one callback run
  EXPECT_GT(wq_invoked.load(), 0u);
  map->acquire_user();
  std::printf("storm: %lu timer callbacks, %lu wq callbacks\n",
              static_cast<unsigned long>(invoked.load()), static_cast<unsigned long>(wq_invoked.load()));
}

}  // namespace
}  // namespace hourglass::timers::testing
