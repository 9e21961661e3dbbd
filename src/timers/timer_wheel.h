// A hierarchical timing wheel with an exact-order "ready" heap: one per vCPU queue.
//
// Time is counted in ticks of 2^10 ns (~1 us). Nine levels of 64 slots cover all 54 tick bits;
// a node whose tick differs from the wheel's current tick first (highest differing bit) in
// 6-bit group k sits at level k, in the slot named by its own digit k. Every node in the wheel
// is later than the current tick; nodes whose tick has been reached move to the ready heap, a
// binary min-heap on (expires, seq), so firing order is exact to the nanosecond and ties break
// by arm order. Entries that reach the ready set in (expires, seq) order (a timer re-armed with
// 0 ns, a run of periodic timers) skip the heap: they go to a FIFO that stays sorted, and the
// earliest ready node is the smaller of the two fronts. The current tick only moves to the start of the earliest occupied slot (or to
// "now" when the slots are empty), which keeps every placement valid.
//
// Cache layout (why it looks like this): at millions of armed timers every node is a cache
// miss, so start/cancel must touch the node and nothing else that is scattered. Slots and the
// ready heap are contiguous arrays of entries {node, seq} (the heap's also carry the expiry);
// an insert appends to the slot's array, whose tail is hot. Removal is lazy: it only clears the
// node's `queued_seq`, which makes every entry carrying the old seq stale; no neighbour is
// touched. Stale entries are dropped when their slot cascades or reaches the heap top, and an
// incremental sweep (a few entries per insert/remove, with prefetching, only while stale entries
// outnumber half the live ones) bounds their number, so memory stays O(armed timers) whatever
// the re-arm rate, and no operation pauses for more than a few entries.
//
// Not thread-safe: the owning queue's lock protects everything here, except that a stale entry
// may point at a node now queued in another wheel (or recycled by the engine's pool); such a
// node is only read through the atomic `queued_seq`, and sequence numbers are unique, so a stale
// entry can never be mistaken for a live one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hourglass::timers {

struct WheelNode {
  enum Where : uint8_t { kNowhere = 0, kSlot = 1, kReady = 2 };
  uint64_t expires = 0;  // on the worker's base clock (ns); stable while queued
  // Arm sequence of the node's live entry (global arm order, never 0), or 0 when not queued.
  // Written under the owning wheel's lock; atomic because stale entries in other wheels read it.
  std::atomic<uint64_t> queued_seq{0};
  uint8_t where = kNowhere;  // owning wheel's lock

  uint64_t seq() const { return queued_seq.load(std::memory_order_relaxed); }
};

class TimerWheel {
 public:
  static constexpr unsigned kTickShift = 10, kLevelBits = 6, kSlots = 64, kLevels = 9;

  explicit TimerWheel(uint64_t now_ns) : current_tick_(now_ns >> kTickShift) {}

  // Queues `node` (which must not be queued) by node->expires with arm sequence `seq` (unique,
  // increasing, never 0). `now_ns` lets an empty wheel jump its current tick forward so that
  // near timers land in low levels.
  void insert(WheelNode* node, uint64_t seq, uint64_t now_ns);
  // Unqueues `node`; false if it was not queued (in this wheel: the caller knows which).
  bool remove(WheelNode* node);
  // The earliest node by (expires, seq) if it expires at or before limit_ns, else null. May
  // cascade slots whose start is <= limit_ns (never beyond: see the header comment).
  WheelNode* peek_due(uint64_t limit_ns);
  // A lower bound on the earliest expiry (exact when a node is ready); UINT64_MAX when empty.
  uint64_t next_expiry_bound();
  size_t size() const { return live_in_slots_ + live_ready_; }
  // Entries held, stale ones included (tests and memory accounting).
  size_t entry_count() const { return slot_entries_ + ready_.size() + fifo_.size() - fifo_head_; }

  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const ReadyEntry& entry : ready_)
      if (is_live(entry.node, entry.seq)) fn(entry.node);
    for (size_t i = fifo_head_; i < fifo_.size(); ++i)
      if (is_live(fifo_[i].node, fifo_[i].seq)) fn(fifo_[i].node);
    for (unsigned index = 0; index < kLevels * kSlots; ++index)
      for (const SlotEntry& entry : slots_[index])
        if (is_live(entry.node, entry.seq)) fn(entry.node);
  }

 private:
  struct SlotEntry {
    WheelNode* node;
    uint64_t seq;  // 0: a hole left by the sweep
  };
  struct ReadyEntry {
    uint64_t expires;
    uint64_t seq;
    WheelNode* node;
  };
  static bool is_live(const WheelNode* node, uint64_t seq) {
    return seq != 0 && node->queued_seq.load(std::memory_order_relaxed) == seq;
  }
  // Heap order for std::push_heap & co (a max-heap on "later"): the earliest entry on top. A
  // function object, so that the heap operations inline it.
  struct Later {
    bool operator()(const ReadyEntry& a, const ReadyEntry& b) const {
      return a.expires != b.expires ? a.expires > b.expires : a.seq > b.seq;
    }
  };

  void place(WheelNode* node, uint64_t seq);
  bool cascade_earliest(uint64_t limit_ns);
  uint64_t slot_start_tick(unsigned level, unsigned slot) const;
  int lowest_occupied_level() const;
  void push_ready(WheelNode* node, uint64_t seq);
  // The earliest live ready entry (stale fronts dropped on the way), or null.
  const ReadyEntry* ready_front();
  void pop_fifo_front();
  void rebuild_ready_if_stale();
  void clear_slots();
  void sweep(unsigned budget);
  bool sweep_wanted() const {
    return slot_entries_ - live_in_slots_ > live_in_slots_ / 2 + kSweepSlack;
  }
  bool next_sweep_slot();
  void release_slot_storage(unsigned index);

  static constexpr size_t kSweepSlack = 256;  // stale entries tolerated however few are live
  static constexpr unsigned kSweepBudget = 4;  // entries examined per insert/remove

  uint64_t current_tick_;
  uint64_t occupied_[kLevels] = {};                 // bit set: the slot holds entries
  std::vector<SlotEntry> slots_[kLevels * kSlots];  // index level * kSlots + slot
  size_t slot_entries_ = 0;   // entries in all slots, stale and holes included
  size_t live_in_slots_ = 0;
  // The ready set: every live node here has tick <= current_tick_. `ready_` is a heap; `fifo_`
  // (from fifo_head_ on) is sorted by (expires, seq) and takes entries arriving in order.
  std::vector<ReadyEntry> ready_;
  std::vector<ReadyEntry> fifo_;
  size_t fifo_head_ = 0;
  size_t live_ready_ = 0;
  // The sweep's position: slot index, next entry to examine, next place to keep one at.
  unsigned sweep_index_ = 0;
  size_t sweep_read_ = 0, sweep_write_ = 0;
};

}  // namespace hourglass::timers
