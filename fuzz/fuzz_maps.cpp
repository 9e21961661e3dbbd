// libFuzzer target: maps::create_map with fuzzed attributes, then a fuzzed sequence of
// application-side operations (lookup, update, delete, next key with random keys, values and
// flags) mixed with program-side ones (lookup/update/delete under an EpochGuard, push/pop/peek,
// bpf_timer init/cancel on a value's timer field). Every call must return a value or an errno,
// never crash or trip a sanitizer.
//
// Input: a 6-byte header (type, key size, value size, max entries, flags, timer offset), then
// operations of 2 bytes (op, flags) followed by key and value bytes as the op needs; missing
// bytes read as zero.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "maps/epoch.h"
#include "maps/map.h"
#include "timers/timers.h"

namespace {

using hourglass::maps::MapType;

constexpr MapType kTypes[] = {MapType::Hash,     MapType::Array,        MapType::PercpuHash,
                              MapType::PercpuArray, MapType::LruHash,   MapType::LruPercpuHash,
                              MapType::Queue,    MapType::Stack,        MapType::LpmTrie};
constexpr uint32_t kFlagChoices[] = {0,
                                     hourglass::maps::kFlagNoPrealloc,
                                     hourglass::maps::kFlagNoCommonLru,
                                     hourglass::maps::kFlagNoPrealloc | hourglass::maps::kFlagNoCommonLru,
                                     hourglass::maps::kFlagRdonlyProg,
                                     hourglass::maps::kFlagZeroSeed,
                                     1u << 20 /* unknown */};
constexpr size_t kMaxOps = 256;

// Reads the fuzz input front to back; past the end everything is zero.
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
hourglass::timers::TimerEngine& engine() {
  static auto made = [] {
    hourglass::timers::EngineOptions options;
    options.ncpus = 2;
    options.virtual_time = true;
    return hourglass::timers::TimerEngine::create(options);
  }();
  return *made;
}

hourglass::maps::MapAttr read_attr(Reader& in) {
  hourglass::maps::MapAttr attr;
  attr.type = kTypes[in.byte() % std::size(kTypes)];
  attr.name = "fuzz";
  const bool keyless = attr.type == MapType::Queue || attr.type == MapType::Stack;
  const uint8_t key_size = in.byte();
  attr.key_size = keyless ? 0 : key_size % 72;  // a few above the 64-byte limit too
  attr.value_size = in.byte() % 160 + (in.byte() & 1);
  attr.max_entries = in.byte() % 48;
  attr.map_flags = kFlagChoices[in.byte() % std::size(kFlagChoices)];
  attr.ncpus = 2;
  const uint8_t timer_choice = in.byte();
  if ((timer_choice & 0x80) && attr.value_size >= 16) {
    attr.record.timer_off = static_cast<int32_t>((timer_choice % (attr.value_size - 15)) & ~7u);
    attr.has_value_btf = true;
    attr.hooks = &engine();
  }
  return attr;
}

void run_op(hourglass::maps::Map& map, Reader& in) {
  const hourglass::maps::MapAttr& attr = map.attr();
  const uint8_t op = in.byte();
  const uint64_t flags = in.byte() % 8;  // ANY, NOEXIST, EXIST, LOCK and invalid bits
  std::vector<uint8_t> key(attr.key_size);
  in.bytes(key.data(), key.size());
  const void* key_ptr = key.empty() ? nullptr : key.data();
  std::vector<uint8_t> value(map.user_value_size() + 8);
  switch (op % 12) {
    case 0:
      map.user_lookup(key_ptr, value.data());
      break;
    case 1:
    case 2:
      in.bytes(value.data(), map.user_value_size());
      map.user_update(key_ptr, value.data(), flags);
      break;
    case 3:
      map.user_delete(key_ptr);
      break;
    case 4: {
      std::vector<uint8_t> next(attr.key_size + 1);
      map.get_next_key((op & 0x80) ? nullptr : key_ptr, next.data());
      break;
    }
    case 5: {
      hourglass::maps::EpochGuard guard;
      if (void* found = map.lookup(key_ptr)) {
        // Read every byte a program may see: catches stale or short value memory.
        uint32_t sum = 0;
        for (uint32_t i = 0; i < attr.value_size; ++i) sum += static_cast<uint8_t*>(found)[i];
        volatile uint32_t sink = sum;
        (void)sink;
      }
      break;
    }
    case 6: {
      hourglass::maps::EpochGuard guard;
      in.bytes(value.data(), attr.value_size);
      map.update(key_ptr, value.data(), flags);
      break;
    }
    case 7: {
      hourglass::maps::EpochGuard guard;
      map.remove(key_ptr);
      break;
    }
    case 8:
    case 9: {
      hourglass::maps::EpochGuard guard;
      in.bytes(value.data(), attr.value_size);
      if (op % 12 == 8)
        map.push(value.data(), flags);
      else if (op & 0x80)
        map.pop(value.data());
      else
        map.peek(value.data());
      break;
    }
    default: {
      // bpf_timer_init / cancel on a value's timer field, as a program would reach it.
      if (!attr.record.has_timer()) break;
      hourglass::maps::EpochGuard guard;
      void* found = map.lookup(key_ptr);
      if (!found) break;
      void* timer = static_cast<uint8_t*>(found) + attr.record.timer_off;
      if (op % 12 == 10)
        engine().timer_init(timer, &map, hourglass::timers::kClockMonotonic);
      else
        engine().timer_cancel(timer);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  const hourglass::maps::MapAttr attr = read_attr(in);
  auto created = hourglass::maps::create_map(attr);
  if (!created.ok()) return 0;
  hourglass::maps::Map* map = *created;
  map->acquire_user();  // like holding the map's fd
  for (size_t i = 0; i < kMaxOps && !in.done(); ++i) run_op(*map, in);
  map->release_user();  // cancels and frees the timers
  map->release();
  return 0;
}
