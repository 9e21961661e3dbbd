// Epoch reclamation: nothing retired is freed while a guard that could see it lives.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

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

// A reader thread that holds a guard from construction until release().
class GuardOnAnotherThread {
 public:
  GuardOnAnotherThread()
      : thread_([this] {
          EpochGuard guard;
          taken_ = true;
          while (!release_) std::this_thread::yield();
        }) {
    while (!taken_) std::this_thread::yield();
  }
  ~GuardOnAnotherThread() { release(); }
  void release() {
    release_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> taken_{false}, release_{false};
  std::thread thread_;
};

TEST(Epoch, ObjectRetiredUnderAnotherThreadsGuardWaitsForIt) {
  freed_count = 0;
  GuardOnAnotherThread reader;
  retire(nullptr, count_free);
  // Plenty of retirements to trigger batch reclaims: none may free the first object, nor any
  // object retired while the reader's guard lives.
  for (int i = 0; i < 500; ++i) retire(nullptr, count_free);
  EXPECT_EQ(freed_count.load(), 0);
  reader.release();
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

// InlineSafe nodes, as hash-map elements embed them.
struct CountedNode {
  RetireNode node{nullptr, 0, [](RetireNode*) { freed_count.fetch_add(1); }};
};

// Calls reclaim_inline_safe() until `expected` objects are freed (the background reclaimer may
// free some meanwhile, or hold the reclaim for a moment); false after two seconds.
bool reclaimed_until(int expected) {
  for (int i = 0; i < 2000 && freed_count.load() < expected; ++i) {
    if (!reclaim_inline_safe()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return freed_count.load() == expected;
}

TEST(Epoch, InlineReclaimWaitsForOtherThreadsGuards) {
  synchronize();
  freed_count = 0;
  GuardOnAnotherThread reader;
  std::vector<CountedNode> nodes(100);
  for (CountedNode& n : nodes) retire(&n.node, FreeContext::InlineSafe);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(reclaim_inline_safe());
  EXPECT_EQ(freed_count.load(), 0);
  reader.release();
  EXPECT_TRUE(reclaimed_until(100));
  synchronize();  // the nodes live on this stack frame
}

TEST(Epoch, QuiescentPointLetsALongGuardsRetirementsBeReclaimed) {
  synchronize();
  freed_count = 0;
  std::vector<CountedNode> nodes(64);
  {
    EpochGuard guard;  // a long test-run's guard
    for (size_t i = 0; i + 1 < nodes.size(); ++i) retire(&nodes[i].node, FreeContext::InlineSafe);
    quiescent_point();  // 63 retired: below the threshold, the announcement stays
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(reclaim_inline_safe());
    EXPECT_EQ(freed_count.load(), 0);
    retire(&nodes.back().node, FreeContext::InlineSafe);
    quiescent_point();  // 64: moves this thread's announcement past them
    EXPECT_TRUE(reclaimed_until(64));
  }
  synchronize();  // the nodes live on this stack frame
}

TEST(Epoch, QuiescentPointDoesNothingInsideANestedGuard) {
  synchronize();
  freed_count = 0;
  std::vector<CountedNode> nodes(100);
  {
    EpochGuard outer;  // a caller that may still hold pointers
    {
      EpochGuard inner;
      for (CountedNode& n : nodes) retire(&n.node, FreeContext::InlineSafe);
      quiescent_point();
    }
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(reclaim_inline_safe());
    EXPECT_EQ(freed_count.load(), 0);
  }
  synchronize();
  EXPECT_EQ(freed_count.load(), 100);
}

}  // namespace
}  // namespace hourglass::maps::testing
