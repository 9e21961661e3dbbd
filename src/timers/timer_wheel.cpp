#include "timers/timer_wheel.h"

#include <bit>

namespace hourglass::timers {

void TimerWheel::insert(WheelNode* node, uint64_t now_ns) {
  if (slot_count_ == 0) {
    // Nothing in the slots depends on the current tick: move it up to now (ready nodes all have
    // tick <= the old current tick, so they stay valid).
    const uint64_t now_tick = now_ns >> kTickShift;
    if (now_tick > current_tick_) current_tick_ = now_tick;
  }
  place(node);
}

void TimerWheel::place(WheelNode* node) {
  const uint64_t tick = node->expires >> kTickShift;
  if (tick <= current_tick_) {
    heap_push(node);
    return;
  }
  const unsigned highest_bit = 63u - static_cast<unsigned>(std::countl_zero(tick ^ current_tick_));
  const unsigned level = highest_bit / kLevelBits;
  const unsigned slot = static_cast<unsigned>(tick >> (level * kLevelBits)) & (kSlots - 1);
  node->where = WheelNode::kSlot;
  node->level = static_cast<uint8_t>(level);
  node->slot = static_cast<uint8_t>(slot);
  node->prev = nullptr;
  node->next = slots_[level][slot];
  if (node->next) node->next->prev = node;
  slots_[level][slot] = node;
  occupied_[level] |= uint64_t{1} << slot;
  ++slot_count_;
}

bool TimerWheel::remove(WheelNode* node) {
  switch (node->where) {
    case WheelNode::kSlot: {
      if (node->prev) node->prev->next = node->next;
      else slots_[node->level][node->slot] = node->next;
      if (node->next) node->next->prev = node->prev;
      if (!slots_[node->level][node->slot]) occupied_[node->level] &= ~(uint64_t{1} << node->slot);
      node->next = node->prev = nullptr;
      --slot_count_;
      break;
    }
    case WheelNode::kReady:
      heap_erase(node->heap_index);
      break;
    default:
      return false;
  }
  node->where = WheelNode::kNowhere;
  return true;
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
  WheelNode* node = slots_[level][slot];
  slots_[level][slot] = nullptr;
  occupied_[level] &= ~(uint64_t{1} << slot);
  while (node) {
    WheelNode* next = node->next;
    --slot_count_;
    node->next = node->prev = nullptr;
    place(node);  // lands in a lower level, or in the ready heap
    node = next;
  }
  return true;
}

WheelNode* TimerWheel::peek_due(uint64_t limit_ns) {
  for (;;) {
    // Ready nodes all precede every slotted node, so the heap top is the minimum when present.
    if (!ready_.empty()) return ready_[0]->expires <= limit_ns ? ready_[0] : nullptr;
    if (!cascade_earliest(limit_ns)) return nullptr;
  }
}

uint64_t TimerWheel::next_expiry_bound() const {
  if (!ready_.empty()) return ready_[0]->expires;
  const int level = lowest_occupied_level();
  if (level < 0) return UINT64_MAX;
  const unsigned slot = static_cast<unsigned>(std::countr_zero(occupied_[level]));
  return slot_start_tick(static_cast<unsigned>(level), slot) << kTickShift;
}

void TimerWheel::heap_push(WheelNode* node) {
  node->where = WheelNode::kReady;
  ready_.push_back(node);
  node->heap_index = static_cast<uint32_t>(ready_.size() - 1);
  sift_up(node->heap_index);
}

void TimerWheel::heap_erase(uint32_t index) {
  const uint32_t last = static_cast<uint32_t>(ready_.size() - 1);
  if (index != last) {
    WheelNode* moved = ready_[last];
    heap_set(index, moved);
    ready_.pop_back();
    sift_up(index);
    sift_down(moved->heap_index);
  } else {
    ready_.pop_back();
  }
}

void TimerWheel::sift_up(uint32_t index) {
  WheelNode* node = ready_[index];
  while (index > 0) {
    const uint32_t parent = (index - 1) / 2;
    if (!earlier(node, ready_[parent])) break;
    heap_set(index, ready_[parent]);
    index = parent;
  }
  heap_set(index, node);
}

void TimerWheel::sift_down(uint32_t index) {
  WheelNode* node = ready_[index];
  const uint32_t count = static_cast<uint32_t>(ready_.size());
  for (;;) {
    uint32_t child = 2 * index + 1;
    if (child >= count) break;
    if (child + 1 < count && earlier(ready_[child + 1], ready_[child])) ++child;
    if (!earlier(ready_[child], node)) break;
    heap_set(index, ready_[child]);
    index = child;
  }
  heap_set(index, node);
}

}  // namespace hourglass::timers
