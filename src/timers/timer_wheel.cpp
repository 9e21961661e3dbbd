#include "timers/timer_wheel.h"

#include <algorithm>
#include <bit>

namespace hourglass::timers {

namespace {
// An emptied slot keeps its array (no allocation on the next insert) unless it is this large.
constexpr size_t kKeptSlotCapacity = 1024;
}  // namespace

void TimerWheel::insert(WheelNode* node, uint64_t seq, uint64_t now_ns) {
  if (live_in_slots_ == 0) {
    // Nothing live in the slots depends on the current tick: drop what is stale there and move
    // the tick up to now (ready nodes all have tick <= the old current tick: still valid).
    if (slot_entries_ != 0) clear_slots();
    const uint64_t now_tick = now_ns >> kTickShift;
    if (now_tick > current_tick_) current_tick_ = now_tick;
  }
  node->queued_seq.store(seq, std::memory_order_relaxed);
  place(node, seq);
  if (sweep_wanted()) sweep(kSweepBudget);
}

void TimerWheel::place(WheelNode* node, uint64_t seq) {
  const uint64_t tick = node->expires >> kTickShift;
  if (tick <= current_tick_) {
    push_ready(node, seq);
    return;
  }
  const unsigned highest_bit = 63u - static_cast<unsigned>(std::countl_zero(tick ^ current_tick_));
  const unsigned level = highest_bit / kLevelBits;
  const unsigned slot = static_cast<unsigned>(tick >> (level * kLevelBits)) & (kSlots - 1);
  node->where = WheelNode::kSlot;
  std::vector<SlotEntry>& entries = slots_[level * kSlots + slot];
  // Grow by half rather than double: a slot may hold millions of entries, and the slack is
  // part of the memory every armed timer costs.
  if (entries.size() == entries.capacity()) entries.reserve(entries.capacity() + entries.capacity() / 2 + 8);
  entries.push_back(SlotEntry{node, seq});
  occupied_[level] |= uint64_t{1} << slot;
  ++slot_entries_;
  ++live_in_slots_;
}

bool TimerWheel::remove(WheelNode* node) {
  const uint8_t where = node->where;
  if (where == WheelNode::kNowhere) return false;
  const uint64_t seq = node->queued_seq.load(std::memory_order_relaxed);
  node->queued_seq.store(0, std::memory_order_relaxed);  // every entry of node is stale now
  node->where = WheelNode::kNowhere;
  if (where == WheelNode::kSlot) {
    --live_in_slots_;
    if (sweep_wanted()) sweep(kSweepBudget);
    return true;
  }
  --live_ready_;
  // The usual case (the worker popping the earliest node) removes the front: drop it now.
  const bool fifo_front = fifo_head_ < fifo_.size() && fifo_[fifo_head_].node == node &&
                          fifo_[fifo_head_].seq == seq;
  const bool heap_front = !ready_.empty() && ready_.front().node == node && ready_.front().seq == seq;
  if (fifo_front) {
    pop_fifo_front();
  } else if (heap_front) {
    std::pop_heap(ready_.begin(), ready_.end(), Later{});
    ready_.pop_back();
  } else {
    rebuild_ready_if_stale();
  }
  return true;
}

void TimerWheel::push_ready(WheelNode* node, uint64_t seq) {
  node->where = WheelNode::kReady;
  ++live_ready_;
  const ReadyEntry entry{node->expires, seq, node};
  if (fifo_head_ == fifo_.size() || !Later{}(fifo_.back(), entry)) {
    if (fifo_head_ == fifo_.size()) {
      fifo_.clear();
      fifo_head_ = 0;
    }
    fifo_.push_back(entry);
    return;
  }
  ready_.push_back(entry);
  std::push_heap(ready_.begin(), ready_.end(), Later{});
}

const TimerWheel::ReadyEntry* TimerWheel::ready_front() {
  while (fifo_head_ < fifo_.size() && !is_live(fifo_[fifo_head_].node, fifo_[fifo_head_].seq))
    pop_fifo_front();
  while (!ready_.empty() && !is_live(ready_.front().node, ready_.front().seq)) {
    std::pop_heap(ready_.begin(), ready_.end(), Later{});
    ready_.pop_back();
  }
  const ReadyEntry* fifo_entry = fifo_head_ < fifo_.size() ? &fifo_[fifo_head_] : nullptr;
  if (ready_.empty()) return fifo_entry;
  if (fifo_entry == nullptr || Later{}(*fifo_entry, ready_.front())) return &ready_.front();
  return fifo_entry;
}

void TimerWheel::pop_fifo_front() {
  ++fifo_head_;
  // Reclaim the consumed prefix now and then (amortized O(1) per entry).
  if (fifo_head_ == fifo_.size()) {
    fifo_.clear();
    fifo_head_ = 0;
  } else if (fifo_head_ >= 1024 && fifo_head_ * 2 >= fifo_.size()) {
    fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<ptrdiff_t>(fifo_head_));
    fifo_head_ = 0;
  }
}

// Keeps stale ready entries below the live count (plus a little): a timer re-armed again and
// again at an expiry already reached (virtual time without advance, say) must not grow them.
void TimerWheel::rebuild_ready_if_stale() {
  const size_t held = ready_.size() + fifo_.size() - fifo_head_;
  if (held - live_ready_ <= live_ready_ + 64) return;
  auto stale = [](const ReadyEntry& entry) { return !is_live(entry.node, entry.seq); };
  std::erase_if(ready_, stale);
  std::make_heap(ready_.begin(), ready_.end(), Later{});
  fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<ptrdiff_t>(fifo_head_));
  fifo_head_ = 0;
  std::erase_if(fifo_, stale);  // keeps the order
}

