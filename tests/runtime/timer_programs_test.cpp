// BPF timer programs (tests/progs/timer_basic.bpf.c) run end to end, each in real time and in
// virtual time: return codes of the spec's table, periodic callbacks, cancel/-EDEADLK/delete
// rules from inside callbacks, LRU eviction of a running timer's element, ABS and CPU_PIN, and
// the map-uref rule.
#include <cerrno>
#include <cstring>

#include "test_support.h"

namespace hourglass::testing {
namespace {

class TimerPrograms : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    runtime_ = make_runtime(GetParam());
    ASSERT_TRUE(runtime_);
    object_ = load(*runtime_, "timer_basic");
    ASSERT_FALSE(object_.programs().empty());
  }
  void TearDown() override {
    object_ = Object{};
    runtime_.reset();
  }
  std::unique_ptr<Runtime> runtime_;
  Object object_;
};

TEST_P(TimerPrograms, ReturnCodesMatchTheKernel) {
  ASSERT_EQ(run(object_, "return_codes"), 0);
  EXPECT_EQ(global<long>(object_, "rc_cancel_uninit"), -EINVAL);
  EXPECT_EQ(global<long>(object_, "rc_set_cb_uninit"), -EINVAL);
  EXPECT_EQ(global<long>(object_, "rc_bad_clock"), -EINVAL);
  EXPECT_EQ(global<long>(object_, "rc_bad_flags"), -EINVAL);
  EXPECT_EQ(global<long>(object_, "rc_init_first"), 0);
  EXPECT_EQ(global<long>(object_, "rc_init_second"), -EBUSY);
  EXPECT_EQ(global<long>(object_, "rc_start_no_cb"), -EINVAL);
  EXPECT_EQ(global<long>(object_, "rc_start_bad_flags"), -EINVAL);
  EXPECT_EQ(global<long>(object_, "rc_cancel_idle"), 0);
  EXPECT_EQ(global<long>(object_, "rc_start_after_cancel"), -EINVAL);
  EXPECT_EQ(global<long>(object_, "rc_cancel_armed"), 1);
}

TEST_P(TimerPrograms, PeriodicCallbackRearmsUntilLimit) {
  ASSERT_EQ(run(object_, "start_periodic"), 0);
  EXPECT_TRUE(let_timers_run(*runtime_, 30'000'000,
                             [&] { return global<int>(object_, "periodic_count") >= 10; }));
  EXPECT_EQ(global<int>(object_, "periodic_count"), 10);
  EXPECT_EQ(global<uint64_t>(object_, "err"), 0u);
  uint32_t key = 0;
  auto value = object_.map("array").lookup(&key);
  ASSERT_TRUE(value.ok());
  int32_t counter;
  std::memcpy(&counter, value->data(), 4);
  EXPECT_EQ(counter, 10);
  // The application never sees the timer's private bytes.
  for (size_t i = 8; i < 24; ++i) EXPECT_EQ((*value)[i], 0) << "byte " << i;
}

TEST_P(TimerPrograms, CallbackCancelsOtherAndDeletesOwnElement) {
  ASSERT_EQ(run(object_, "start_countdown"), 0);
  EXPECT_TRUE(let_timers_run(*runtime_, 1'000'000,
                             [&] { return (global<uint64_t>(object_, "ok") & 2) != 0; }));
  EXPECT_EQ(global<uint64_t>(object_, "err"), 0u);
  EXPECT_EQ(global<int>(object_, "hash_countdown"), 0);
  uint32_t key = 2;
  EXPECT_FALSE(object_.map("hmap").lookup(&key).ok());  // the callback deleted its element
}

TEST_P(TimerPrograms, UpdateFreesTheTimer) { EXPECT_EQ(run(object_, "update_frees_timer"), 0); }

TEST_P(TimerPrograms, LruEvictionOfRunningTimersElement) {
  ASSERT_EQ(run(object_, "start_lru"), 0);
  EXPECT_TRUE(let_timers_run(*runtime_, 1'000'000,
                             [&] { return global<uint64_t>(object_, "ok") & 1; }));
  EXPECT_EQ(global<uint64_t>(object_, "err"), 0u);
  EXPECT_LE(object_.map("lru").element_count(), 4u);
}

TEST_P(TimerPrograms, AbsoluteBoottimeTimer) {
  ASSERT_EQ(run(object_, "start_abs"), 0);
  EXPECT_TRUE(let_timers_run(*runtime_, 1'000'000,
                             [&] { return global<int>(object_, "abs_data") >= 12; }));
  EXPECT_EQ(global<int>(object_, "abs_data"), 12);
}

TEST_P(TimerPrograms, CpuPinnedTimerFiresOnArmingCpu) {
  ASSERT_EQ(run(object_, "start_pinned", /*cpu=*/1), 0);
  EXPECT_TRUE(let_timers_run(*runtime_, 1'000'000,
                             [&] { return global<int>(object_, "pinned_fired") >= 1; }));
  EXPECT_EQ(global<int>(object_, "pinned_cpu"), 1);
  EXPECT_EQ(global<int>(object_, "pinned_seen_cpu"), 1);
}

TEST_P(TimerPrograms, InitAfterLastUserReferenceIsEperm) {
  const ProgramHandle* prog = object_.program("init_released");
  ASSERT_NE(prog, nullptr);
  ProgramHandle keep = *prog;  // the program (and through it the map) stays alive
  ASSERT_TRUE(object_.release_map("hmap"));
  TestRunOptions options;
  ASSERT_TRUE(keep.test_run(options).ok());
  EXPECT_EQ(global<long>(object_, "rc_init_released"), -EPERM);
}

TEST_P(TimerPrograms, ReleasingTheMapStopsItsTimers) {
  // Re-arms every 1 ms for as long as the map lives: even a test thread stalled for many periods
  // (sanitizers on a busy machine) finds it still armed below.
  const int forever = 1 << 30;
  ASSERT_TRUE(object_.write_global("periodic_limit", &forever, sizeof forever).ok());
  ASSERT_EQ(run(object_, "start_periodic"), 0);
  EXPECT_FALSE(runtime_->timers().empty());
  object_.release_map("array");
  runtime_->quiesce_timers();
  int count = global<int>(object_, "periodic_count");
  let_timers_run(*runtime_, 20'000'000);
  EXPECT_EQ(global<int>(object_, "periodic_count"), count);
  EXPECT_TRUE(runtime_->timers().empty());
}

INSTANTIATE_TEST_SUITE_P(Clock, TimerPrograms, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "virtual" : "real"; });

}  // namespace
}  // namespace hourglass::testing
