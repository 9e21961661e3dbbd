// The timing wheel on its own: cascade edge cases, lazy removal (stale entries never fire and
// stay bounded), re-arming into other levels, far expiries, and a randomized comparison with a
// reference ordering that re-arms nodes (the case lazy removal must get right).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

#include "timers/timer_wheel.h"

namespace hourglass::timers::testing {
namespace {

constexpr uint64_t kStart = 5'000'000'000ull;
constexpr uint64_t kTickNs = uint64_t{1} << TimerWheel::kTickShift;

// A wheel plus its nodes and the arm sequence, as the engine drives it.
class WheelTest : public ::testing::Test {
 protected:
  WheelTest() : wheel(kStart), nodes(64) {}

  void arm(size_t index, uint64_t expires, uint64_t now = kStart) {
    WheelNode& node = nodes[index];
    wheel.remove(&node);
    node.expires = expires;
    wheel.insert(&node, ++seq, now);
  }
  // Pops everything due by `limit`, returning the node indexes in pop order.
  std::vector<size_t> pop_due(uint64_t limit) {
    std::vector<size_t> popped;
    while (WheelNode* node = wheel.peek_due(limit)) {
      EXPECT_LE(node->expires, limit);
      popped.push_back(static_cast<size_t>(node - nodes.data()));
      EXPECT_TRUE(wheel.remove(node));
    }
    return popped;
  }