void TimerWheel::clear_slots() {
  for (unsigned level = 0; level < kLevels; ++level) {
    for (uint64_t mask = occupied_[level]; mask != 0; mask &= mask - 1) {
      release_slot_storage(level * kSlots + static_cast<unsigned>(std::countr_zero(mask)));
    }
    occupied_[level] = 0;
  }
  slot_entries_ = 0;
  sweep_read_ = sweep_write_ = 0;
}

void TimerWheel::release_slot_storage(unsigned index) {
  std::vector<SlotEntry>& entries = slots_[index];
  if (entries.capacity() > kKeptSlotCapacity) std::vector<SlotEntry>().swap(entries);
  else entries.clear();
  if (index == sweep_index_) sweep_read_ = sweep_write_ = 0;
}

int TimerWheel::lowest_occupied_level() const {
  for (unsigned level = 0; level < kLevels; ++level)
    if (occupied_[level]) return static_cast<int>(level);
  return -1;
}

// Start of slot `slot` at `level` in the current rotation: the current tick's digits above the
// level, this slot's digit, zeros below. Every occupied slot lies after the current digit.
uint64_t TimerWheel::slot_start_tick(unsigned level, unsigned slot) const {
  const unsigned shift = (level + 1) * kLevelBits;
  const uint64_t high = shift >= 64 ? 0 : (current_tick_ >> shift) << shift;
  return high | (uint64_t{slot} << (level * kLevelBits));
}

bool TimerWheel::cascade_earliest(uint64_t limit_ns) {
  const int level = lowest_occupied_level();
  if (level < 0) return false;
  const unsigned slot = static_cast<unsigned>(std::countr_zero(occupied_[level]));
  const uint64_t start_tick = slot_start_tick(static_cast<unsigned>(level), slot);
  if ((start_tick << kTickShift) > limit_ns) return false;
  current_tick_ = start_tick;
  const unsigned index = static_cast<unsigned>(level) * kSlots + slot;
  // Take the slot's array out first: live entries land in lower levels or the ready heap,
  // never back in this slot (their tick now differs from the current one below this level).
  std::vector<SlotEntry> entries;
  entries.swap(slots_[index]);
  occupied_[level] &= ~(uint64_t{1} << slot);
  slot_entries_ -= entries.size();
  if (index == sweep_index_) sweep_read_ = sweep_write_ = 0;
  constexpr size_t kPrefetchAhead = 8;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + kPrefetchAhead < entries.size()) __builtin_prefetch(entries[i + kPrefetchAhead].node);
    const SlotEntry& entry = entries[i];
    if (!is_live(entry.node, entry.seq)) continue;
    --live_in_slots_;
    place(entry.node, entry.seq);  // same seq: the node's order among equal expiries is kept
  }
  if (entries.capacity() <= kKeptSlotCapacity && slots_[index].empty()) {
    entries.clear();
    slots_[index].swap(entries);
  }
  return true;
}

WheelNode* TimerWheel::peek_due(uint64_t limit_ns) {
  for (;;) {
    // Ready nodes all precede every slotted node, so the ready front is the minimum if any.
    if (const ReadyEntry* front = ready_front()) return front->expires <= limit_ns ? front->node : nullptr;
    if (!cascade_earliest(limit_ns)) return nullptr;
  }
}

uint64_t TimerWheel::next_expiry_bound() {
  if (const ReadyEntry* front = ready_front()) return front->expires;
  const int level = lowest_occupied_level();
  if (level < 0) return UINT64_MAX;
  const unsigned slot = static_cast<unsigned>(std::countr_zero(occupied_[level]));
  return slot_start_tick(static_cast<unsigned>(level), slot) << kTickShift;
}

// Moves the sweep to the next slot holding entries (after the current one, wrapping around).
bool TimerWheel::next_sweep_slot() {
  constexpr unsigned kTotal = kLevels * kSlots;
  for (unsigned step = 1; step <= kTotal; ++step) {
    const unsigned index = (sweep_index_ + step) % kTotal;
    if (occupied_[index / kSlots] & (uint64_t{1} << (index % kSlots))) {
      sweep_index_ = index;
      sweep_read_ = sweep_write_ = 0;
      return true;
    }
  }
  return false;
}

// Examines up to `budget` entries at the sweep position, compacting the slot in place: live
// entries move down to sweep_write_, and the place each leaves behind becomes a hole (seq 0)
// so that no live entry is ever held twice. A slot finished is cut to its live prefix.
void TimerWheel::sweep(unsigned budget) {
  constexpr size_t kPrefetchAhead = 8;
  while (budget > 0 && sweep_wanted()) {
    std::vector<SlotEntry>& entries = slots_[sweep_index_];
    if (sweep_read_ >= entries.size()) {
      slot_entries_ -= entries.size() - sweep_write_;
      entries.resize(sweep_write_);
      if (entries.empty()) {
        occupied_[sweep_index_ / kSlots] &= ~(uint64_t{1} << (sweep_index_ % kSlots));
        release_slot_storage(sweep_index_);
      }
      if (!next_sweep_slot()) return;
      continue;
    }
    if (sweep_read_ + kPrefetchAhead < entries.size())
      __builtin_prefetch(entries[sweep_read_ + kPrefetchAhead].node);
    const SlotEntry entry = entries[sweep_read_];
    if (is_live(entry.node, entry.seq)) {
      if (sweep_write_ != sweep_read_) {
        entries[sweep_write_] = entry;
        entries[sweep_read_].seq = 0;
      }
      ++sweep_write_;
    }
    ++sweep_read_;
    --budget;
  }
}

}  // namespace hourglass::timers
