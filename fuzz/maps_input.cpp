#include "maps_input.h"

#include <iterator>

#include "maps/epoch.h"
#include "timers/timers.h"

namespace hourglass::fuzz {
namespace {

using maps::MapType;

// Reads the input front to back; past the end everything is zero.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  void bytes(uint8_t* out, size_t count) {
    for (size_t i = 0; i < count; ++i) out[i] = byte();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// The engine serves as the maps' special-field hooks (timers freed on delete/update/release).
// One for the process: its virtual clock never advances, so no callback ever runs.
timers::TimerEngine& engine() {
  static auto made = [] {
    timers::EngineOptions options;
    options.ncpus = kMapsCpus;
    options.virtual_time = true;
    return timers::TimerEngine::create(options);
  }();
  return *made;
}

maps::MapAttr read_attr(Reader& in) {
  maps::MapAttr attr;
  attr.type = kMapsTypes[in.byte() % std::size(kMapsTypes)];
  attr.name = "fuzz";
  const bool keyless = attr.type == MapType::Queue || attr.type == MapType::Stack;
  const uint8_t key_size = in.byte();
  attr.key_size = keyless ? 0 : key_size % 72;  // a few above the 64-byte limit too
  attr.value_size = in.byte() % 160;
  attr.value_size += in.byte() & 1;
  attr.max_entries = in.byte() % 48;
  attr.map_flags = kMapsFlagChoices[in.byte() % std::size(kMapsFlagChoices)];
  attr.ncpus = kMapsCpus;
  const uint8_t timer_choice = in.byte();
  if ((timer_choice & 0x80) && attr.value_size >= 16) {
    attr.record.timer_off = static_cast<int32_t>((timer_choice % (attr.value_size - 15)) & ~7u);
    attr.has_value_btf = true;
    attr.hooks = &engine();
  }
  return attr;
}

// Reads every byte a program may see: catches stale or short value memory under ASan.
void touch_value(const void* found, uint32_t value_size) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < value_size; ++i) sum += static_cast<const uint8_t*>(found)[i];
  volatile uint32_t sink = sum;
  (void)sink;
}

long run_op(maps::Map& map, Reader& in) {
  const maps::MapAttr& attr = map.attr();
  const uint8_t op_byte = in.byte();
  const uint64_t flags = in.byte() % 8;
  std::vector<uint8_t> key(attr.key_size);
  in.bytes(key.data(), key.size());
  const void* key_ptr = key.empty() ? nullptr : key.data();
  std::vector<uint8_t> value(map.user_value_size() + 8);
  const uint8_t op = op_byte % 12;
  switch (op) {
    case kOpUserLookup:
      return map.user_lookup(key_ptr, value.data());
    case kOpUserUpdate:
    case kOpUserUpdate + 1:
      in.bytes(value.data(), map.user_value_size());
      return map.user_update(key_ptr, value.data(), flags);
    case kOpUserDelete:
      return map.user_delete(key_ptr);
    case kOpNextKey: {
      std::vector<uint8_t> next(attr.key_size + 1);
      return map.get_next_key((op_byte & 0x80) ? nullptr : key_ptr, next.data());
    }
    case kOpProgLookup: {
      maps::EpochGuard guard;
      void* found = map.lookup(key_ptr);
      if (found == nullptr) return -ENOENT;
      touch_value(found, attr.value_size);
      return 0;
    }
    case kOpProgUpdate: {
      maps::EpochGuard guard;
      in.bytes(value.data(), attr.value_size);
      return map.update(key_ptr, value.data(), flags);
    }
    case kOpProgDelete: {
      maps::EpochGuard guard;
      return map.remove(key_ptr);
    }
    case kOpPush:
    case kOpPopOrPeek: {
      maps::EpochGuard guard;
      in.bytes(value.data(), attr.value_size);
      if (op == kOpPush) return map.push(value.data(), flags);
      return (op_byte & 0x80) ? map.pop(value.data()) : map.peek(value.data());
    }
    default: {
      // bpf_timer_init / cancel on a value's timer field, as a program would reach it.
      if (!attr.record.has_timer()) return kOpSkipped;
      maps::EpochGuard guard;
      void* found = map.lookup(key_ptr);
      if (found == nullptr) return -ENOENT;
      void* timer = static_cast<uint8_t*>(found) + attr.record.timer_off;
      if (op == kOpTimerInit) return engine().timer_init(timer, &map, timers::kClockMonotonic);
      return engine().timer_cancel(timer);
    }
  }
}

}  // namespace

MapsRun run_maps_input(const uint8_t* data, size_t size) {
  MapsRun run;
  Reader in(data, size);
  auto created = maps::create_map(read_attr(in));
  if (!created.ok()) {
    run.create_error = -created.error().code;
    return run;
  }
  run.created = true;
  maps::Map* map = *created;
  map->acquire_user();  // like holding the map's fd
  for (size_t i = 0; i < kMaxMapOps && !in.done(); ++i) run.results.push_back(run_op(*map, in));
  map->release_user();  // cancels and frees the timers
  map->release();
  return run;
}

}  // namespace hourglass::fuzz
