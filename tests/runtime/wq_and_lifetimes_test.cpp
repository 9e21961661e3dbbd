// bpf_wq through kfuncs, the "detached program" lifetime rule of the timers patch set (v4), and
// application updates carrying garbage beside a spin lock and a timer.
#include <cerrno>
#include <cstring>

#include "test_support.h"

namespace hourglass::testing {
namespace {

class Lifetimes : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    runtime_ = make_runtime(GetParam());
    ASSERT_TRUE(runtime_);
  }
  std::unique_ptr<Runtime> runtime_;
};

TEST_P(Lifetimes, WorkqueueRunsItsCallbackOnceWithReturnCodes) {
  Object object = load(*runtime_, "wq_basic");
  ASSERT_EQ(run(object, "queue_work"), 0);
  EXPECT_EQ(global<long>(object, "rc_bad_flags"), -EINVAL);
  EXPECT_EQ(global<long>(object, "rc_init"), 0);
  EXPECT_EQ(global<long>(object, "rc_init_again"), -EBUSY);
  EXPECT_EQ(global<long>(object, "rc_start_no_cb"), -EINVAL);
  EXPECT_EQ(global<long>(object, "rc_set_cb"), 0);
  EXPECT_EQ(global<long>(object, "rc_start"), 0);
  EXPECT_TRUE(let_timers_run(*runtime_, 1'000'000, [&] { return global<int>(object, "wq_ran") >= 1; }));
  EXPECT_EQ(global<int>(object, "wq_ran"), 1);
  EXPECT_EQ(global<int>(object, "seen_key"), 1);
}

// The seed's "detached program" case: the application drops the program that armed a
// periodic timer; the timer keeps the program alive and firing until the map's last user
// reference goes, then the timers stop (and the program is freed: LSan checks in the
// sanitizer runs).
TEST_P(Lifetimes, DetachedProgramKeepsFiringUntilTheMapsUserRefsGo) {
  Object object = load(*runtime_, "timer_basic");
  int limit = 1'000'000;
  ASSERT_TRUE(object.write_global("periodic_limit", &limit, sizeof limit).ok());
  ASSERT_EQ(run(object, "start_periodic"), 0);
  object.release_programs();
  EXPECT_TRUE(let_timers_run(*runtime_, 5'000'000, [&] { return global<int>(object, "periodic_count") >= 3; }));
  int before = global<int>(object, "periodic_count");
  EXPECT_TRUE(let_timers_run(*runtime_, 5'000'000, [&] { return global<int>(object, "periodic_count") > before; }));
  ASSERT_TRUE(object.release_map("array"));
  runtime_->quiesce_timers();
  int stopped = global<int>(object, "periodic_count");
  let_timers_run(*runtime_, 10'000'000);
  EXPECT_EQ(global<int>(object, "periodic_count"), stopped);
  EXPECT_TRUE(runtime_->timers().empty());
}

// A pin holds a user reference like bpffs: the timers keep running after the application closes
// its handles, and stop when the pin goes.
TEST_P(Lifetimes, PinKeepsTimersUntilUnpinned) {
  Object object = load(*runtime_, "timer_basic");
  int limit = 1'000'000;
  ASSERT_TRUE(object.write_global("periodic_limit", &limit, sizeof limit).ok());
  ASSERT_TRUE(runtime_->pin_map("/hg/array", object.map("array")).ok());
  EXPECT_EQ(runtime_->pin_map("/hg/array", object.map("array")).error().code, EEXIST);
  ASSERT_EQ(run(object, "start_periodic"), 0);
  ASSERT_TRUE(object.release_map("array"));
  EXPECT_TRUE(let_timers_run(*runtime_, 5'000'000, [&] { return global<int>(object, "periodic_count") >= 3; }));
  auto pinned = runtime_->get_pinned_map("/hg/array");
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->name(), "array");
  pinned->reset();
  ASSERT_TRUE(runtime_->unpin("/hg/array").ok());
  EXPECT_EQ(runtime_->unpin("/hg/array").error().code, ENOENT);
  runtime_->quiesce_timers();
  int stopped = global<int>(object, "periodic_count");
  let_timers_run(*runtime_, 10'000'000);
  EXPECT_EQ(global<int>(object, "periodic_count"), stopped);
  EXPECT_TRUE(runtime_->timers().empty());
}

// timer_crash shape with a spin lock beside the timer in a hash value.
TEST_P(Lifetimes, GarbageBesideSpinLockAndTimerNeverLands) {
  Object object = load(*runtime_, "timer_basic");
  ASSERT_EQ(run(object, "start_pinned"), 0);  // arms the timer of hmap[5]
  MapHandle hmap = object.map("hmap");
  // {int counter; (pad); struct bpf_timer at 8..24; struct bpf_spin_lock at 24..28; (pad)}
  ASSERT_EQ(hmap.value_size(), 32u);
  int key = 5;
  std::vector<uint8_t> garbage(hmap.value_size(), 0xf3);
  ASSERT_TRUE(hmap.update(&key, garbage.data()).ok());
  auto value = hmap.lookup(&key);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ((*value)[0], 0xf3);
  for (size_t i = 8; i < 28; ++i) EXPECT_EQ((*value)[i], 0) << "hidden byte " << i;
  EXPECT_EQ((*value)[28], 0xf3);  // trailing padding is ordinary value bytes
  let_timers_run(*runtime_, 1'000'000);
  // The update replaced the element (hash): its timer was freed, so nothing is armed for it.
  for (const auto& timer : runtime_->timers()) EXPECT_NE(timer.map_name, "hmap");
}

INSTANTIATE_TEST_SUITE_P(Clock, Lifetimes, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "virtual" : "real"; });

}  // namespace
}  // namespace hourglass::testing
