// Multi-map and multi-thread timer scenarios: timers in inner maps (timer_mim), callbacks that
// cancel each other (timer_lockup), and application updates carrying garbage in the timer bytes
// (timer_crash).
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "test_support.h"

namespace hourglass::testing {
namespace {

class TimerScenarios : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    runtime_ = make_runtime(GetParam());
    ASSERT_TRUE(runtime_);
  }
  std::unique_ptr<Runtime> runtime_;
};

TEST_P(TimerScenarios, InnerMapTimersAlternateAndStopWithTheInnerMapsLastUserRef) {
  Object object = load(*runtime_, "timer_mim");
  ASSERT_EQ(run(object, "start_mim"), 0);
  EXPECT_TRUE(let_timers_run(*runtime_, 1'000'000, [&] { return global<uint64_t>(object, "cnt") > 10; }));
  EXPECT_EQ(global<uint64_t>(object, "err"), 0u);
  EXPECT_EQ(global<uint64_t>(object, "ok"), 3u);  // both callbacks ran

  // Close the application's handle on the inner map and empty the outer slot, as the kernel's
  // test does: the inner map's user count drops to zero, so its timers stop.
  ASSERT_TRUE(object.release_map("inner_htab"));
  uint32_t slot = 1;
  ASSERT_TRUE(object.map("outer_arr").remove(&slot).ok());
  runtime_->quiesce_timers();
  uint64_t stopped_at = global<uint64_t>(object, "cnt");
  let_timers_run(*runtime_, 2'000'000);
  EXPECT_EQ(global<uint64_t>(object, "cnt"), stopped_at);
  EXPECT_TRUE(runtime_->timers().empty());
}

TEST_P(TimerScenarios, MutualCancelFromTwoCpusNeverHangs) {
  Object object = load(*runtime_, "timer_lockup");
  const bool virtual_time = GetParam();
  auto arm = [&](const char* prog, uint32_t cpu, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      EXPECT_EQ(run(object, prog, cpu), 0);
      if (virtual_time) (void)runtime_->advance(1'000);
    }
  };
  // Both timers exist before either callback can cancel the other (else -EINVAL is right).
  EXPECT_EQ(run(object, "init_both", 0), 0);
  if (virtual_time) {
    std::thread a([&] { arm("arm_timer1", 0, 500); });
    a.join();
    arm("arm_timer2", 1, 500);
  } else {
    std::thread a([&] { arm("arm_timer1", 0, 2000); });
    std::thread b([&] { arm("arm_timer2", 1, 2000); });
    a.join();
    b.join();
  }
  runtime_->quiesce_timers();
  EXPECT_EQ(global<long>(object, "bad_cancel"), 0);
  EXPECT_GT(global<uint64_t>(object, "cancels"), 0u);
}

TEST_P(TimerScenarios, GarbageInTimerBytesFromTheApplicationIsIgnored) {
  Object object = load(*runtime_, "timer_basic");
  ASSERT_EQ(run(object, "start_periodic"), 0);
  MapHandle array = object.map("array");
  uint32_t key = 0;
  std::vector<uint8_t> garbage(array.value_size(), 0xf3);
  // The update copies the counter, skips the timer bytes, and frees the element's timer.
  ASSERT_TRUE(array.update(&key, garbage.data()).ok());
  auto value = array.lookup(&key);
  ASSERT_TRUE(value.ok());
  // The update copies the value, then frees the timer (the kernel's order too): a callback that
  // fires in between (the first expiry is 1 ms after start_periodic, and a loaded machine may
  // stall this thread that long) adds one to the counter's low byte after the copy.
  EXPECT_TRUE((*value)[0] == 0xf3 || (*value)[0] == 0xf4) << int{(*value)[0]};
  for (size_t i = 8; i < 24; ++i) EXPECT_EQ((*value)[i], 0) << "timer byte " << i;
  runtime_->quiesce_timers();
  int count = global<int>(object, "periodic_count");
  let_timers_run(*runtime_, 20'000'000);
  EXPECT_EQ(global<int>(object, "periodic_count"), count);
  // The freed timer can be initialised again.
  ASSERT_EQ(run(object, "start_periodic"), 0);
  EXPECT_EQ(global<uint64_t>(object, "err"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Clock, TimerScenarios, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "virtual" : "real"; });

}  // namespace
}  // namespace hourglass::testing