  TimerWheel wheel;
  std::vector<WheelNode> nodes;
  uint64_t seq = 0;
};

TEST_F(WheelTest, ExpiriesExactlyAtLevelBoundariesFireOnTheirNanosecond) {
  // For every level: one node exactly on the first tick of the level (64^k ticks ahead from a
  // tick-aligned start), one a nanosecond before and one a nanosecond after.
  const uint64_t start = kStart & ~(kTickNs - 1);
  TimerWheel aligned(start);
  std::vector<WheelNode> level_nodes(3 * 8);
  uint64_t arm_seq = 0;
  for (unsigned level = 1; level <= 8; ++level) {
    const uint64_t boundary = start + (uint64_t{1} << (TimerWheel::kLevelBits * level)) * kTickNs;
    for (int delta = -1; delta <= 1; ++delta) {
      WheelNode& node = level_nodes[3 * (level - 1) + static_cast<unsigned>(delta + 1)];
      node.expires = boundary + static_cast<uint64_t>(static_cast<int64_t>(delta));
      aligned.insert(&node, ++arm_seq, start);
    }
  }
  ASSERT_EQ(aligned.size(), level_nodes.size());
  for (size_t i = 0; i < level_nodes.size(); ++i) {
    const uint64_t expires = level_nodes[i].expires;
    // Not a nanosecond early, whatever cascading that look-ahead does...
    EXPECT_EQ(aligned.peek_due(expires - 1), nullptr) << "node " << i;
    // ...and due exactly at its expiry, in order.
    WheelNode* due = aligned.peek_due(expires);
    ASSERT_EQ(due, &level_nodes[i]) << "node " << i;
    ASSERT_TRUE(aligned.remove(due));
  }
  EXPECT_EQ(aligned.size(), 0u);
}

TEST_F(WheelTest, ReArmIntoALowerLevelFiresOnceAtTheNewExpiry) {
  arm(0, kStart + 3'600'000'000'000ull);  // an hour: a high level
  arm(1, kStart + 5'000'000);
  arm(0, kStart + 2'000);  // re-armed near: its old far entry is now stale
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(pop_due(kStart + 10'000'000), (std::vector<size_t>{0, 1}));
  // The stale far entry must not come back when its slot cascades.
  EXPECT_TRUE(pop_due(kStart + 7'200'000'000'000ull).empty());
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.next_expiry_bound(), UINT64_MAX);
}

TEST_F(WheelTest, ReArmIntoAHigherLevelDoesNotFireAtTheOldExpiry) {
  arm(0, kStart + 2'000);
  arm(0, kStart + 60'000'000'000ull);  // a minute
  EXPECT_TRUE(pop_due(kStart + 59'000'000'000ull).empty());
  EXPECT_EQ(pop_due(kStart + 60'000'000'000ull), (std::vector<size_t>{0}));
}

TEST_F(WheelTest, TenYearAndMaximalExpiries) {
  const uint64_t ten_years = 10ull * 365 * 24 * 3600 * 1'000'000'000ull;
  arm(0, kStart + ten_years);
  arm(1, UINT64_MAX);  // what a saturated relative start produces
  arm(2, kStart + ten_years);  // same expiry: arm order breaks the tie
  arm(3, kStart + 1'000);
  EXPECT_EQ(pop_due(kStart + ten_years - 1), (std::vector<size_t>{3}));
  EXPECT_EQ(pop_due(kStart + ten_years), (std::vector<size_t>{0, 2}));
  EXPECT_EQ(pop_due(UINT64_MAX - 1), std::vector<size_t>{});
  EXPECT_EQ(pop_due(UINT64_MAX), (std::vector<size_t>{1}));
}

TEST_F(WheelTest, RemoveDuringCascadeAndFromTheReadyFront) {
  // Three nodes in one far slot; peek cascades them down together.
  for (size_t i = 0; i < 3; ++i) arm(i, kStart + 1'000'000'000ull + i);
  WheelNode* first = wheel.peek_due(kStart + 1'000'000'000ull);
  ASSERT_EQ(first, &nodes[0]);
  // Cancel the cascaded ones before they are popped: the front and one behind it.
  EXPECT_TRUE(wheel.remove(&nodes[0]));
  EXPECT_TRUE(wheel.remove(&nodes[2]));
  EXPECT_FALSE(wheel.remove(&nodes[2]));
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(pop_due(kStart + 2'000'000'000ull), (std::vector<size_t>{1}));
}

TEST_F(WheelTest, EqualExpiriesPopInArmOrderAcrossFifoAndHeap) {
  // Ready entries arriving in order take the FIFO; an earlier one arriving late takes the heap.
  arm(0, kStart + 10);
  arm(1, kStart + 20);
  arm(2, kStart + 5);  // out of order
  arm(3, kStart + 20);
  arm(4, kStart + 10);  // out of order, ties with 0 (armed later)
  EXPECT_EQ(pop_due(kStart + 20), (std::vector<size_t>{2, 0, 4, 1, 3}));
}

TEST_F(WheelTest, StaleEntriesStayBoundedUnderEndlessReArming) {
  // 1000 live far timers, one of them re-armed a million times between two far expiries.
  for (size_t i = 0; i < 40; ++i) arm(i, kStart + 3'600'000'000'000ull + i);
  std::vector<WheelNode> many(1000);
  for (WheelNode& node : many) {
    node.expires = kStart + 7'200'000'000'000ull;
    wheel.insert(&node, ++seq, kStart);
  }
  size_t most_entries = 0;
  for (uint64_t i = 0; i < 1'000'000; ++i) {
    arm(i % 40, kStart + 3'600'000'000'000ull + (i * 7919) % 1'000'000'000'000ull);
    most_entries = std::max(most_entries, wheel.entry_count());
  }
  EXPECT_EQ(wheel.size(), 1040u);
  EXPECT_LE(most_entries, 2 * wheel.size() + 1024) << "stale entries were not swept";
  // Same at an already reached expiry (ready entries), as under virtual time with no advance.
  for (uint64_t i = 0; i < 100'000; ++i) arm(i % 40, kStart - 1);
  EXPECT_LE(wheel.entry_count(), 2 * wheel.size() + 1024);
  EXPECT_EQ(pop_due(kStart).size(), 40u);
}

TEST_F(WheelTest, ForEachVisitsEveryLiveNodeOnce) {
  for (size_t i = 0; i < 20; ++i) arm(i, kStart + (i + 1) * 1'000'000ull);
  for (size_t i = 0; i < 20; i += 3) wheel.remove(&nodes[i]);
  for (size_t i = 1; i < 20; i += 3) arm(i, kStart + (i + 1) * 3'000'000'000ull);
  std::multiset<const WheelNode*> seen;
  wheel.for_each([&](WheelNode* node) { seen.insert(node); });
  EXPECT_EQ(seen.size(), wheel.size());
  for (const WheelNode* node : seen) EXPECT_EQ(seen.count(node), 1u);
}

// The randomized comparison of PopsInExpiryThenSequenceOrderAgainstAReference (scale_test.cpp),
// with nodes re-armed and cancelled again and again, so stale entries pile up and get swept.
TEST(TimerWheelReArmTest, MatchesAReferenceWhileNodesAreReArmed) {
  std::mt19937_64 rng(1234);
  TimerWheel wheel(kStart);
  std::vector<WheelNode> nodes(3000);
  std::set<std::pair<uint64_t, uint64_t>> reference;  // (expires, seq)
  std::map<std::pair<uint64_t, uint64_t>, WheelNode*> by_key;
  std::vector<std::pair<uint64_t, uint64_t>> key_of(nodes.size(), {0, 0});  // 0 seq: idle
  uint64_t now = kStart, seq = 0;
  auto random_delay = [&]() -> uint64_t {
    switch (rng() % 5) {
      case 0: return rng() % 2000;
      case 1: return rng() % 1'000'000;
      case 2: return rng() % 100'000'000'000ull;
      case 3: return rng() % (1ull << 45);
      default: return rng() % (1ull << 62);
    }
  };
  auto unqueue = [&](size_t index) {
    if (key_of[index].second == 0) return;
    reference.erase(key_of[index]);
    by_key.erase(key_of[index]);
    key_of[index] = {0, 0};
  };
  for (int step = 0; step < 300000; ++step) {
    const size_t index = rng() % nodes.size();
    WheelNode* node = &nodes[index];
    const int action = static_cast<int>(rng() % 10);
    if (action < 6) {  // (re-)arm
      ASSERT_EQ(wheel.remove(node), key_of[index].second != 0);
      unqueue(index);
      node->expires = now + random_delay();
      wheel.insert(node, ++seq, now);
      key_of[index] = {node->expires, seq};
      reference.insert(key_of[index]);
      by_key[key_of[index]] = node;
    } else if (action < 8) {  // cancel
      ASSERT_EQ(wheel.remove(node), key_of[index].second != 0);
      unqueue(index);
    } else {
      now += random_delay() % 50'000'000;
      while (WheelNode* due = wheel.peek_due(now)) {
        ASSERT_FALSE(reference.empty());
        ASSERT_EQ(std::make_pair(due->expires, due->seq()), *reference.begin());
        ASSERT_TRUE(wheel.remove(due));
        unqueue(static_cast<size_t>(due - nodes.data()));
      }
      if (!reference.empty()) {
        ASSERT_LE(wheel.next_expiry_bound(), reference.begin()->first);
      }
    }
    ASSERT_EQ(wheel.size(), reference.size());
    ASSERT_LE(wheel.entry_count(), 2 * wheel.size() + 1024);
  }
}

}  // namespace
}  // namespace hourglass::timers::testing
