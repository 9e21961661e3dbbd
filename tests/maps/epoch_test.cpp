// Epoch reclamation: nothing retired is freed while a guard that could see it lives.
#include <atomic>
#include <thread>

#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

std::atomic<int> freed_count{0};
void count_free(void*) { freed_count.fetch_add(1); }

TEST(Epoch, GuardsNestAndReportInEpoch) {
  EXPECT_FALSE(in_epoch());
  {
    EpochGuard outer;
    EXPECT_TRUE(in_epoch());
    {
      EpochGuard inner;
      EXPECT_TRUE(in_epoch());
    }
    EXPECT_TRUE(in_epoch());
  }
  EXPECT_FALSE(in_epoch());
}

TEST(Epoch, SynchronizeFreesEverythingRetiredBefore) {
  freed_count = 0;
  for (int i = 0; i < 10; ++i) retire(nullptr, count_free);
  synchronize();
  EXPECT_EQ(freed_count.load(), 10);
}

TEST(Epoch, ObjectRetiredUnderAnotherThreadsGuardWaitsForIt) {
  freed_count = 0;
  std::atomic<bool> guard_taken{false}, release_guard{false};
  std::thread reader([&] {
    EpochGuard guard;
    guard_taken = true;
    while (!release_guard) std::this_thread::yield();
  });
  while (!guard_taken) std::this_thread::yield();
  retire(nullptr, count_free);
  // Plenty of retirements to trigger batch reclaims: none may free the first object, nor any
  // object retired while the reader's guard lives.
  for (int i = 0; i < 500; ++i) retire(nullptr, count_free);
  EXPECT_EQ(freed_count.load(), 0);
  release_guard = true;
  reader.join();
  synchronize();
  EXPECT_EQ(freed_count.load(), 501);
}

TEST(Epoch, RetireInsideOwnGuardIsFreedAfterIt) {
  freed_count = 0;
  {
    EpochGuard guard;
    for (int i = 0; i < 200; ++i) retire(nullptr, count_free);
    EXPECT_EQ(freed_count.load(), 0);
  }
  synchronize();
  EXPECT_EQ(freed_count.load(), 200);
}

TEST(Epoch, ThreadsThatExitUnregister) {
  freed_count = 0;
  for (int i = 0; i < 20; ++i) {
    std::thread([] {
      EpochGuard guard;
      retire(nullptr, count_free);
    }).join();
  }
  synchronize();  // would hang if an exited thread still looked active
  EXPECT_EQ(freed_count.load(), 20);
}

}  // namespace
}  // namespace hourglass::maps::testing
