// Epoch reclamation: nothing retired is freed while a guard that could see it lives.
#include <atomic>
#include <chrono>
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

thread_local bool tls_retiring = false;
std::atomic<int> inline_frees{0};
void note_free(void*) {
  if (tls_retiring) inline_frees.fetch_add(1);
  freed_count.fetch_add(1);
}

TEST(Epoch, RetireNeverRunsFreeFunctionsInline) {
  // The retiring code may hold locks that a free function takes (the kernel's call_rcu
  // guarantee): frees happen on the reclaimer thread or in synchronize().
  freed_count = 0;
  inline_frees = 0;
  tls_retiring = true;
  for (int i = 0; i < 1000; ++i) retire(nullptr, note_free);
  tls_retiring = false;
  synchronize();
  EXPECT_EQ(inline_frees.load(), 0);
  EXPECT_EQ(freed_count.load(), 1000);
}

TEST(Epoch, ReclaimerFreesWithoutSynchronize) {
  freed_count = 0;
  retire(nullptr, count_free);
  for (int i = 0; i < 2000 && freed_count.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(freed_count.load(), 1);
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
