// Callbacks under virtual time: arguments, re-arming, ABS, self-cancel, deleting the own element,
// switching callbacks, deterministic ordering, and a long periodic run.
#include <cerrno>
#include <tuple>
#include <vector>

#include "timer_test_util.h"

namespace hourglass::timers::testing {
namespace {

using maps::MapType;

class CallbackTest : public TimersTest {
 protected:
  std::unique_ptr<TimerEngine> engine = TimerEngine::create(virtual_options());
  FakeProgram prog;

  void arm(maps::Map& map, Value* v, const FakeCallback& cb, uint64_t ns, uint64_t flags = 0,
           uint32_t clock = kClockMonotonic) {
    ASSERT_EQ(engine->timer_init(timer_of(v), &map, clock), 0);
    ASSERT_EQ(engine->timer_set_callback(timer_of(v), cb.target(), &prog), 0);
    ASSERT_EQ(engine->timer_start(timer_of(v), ns, flags), 0);
  }
};

TEST_F(CallbackTest, ArrayCallbackGetsMapIndexAndValue) {
  MapHandle map = make_map(*engine, MapType::Array, 8);
  Value* v = element(*map, 5);
  maps::Map* seen_map = nullptr;
  uint32_t seen_index = 99;
  void* seen_value = nullptr;
  FakeCallback cb{prog, [&](maps::Map* m, const void* key, void* value) {
                    seen_map = m;
                    std::memcpy(&seen_index, key, 4);
                    seen_value = value;
                  }};
  arm(*map, v, cb, 1000);
  ASSERT_TRUE(engine->advance(999).ok());
  EXPECT_EQ(seen_value, nullptr);  // not due yet
  ASSERT_TRUE(engine->advance(1).ok());
  EXPECT_EQ(seen_map, map.get());
  EXPECT_EQ(seen_index, 5u);
  EXPECT_EQ(seen_value, v);
  EXPECT_EQ(engine->fired_total(), 1u);
  EXPECT_EQ(prog.refs.load(), 2u);  // the timer still holds its reference after firing
}

TEST_F(CallbackTest, HashCallbackGetsElementKey) {
  MapHandle map = make_map(*engine, MapType::Hash, 8, false, 8);
  uint64_t key = 0x1122334455667788ull;
  Value zero{};
  ASSERT_EQ(map->update(&key, &zero, maps::kNoExist), 0);
  auto* v = static_cast<Value*>(map->lookup(&key));
  uint64_t seen_key = 0;
  FakeCallback cb{prog, [&](maps::Map*, const void* k, void*) { std::memcpy(&seen_key, k, 8); }};
  arm(*map, v, cb, 0);
  ASSERT_TRUE(engine->advance(0).ok());  // 0 ns = as soon as possible
  EXPECT_EQ(seen_key, key);
}

TEST_F(CallbackTest, PeriodicRearmFromCallback) {
  MapHandle map = make_map(*engine, MapType::Array, 1);
  Value* v = element(*map, 0);
  int runs = 0;
  std::vector<uint64_t> fire_times;
  FakeCallback cb{prog, [&](maps::Map*, const void*, void* value) {
                    ++runs;
                    fire_times.push_back(engine->now(kClockMonotonic));
                    if (runs < 10) {
                      EXPECT_EQ(engine->timer_start(timer_of(static_cast<Value*>(value)), 1'000'000, 0), 0);
                    }
                  }};
  const uint64_t start = engine->now(kClockMonotonic);
  arm(*map, v, cb, 1'000'000);
  ASSERT_TRUE(engine->advance(100'000'000).ok());
  EXPECT_EQ(runs, 10);
  ASSERT_EQ(fire_times.size(), 10u);
  for (size_t i = 0; i < fire_times.size(); ++i) EXPECT_EQ(fire_times[i], start + (i + 1) * 1'000'000);
  EXPECT_EQ(engine->now(kClockMonotonic), start + 100'000'000);
}

TEST_F(CallbackTest, AbsoluteBoottimeExpiry) {
  MapHandle map = make_map(*engine, MapType::Array, 1);
  Value* v = element(*map, 0);
  uint64_t abs_data = 0;
  FakeCallback cb{prog, [&](maps::Map*, const void*, void* value) {
                    abs_data += 6;
                    const uint64_t now = engine->now(kClockBoottime);
                    const uint64_t next = abs_data < 12 ? now + 1000 : now + (1ull << 35);
                    EXPECT_EQ(engine->timer_start(timer_of(static_cast<Value*>(value)), next, kTimerAbs), 0);
                  }};
  const uint64_t now = engine->now(kClockBoottime);
  arm(*map, v, cb, now + 1000, kTimerAbs, kClockBoottime);
  ASSERT_TRUE(engine->advance(1'000'000).ok());
  EXPECT_EQ(abs_data, 12u);
  EXPECT_EQ(engine->armed_count(), 1u);  // parked 2^35 ns ahead
  ASSERT_EQ(engine->list_timers().size(), 1u);
  EXPECT_EQ(engine->list_timers()[0].expires_ns, now + 2000 + (1ull << 35));
  // An absolute expiry in the past fires at once.
  ASSERT_EQ(engine->timer_start(timer_of(v), 1, kTimerAbs), 0);
  ASSERT_TRUE(engine->advance(0).ok());
  EXPECT_EQ(abs_data, 18u);
}

TEST_F(CallbackTest, SelftestTimerRules_CancelOtherSelfDeadlockDeleteOwnElement) {
  // Mirrors progs/timer.c cb2 on its last run: cancel(other armed) == 1, cancel(self) ==
  // -EDEADLK, delete own element, then start(self) == -EINVAL.
  MapHandle array = make_map(*engine, MapType::Array, 2);
  MapHandle hash = make_map(*engine, MapType::Hash, 4);
  FakeCallback never{prog, [](maps::Map*, const void*, void*) { ADD_FAILURE() << "cancelled timer ran"; }};
  Value* other = element(*array, 1);
  arm(*array, other, never, 1'000'000'000);
  long cancel_other = 0, cancel_self = 0, delete_ret = 0, start_after = 0, cancel_after = 0;
  FakeCallback cb{prog, [&](maps::Map* m, const void* key, void* value) {
                    cancel_other = engine->timer_cancel(timer_of(other));
                    cancel_self = engine->timer_cancel(timer_of(static_cast<Value*>(value)));
                    delete_ret = m->remove(key);
                    start_after = engine->timer_start(timer_of(static_cast<Value*>(value)), 1000, 0);
                    cancel_after = engine->timer_cancel(timer_of(static_cast<Value*>(value)));
                  }};
  arm(*hash, element(*hash, 2), cb, 1000);
  EXPECT_EQ(prog.refs.load(), 3u);
  ASSERT_TRUE(engine->advance(10'000).ok());
  EXPECT_EQ(cancel_other, 1);
  EXPECT_EQ(cancel_self, -EDEADLK);
  EXPECT_EQ(delete_ret, 0);
  EXPECT_EQ(start_after, -EINVAL);
  EXPECT_EQ(cancel_after, -EINVAL);
  EXPECT_EQ(prog.refs.load(), 1u);
  EXPECT_EQ(engine->armed_count(), 0u);
  ASSERT_TRUE(engine->advance(2'000'000'000).ok());
  EXPECT_EQ(engine->fired_total(), 1u);
}

TEST_F(CallbackTest, LruEvictionFromOwnCallbackMakesCancelInvalid) {
  MapHandle lru = make_map(*engine, MapType::LruHash, 4);
  long cancel_after = 0;
  FakeCallback cb{prog, [&](maps::Map* m, const void*, void* value) {
                    Value zero{};
                    for (uint32_t k = 100; k < 140; ++k) m->update(&k, &zero, maps::kAny);  // evicts us
                    cancel_after = engine->timer_cancel(timer_of(static_cast<Value*>(value)));
                  }};
  arm(*lru, element(*lru, 0), cb, 10);
  ASSERT_TRUE(engine->advance(100).ok());
  EXPECT_EQ(engine->fired_total(), 1u);
  EXPECT_EQ(cancel_after, -EINVAL);
  EXPECT_EQ(prog.refs.load(), 1u);
}

TEST_F(CallbackTest, CallbacksSwitchAndArmOthersDuringAdvance) {
  MapHandle map = make_map(*engine, MapType::Array, 2);
  Value* a = element(*map, 0);
  Value* b = element(*map, 1);
  std::vector<std::string> trace;
  FakeCallback* cb2_ptr = nullptr;
  FakeCallback cb1{prog, [&](maps::Map*, const void*, void* value) {
                     trace.push_back("cb1@" + std::to_string(engine->now(kClockMonotonic)));
                     auto* v = static_cast<Value*>(value);
                     EXPECT_EQ(engine->timer_set_callback(timer_of(v), cb2_ptr->target(), &prog), 0);
                     EXPECT_EQ(engine->timer_start(timer_of(v), 100, 0), 0);
                     EXPECT_EQ(engine->timer_start(timer_of(b), 50, 0), 0);  // due before target
                   }};
  FakeCallback cb2{prog, [&](maps::Map*, const void*, void* value) {
                     trace.push_back("cb2@" + std::to_string(engine->now(kClockMonotonic)));
                     auto* v = static_cast<Value*>(value);
                     if (v == a) {
                       EXPECT_EQ(engine->timer_set_callback(timer_of(v), cb1.target(), &prog), 0);
                     }
                   }};
  cb2_ptr = &cb2;
  const uint64_t t0 = engine->now(kClockMonotonic);
  arm(*map, a, cb1, 100);
  ASSERT_EQ(engine->timer_init(timer_of(b), map.get(), kClockMonotonic), 0);
  ASSERT_EQ(engine->timer_set_callback(timer_of(b), cb2.target(), &prog), 0);
  ASSERT_TRUE(engine->advance(1000).ok());
  std::vector<std::string> expected = {"cb1@" + std::to_string(t0 + 100),
                                       "cb2@" + std::to_string(t0 + 150),
                                       "cb2@" + std::to_string(t0 + 200)};
  EXPECT_EQ(trace, expected);
}

// Many timers with colliding expiries, re-arming with varying periods, across 4 vCPUs.
std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> deterministic_run() {
  set_current_vcpu(0);
  auto engine = TimerEngine::create(virtual_options(4));
  FakeProgram prog;
  MapHandle map = make_map(*engine, MapType::Array, 64);
  std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> order;  // (time, index, vcpu)
  FakeCallback cb{prog, [&](maps::Map*, const void* key, void* value) {
                    uint32_t index;
                    std::memcpy(&index, key, 4);
                    order.emplace_back(engine->now(kClockMonotonic), index, current_vcpu());
                    auto* v = static_cast<Value*>(value);
                    if (++v->data < 20) engine->timer_start(timer_of(v), 1000 * (1 + index % 7), 0);
                  }};
  for (uint32_t i = 0; i < 64; ++i) {
    set_current_vcpu(i % 4);
    Value* v = element(*map, i);
    engine->timer_init(timer_of(v), map.get(), kClockMonotonic);
    engine->timer_set_callback(timer_of(v), cb.target(), &prog);
    engine->timer_start(timer_of(v), 500 * (i % 5), 0);
  }
  set_current_vcpu(0);
  EXPECT_TRUE(engine->advance(30'000).ok());
  EXPECT_TRUE(engine->advance(1'000'000).ok());
  return order;
}

TEST_F(CallbackTest, VirtualTimeIsDeterministicAndOrdered) {
  auto first = deterministic_run();
  auto second = deterministic_run();
  EXPECT_EQ(first.size(), 64u * 20u);
  EXPECT_EQ(first, second);
  for (size_t i = 1; i < first.size(); ++i) ASSERT_LE(std::get<0>(first[i - 1]), std::get<0>(first[i]));
  for (auto& [time, index, cpu] : first) EXPECT_EQ(cpu, index % 4);  // fires on the arming vCPU
}

TEST_F(CallbackTest, OneHourOfMillisecondTimersUnderVirtualTime) {
  MapHandle map = make_map(*engine, MapType::Array, 4);
  uint64_t runs[4] = {};
  FakeCallback cb{prog, [&](maps::Map*, const void* key, void* value) {
                    uint32_t index;
                    std::memcpy(&index, key, 4);
                    ++runs[index];
                    engine->timer_start(timer_of(static_cast<Value*>(value)), 1'000'000 * (index + 1), 0);
                  }};
  for (uint32_t i = 0; i < 4; ++i) arm(*map, element(*map, i), cb, 1'000'000 * (i + 1));
  const uint64_t seconds = kSanitized ? 60 : 3600;  // an hour; a minute under sanitizers
  ASSERT_TRUE(engine->advance(seconds * 1'000'000'000).ok());
  EXPECT_EQ(runs[0], seconds * 1000);
  EXPECT_EQ(runs[1], seconds * 500);
  EXPECT_EQ(runs[2], seconds * 1000 / 3);
  EXPECT_EQ(runs[3], seconds * 250);
  EXPECT_EQ(engine->fired_total(), seconds * 2083 + seconds / 3);
}

TEST_F(CallbackTest, AdvanceAndQuiesceNeedTheRightMode) {
  auto real = TimerEngine::create(real_options());
  EXPECT_FALSE(real->advance(1).ok());
  EXPECT_FALSE(real->advance_to(1).ok());
  EXPECT_TRUE(engine->advance_to(engine->now(kClockRealtime) + 5).ok());
  EXPECT_EQ(engine->now(kClockRealtime), EngineOptions{}.virtual_start_ns + 5);
  EXPECT_EQ(engine->now(kClockMonotonic), engine->now(11));
}

}  // namespace
}  // namespace hourglass::timers::testing
