// Real-time workers: firing on the real clocks, CPU_PIN, cancel waiting for a running callback,
// frees from callbacks never blocking, and the A<->B mutual-cancel lockup pattern.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "timer_test_util.h"

namespace hourglass::timers::testing {
namespace {

using maps::MapType;
using namespace std::chrono_literals;

class RealTimeTest : public TimersTest {
 protected:
  void arm(TimerEngine& engine, maps::Map& map, Value* v, const FakeCallback& cb, uint64_t ns,
           uint64_t flags = 0, uint32_t clock = kClockMonotonic) {
    ASSERT_EQ(engine.timer_init(timer_of(v), &map, clock), 0);
    ASSERT_EQ(engine.timer_set_callback(timer_of(v), cb.target(), &prog), 0);
    ASSERT_EQ(engine.timer_start(timer_of(v), ns, flags), 0);
  }
  FakeProgram prog;
};

TEST_F(RealTimeTest, FiresAfterTheRequestedDelayOnEachClock) {
  auto engine = TimerEngine::create(real_options());
  MapHandle map = make_map(*engine, MapType::Array, 3);
  std::atomic<uint64_t> fired_at[3] = {};
  FakeCallback cb{prog, [&](maps::Map*, const void* key, void*) {
                    uint32_t index;
                    std::memcpy(&index, key, 4);
                    fired_at[index] = engine->now(kClockMonotonic);
                  }};
  const uint32_t clocks[3] = {kClockMonotonic, kClockRealtime, kClockBoottime};
  const uint64_t start = engine->now(kClockMonotonic);
  for (uint32_t i = 0; i < 3; ++i) arm(*engine, *map, element(*map, i), cb, 2'000'000, 0, clocks[i]);
  ASSERT_TRUE(eventually([&] { return fired_at[0] && fired_at[1] && fired_at[2]; }));
  for (auto& t : fired_at) {
    EXPECT_GE(t.load(), start + 2'000'000);
    EXPECT_LT(t.load(), start + 2'000'000'000);  // generous: a loaded 2-core machine
  }
  engine->quiesce();
  EXPECT_EQ(engine->fired_total(), 3u);
  EXPECT_EQ(engine->armed_count(), 0u);
}

TEST_F(RealTimeTest, AbsoluteRealtimeExpiry) {
  auto engine = TimerEngine::create(real_options());
  MapHandle map = make_map(*engine, MapType::Array, 1);
  std::atomic<uint64_t> fired_at{0};
  FakeCallback cb{prog, [&](maps::Map*, const void*, void*) { fired_at = engine->now(kClockRealtime); }};
  const uint64_t target = engine->now(kClockRealtime) + 3'000'000;
  arm(*engine, *map, element(*map, 0), cb, target, kTimerAbs, kClockRealtime);
  ASSERT_TRUE(eventually([&] { return fired_at.load() != 0; }));
  EXPECT_GE(fired_at.load(), target);
  map.reset();  // waits for a callback still returning before `cb` goes away
}

TEST_F(RealTimeTest, CallbackRunsOnTheArmingVcpuPinnedOrNot) {
  auto engine = TimerEngine::create(real_options(3));
  MapHandle map = make_map(*engine, MapType::Array, 6);
  std::atomic<int> seen_cpu[6];
  for (auto& c : seen_cpu) c = -1;
  FakeCallback cb{prog, [&](maps::Map*, const void* key, void*) {
                    uint32_t index;
                    std::memcpy(&index, key, 4);
                    seen_cpu[index] = static_cast<int>(current_vcpu());
                  }};
  for (uint32_t i = 0; i < 6; ++i) {
    set_current_vcpu(i % 3);
    arm(*engine, *map, element(*map, i), cb, 100'000, i < 3 ? kTimerCpuPin : 0);
  }
  set_current_vcpu(0);
  ASSERT_TRUE(eventually([&] {
    for (auto& c : seen_cpu)
      if (c.load() < 0) return false;
    return true;
  }));
  for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(seen_cpu[i].load(), static_cast<int>(i % 3)) << i;
  map.reset();
}

TEST_F(RealTimeTest, PeriodicCallbackRearmsItself) {
  auto engine = TimerEngine::create(real_options());
  MapHandle map = make_map(*engine, MapType::Array, 1);
  std::atomic<int> runs{0};
  FakeCallback cb{prog, [&](maps::Map*, const void*, void* value) {
                    if (++runs < 10) engine->timer_start(timer_of(static_cast<Value*>(value)), 1000, 0);
                  }};
  arm(*engine, *map, element(*map, 0), cb, 1000);
  ASSERT_TRUE(eventually([&] { return runs.load() == 10; }));
  engine->quiesce();
  EXPECT_EQ(runs.load(), 10);
  EXPECT_EQ(engine->armed_count(), 0u);
}

TEST_F(RealTimeTest, CancelWaitsForACallbackRunningOnAnotherWorker) {
  auto engine = TimerEngine::create(real_options());
  MapHandle map = make_map(*engine, MapType::Array, 1);
  std::atomic<bool> entered{false}, finished{false};
  FakeCallback cb{prog, [&](maps::Map*, const void*, void*) {
                    entered = true;
                    std::this_thread::sleep_for(50ms);
                    finished = true;
                  }};
  Value* v = element(*map, 0);
  arm(*engine, *map, v, cb, 0);
  ASSERT_TRUE(eventually([&] { return entered.load(); }));
  EXPECT_EQ(engine->timer_cancel(timer_of(v)), 0);  // running, not queued
  EXPECT_TRUE(finished.load());
  // The worker drops its invocation reference just after the callback returns.
  EXPECT_TRUE(eventually([&] { return prog.refs.load() == 1u; }));
}

TEST_F(RealTimeTest, ElementUpdateWaitsOutsideCallbacksButNeverInsideOne) {
  auto engine = TimerEngine::create(real_options(2));
  MapHandle map = make_map(*engine, MapType::Array, 2);
  std::atomic<bool> slow_entered{false}, slow_finished{false};
  std::atomic<bool> deleter_done_before_slow{false};
  Value* slow = element(*map, 0);
  Value* deleter = element(*map, 1);
  FakeCallback slow_cb{prog, [&](maps::Map*, const void*, void*) {
                         slow_entered = true;
                         std::this_thread::sleep_for(200ms);
                         slow_finished = true;
                       }};
  FakeCallback deleter_cb{prog, [&](maps::Map* m, const void*, void*) {
                            uint32_t key = 0;
                            Value zero{};
                            m->update(&key, &zero, maps::kAny);  // frees the running slow timer
                            deleter_done_before_slow = !slow_finished.load();
                          }};
  set_current_vcpu(0);
  arm(*engine, *map, slow, slow_cb, 0);
  ASSERT_TRUE(eventually([&] { return slow_entered.load(); }));
  set_current_vcpu(1);
  arm(*engine, *map, deleter, deleter_cb, 0);
  set_current_vcpu(0);
  engine->quiesce();
  EXPECT_TRUE(slow_finished.load());
  EXPECT_TRUE(deleter_done_before_slow.load());  // bug 8: a callback never waits on another
  EXPECT_EQ(engine->timer_cancel(timer_of(slow)), -EINVAL);
  EXPECT_EQ(prog.refs.load(), 2u);  // only the deleter's timer still holds one
}

// progs/timer_lockup.c: two pinned 1 ns timers on two vCPUs whose callbacks cancel each other.
TEST_F(RealTimeTest, MutualCancelNeverHangs) {
  auto engine = TimerEngine::create(real_options(2));
  MapHandle map = make_map(*engine, MapType::Array, 2);
  Value* a = element(*map, 0);
  Value* b = element(*map, 1);
  std::atomic<uint64_t> results[3] = {};  // 0, 1, -EDEADLK
  std::atomic<uint64_t> unexpected{0};
  auto record = [&](long ret) {
    if (ret == 0) ++results[0];
    else if (ret == 1) ++results[1];
    else if (ret == -EDEADLK) ++results[2];
    else ++unexpected;
  };
  // Each callback cancels the other timer (waiting for its callback unless that would deadlock)
  // and re-arms itself; the drivers restore callbacks the other side's cancel cleared.
  FakeCallback cb_a{prog, [&](maps::Map*, const void*, void*) {
                      record(engine->timer_cancel(timer_of(b)));
                      engine->timer_start(timer_of(a), 1, kTimerCpuPin);
                    }};
  FakeCallback cb_b{prog, [&](maps::Map*, const void*, void*) {
                      record(engine->timer_cancel(timer_of(a)));
                      engine->timer_start(timer_of(b), 1, kTimerCpuPin);
                    }};
  ASSERT_EQ(engine->timer_init(timer_of(a), map.get(), kClockMonotonic), 0);
  ASSERT_EQ(engine->timer_init(timer_of(b), map.get(), kClockMonotonic), 0);
  auto driver = [&](uint32_t cpu, Value* mine, const FakeCallback& cb) {
    set_current_vcpu(cpu);
    const auto deadline = std::chrono::steady_clock::now() + 500ms;
    while (std::chrono::steady_clock::now() < deadline) {
      engine->timer_set_callback(timer_of(mine), cb.target(), &prog);
      engine->timer_start(timer_of(mine), 1, kTimerCpuPin);
      std::this_thread::sleep_for(20us);  // leave the workers room to run the callbacks
    }
  };
  std::thread t0(driver, 0, a, std::cref(cb_a));
  std::thread t1(driver, 1, b, std::cref(cb_b));
  t0.join();
  t1.join();
  engine->timer_cancel(timer_of(a));
  engine->timer_cancel(timer_of(b));
  engine->quiesce();
  EXPECT_EQ(unexpected.load(), 0u);
  EXPECT_GT(results[0] + results[1] + results[2], 100u);
  EXPECT_EQ(prog.refs.load(), 1u);
  std::printf("mutual cancel: %lu x 0, %lu x 1, %lu x -EDEADLK\n",
              static_cast<unsigned long>(results[0].load()), static_cast<unsigned long>(results[1].load()),
              static_cast<unsigned long>(results[2].load()));
}

// Whether this process may make a thread SCHED_FIFO (root, CAP_SYS_NICE, RLIMIT_RTPRIO).
bool realtime_allowed() {
  bool allowed = false;
  std::thread([&] {
    const sched_param realtime{1};
    allowed = pthread_setschedparam(pthread_self(), SCHED_FIFO, &realtime) == 0;
  }).join();
  return allowed;
}

// Scheduling policies of the worker thread, one per callback, as the callbacks saw them.
class PolicyLog {
 public:
  void record_this_thread() {
    int policy = -1;
    sched_param param{};
    pthread_getschedparam(pthread_self(), &policy, &param);
    std::lock_guard<std::mutex> lock(mutex_);
    policies_.push_back(policy);
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return policies_.size();
  }
  std::vector<int> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::move(policies_);
  }

 private:
  std::mutex mutex_;  // protects policies_ (callbacks write on the worker, the test reads)
  std::vector<int> policies_;
};

// The scheduling policy of the worker thread at the moment each callback runs.
std::vector<int> callback_policies(bool realtime_workers, uint64_t delay_ns, int timers) {
  EngineOptions options = real_options();
  options.realtime_workers = realtime_workers;
  auto engine = TimerEngine::create(options);
  MapHandle map = make_map(*engine, MapType::Array, 1);
  FakeProgram prog;
  PolicyLog log;
  FakeCallback cb{prog, [&](maps::Map*, const void*, void*) { log.record_this_thread(); }};
  Value* v = element(*map, 0);
  EXPECT_EQ(engine->timer_init(timer_of(v), map.get(), kClockMonotonic), 0);
  EXPECT_EQ(engine->timer_set_callback(timer_of(v), cb.target(), &prog), 0);
  for (int i = 0; i < timers; ++i) {
    const size_t before = i;
    EXPECT_EQ(engine->timer_start(timer_of(v), delay_ns, 0), 0);
    EXPECT_TRUE(eventually([&] { return log.size() > before; }));
  }
  map.reset();
  return log.take();
}

TEST_F(RealTimeTest, CallbacksAfterALongSleepStillRunAtRealtimePriority) {
  // The worker leaves SCHED_FIFO after 2 ms of continuous work; a 5 ms sleep before the expiry
  // is not work (it was counted as such once, and every such callback ran at SCHED_OTHER).
  if (!realtime_allowed()) GTEST_SKIP() << "this process may not use SCHED_FIFO";
  for (int policy : callback_policies(true, 5'000'000, 3)) EXPECT_EQ(policy, SCHED_FIFO);
}

TEST_F(RealTimeTest, RealtimeWorkersCanBeTurnedOff) {
  for (int policy : callback_policies(false, 1'000'000, 2)) EXPECT_EQ(policy, SCHED_OTHER);
}

// Policies seen by a timer re-arming itself every `period_ns` until `duration_ns` passed.
std::vector<int> periodic_policies(bool precision, uint64_t period_ns, uint64_t duration_ns) {
  EngineOptions options = real_options();
  options.precision = precision;
  auto engine = TimerEngine::create(options);
  MapHandle map = make_map(*engine, MapType::Array, 1);
  FakeProgram prog;
  PolicyLog log;
  std::atomic<bool> done{false};
  const uint64_t end = engine->now(kClockMonotonic) + duration_ns;
  Value* v = element(*map, 0);
  FakeCallback cb{prog, [&](maps::Map*, const void*, void*) {
                    log.record_this_thread();
                    if (engine->now(kClockMonotonic) < end)
                      engine->timer_start(timer_of(v), period_ns, 0);
                    else
                      done = true;
                  }};
  EXPECT_EQ(engine->timer_init(timer_of(v), map.get(), kClockMonotonic), 0);
  EXPECT_EQ(engine->timer_set_callback(timer_of(v), cb.target(), &prog), 0);
  EXPECT_EQ(engine->timer_start(timer_of(v), period_ns, 0), 0);
  EXPECT_TRUE(eventually([&] { return done.load(); }));
  map.reset();
  return log.take();
}

// Callbacks among the last half that ran at SCHED_FIFO.
size_t fifo_in_second_half(const std::vector<int>& policies) {
  return static_cast<size_t>(
      std::count(policies.begin() + static_cast<std::ptrdiff_t>(policies.size() / 2), policies.end(), SCHED_FIFO));
}

TEST_F(RealTimeTest, DefaultModeLeavesRealtimeWhenSpinningThroughShortPeriods) {
  // A 5 us period is shorter than the spin window: the worker never sleeps, and after 2 ms of
  // spinning and firing it must drop to SCHED_OTHER (a core is not held at real-time priority).
  if (!realtime_allowed()) GTEST_SKIP() << "this process may not use SCHED_FIFO";
  const std::vector<int> policies = periodic_policies(false, 5'000, 20'000'000);
  ASSERT_GT(policies.size(), 100u);
  EXPECT_LT(fifo_in_second_half(policies), policies.size() / 4);
}

TEST_F(RealTimeTest, PrecisionModeKeepsRealtimeWhileSpinningThroughShortPeriods) {
  // In precision mode a spin is a pause: a 40 us period (inside the 50-200 us window) keeps
  // firing at SCHED_FIFO. Under sanitizers a callback may outlast the period, which makes a
  // storm that rightly demotes the worker: timing-dependent there, so checked in normal builds.
  if (!realtime_allowed()) GTEST_SKIP() << "this process may not use SCHED_FIFO";
  if (kSanitized) GTEST_SKIP() << "callbacks under sanitizers can be slower than the period";
  const std::vector<int> policies = periodic_policies(true, 40'000, 20'000'000);
  ASSERT_GT(policies.size(), 100u);
  EXPECT_GT(fifo_in_second_half(policies), policies.size() / 2 * 9 / 10);
}

TEST_F(RealTimeTest, PrecisionModeLeavesRealtimeOnceItsShareOfAWindowIsUsed) {
  // Spinning through 40 us periods for 350 ms would keep a core at SCHED_FIFO past the kernel's
  // RT throttling limit (95% of each second), which then stops the worker for ~50 ms. A worker
  // runs at most 90 ms of every 100 ms at SCHED_FIFO: about a tenth of these callbacks run at
  // SCHED_OTHER, and most still at SCHED_FIFO.
  if (!realtime_allowed()) GTEST_SKIP() << "this process may not use SCHED_FIFO";
  if (kSanitized) GTEST_SKIP() << "callbacks under sanitizers can be slower than the period";
  const std::vector<int> policies = periodic_policies(true, 40'000, 350'000'000);
  ASSERT_GT(policies.size(), 1000u);
  const auto fifo = static_cast<size_t>(std::count(policies.begin(), policies.end(), SCHED_FIFO));
  const size_t other = policies.size() - fifo;
  EXPECT_GT(other, policies.size() / 50) << fifo << " at SCHED_FIFO, " << other << " not";
  EXPECT_GT(fifo, policies.size() * 6 / 10) << fifo << " at SCHED_FIFO, " << other << " not";
}

TEST_F(RealTimeTest, PrecisionModeFiresNearAndFarTimersInOrder) {
  EngineOptions options = real_options();
  options.precision = true;
  auto engine = TimerEngine::create(options);
  MapHandle map = make_map(*engine, MapType::Array, 3);
  std::mutex order_mutex;
  std::vector<uint32_t> order;
  std::atomic<uint64_t> late_ns{0};
  FakeCallback cb{prog, [&](maps::Map*, const void* key, void* value) {
                    uint32_t index;
                    std::memcpy(&index, key, 4);
                    const uint64_t due = static_cast<Value*>(value)->data;
                    const uint64_t now = engine->now(kClockMonotonic);
                    EXPECT_GE(now, due);
                    late_ns = std::max<uint64_t>(late_ns.load(), now - due);
                    std::lock_guard<std::mutex> lock(order_mutex);
                    order.push_back(index);
                  }};
  // Expiries 30 us, 300 us and 3 ms apart (inside, near and beyond the spin window of each
  // other), armed latest first at absolute times far enough ahead that a stalled test thread
  // (sanitizers on a busy machine) still arms all three before the first falls due.
  const uint64_t delays[3] = {30'000, 300'000, 3'000'000};
  const uint64_t base = engine->now(kClockMonotonic) + 50'000'000;
  for (uint32_t i = 3; i-- > 0;) {
    Value* v = element(*map, i);
    v->data = base + delays[i];
    arm(*engine, *map, v, cb, base + delays[i], kTimerAbs);
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lock(order_mutex);
    return order.size() == 3;
  }));
  EXPECT_EQ(order, (std::vector<uint32_t>{0, 1, 2}));
  std::printf("precision mode: worst lateness %lu ns\n", static_cast<unsigned long>(late_ns.load()));
  map.reset();
}

TEST_F(RealTimeTest, ShutdownIsIdempotentAndFreesStillWork) {
  auto engine = TimerEngine::create(real_options(2));
  MapHandle map = make_map(*engine, MapType::Array, 1);
  FakeCallback cb{prog, [](maps::Map*, const void*, void*) {}};
  arm(*engine, *map, element(*map, 0), cb, 3'600'000'000'000ull);
  engine->shutdown();
  engine->shutdown();
  EXPECT_EQ(engine->armed_count(), 1u);
  map->release_user();
  EXPECT_EQ(engine->armed_count(), 0u);
  EXPECT_EQ(prog.refs.load(), 1u);
}

}  // namespace
}  // namespace hourglass::timers::testing
