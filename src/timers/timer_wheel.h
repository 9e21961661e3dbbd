// A hierarchical timing wheel with an exact-order "ready" heap: one per vCPU queue.
//
// Time is counted in ticks of 2^10 ns (~1 us). Nine levels of 64 slots cover all 54 tick bits;
// a node whose tick differs from the wheel's current tick first (highest differing bit) in
// 6-bit group k sits at level k, in the slot named by its own digit k. Every node in the wheel
// is later than the current tick; nodes whose tick has been reached move to `ready_`, a binary
// min-heap on (expires, seq), so firing order is exact to the nanosecond and ties break by arm
// order. Insert and remove are O(1) for wheel nodes (intrusive lists, a 64-bit occupancy mask
// per level) and O(log r) for the few nodes of the current tick; finding the next slot is one
// count-trailing-zeros per level. The current tick only moves to the start of the earliest
// occupied slot (or to "now" when the wheel is empty), which keeps every placement valid.
//
// Not thread-safe: the owning queue's lock protects everything here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hourglass::timers {

struct WheelNode {
  enum Where : uint8_t { kNowhere = 0, kSlot = 1, kReady = 2 };
  uint64_t expires = 0;  // on the worker's base clock (ns)
  uint64_t seq = 0;      // global arm order, breaks expiry ties deterministically
  WheelNode* next = nullptr;  // slot list links (kSlot only)
  WheelNode* prev = nullptr;
  uint32_t heap_index = 0;  // position in the ready heap (kReady only)
  uint8_t where = kNowhere;
  uint8_t level = 0;
  uint8_t slot = 0;
};

class TimerWheel {
 public:
  static constexpr unsigned kTickShift = 10, kLevelBits = 6, kSlots = 64, kLevels = 9;

  explicit TimerWheel(uint64_t now_ns) : current_tick_(now_ns >> kTickShift) {}

  // Queues `node` (which must be kNowhere) by node->expires. `now_ns` lets an empty wheel jump
  // its current tick forward so that near timers land in low levels.
  void insert(WheelNode* node, uint64_t now_ns);
  // Unqueues `node`; false if it was not queued.
  bool remove(WheelNode* node);
  // The earliest node by (expires, seq) if it expires at or before limit_ns, else null. May
  // cascade slots whose start is <= limit_ns (never beyond: see the header comment).
  WheelNode* peek_due(uint64_t limit_ns);
  // A lower bound on the earliest expiry (exact when a node is ready); UINT64_MAX when empty.
  uint64_t next_expiry_bound() const;
  size_t size() const { return slot_count_ + ready_.size(); }

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (WheelNode* node : ready_) fn(node);
    for (unsigned level = 0; level < kLevels; ++level)
      for (unsigned slot = 0; slot < kSlots; ++slot)
        for (WheelNode* node = slots_[level][slot]; node; node = node->next) fn(node);
  }

 private:
  void place(WheelNode* node);
  bool cascade_earliest(uint64_t limit_ns);
  uint64_t slot_start_tick(unsigned level, unsigned slot) const;
  int lowest_occupied_level() const;

  static bool earlier(const WheelNode* a, const WheelNode* b) {
    return a->expires != b->expires ? a->expires < b->expires : a->seq < b->seq;
  }
  void heap_push(WheelNode* node);
  void heap_erase(uint32_t index);
  void sift_up(uint32_t index);
  void sift_down(uint32_t index);
  void heap_set(uint32_t index, WheelNode* node) {
    ready_[index] = node;
    node->heap_index = index;
  }

  uint64_t current_tick_;
  uint64_t occupied_[kLevels] = {};
  WheelNode* slots_[kLevels][kSlots] = {};
  size_t slot_count_ = 0;
  std::vector<WheelNode*> ready_;  // min-heap: every node here has tick <= current_tick_
};

}  // namespace hourglass::timers
