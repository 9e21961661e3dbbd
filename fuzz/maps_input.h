// fuzz_maps's input format and its interpretation, shared by the fuzzer and the seed test (so
// that a committed seed means to the test exactly what it means to the fuzzer).
//
// A 7-byte header, then operations; missing bytes read as zero.
//   header: type (% 9, kMapsTypes), key size (% 72; ignored for queue/stack), value size
//           (% 160) and a byte whose low bit adds 1 to it, max entries (% 48), flags (% 7,
//           kMapsFlagChoices), timer choice (bit 7 set and value size >= 16: a bpf_timer at
//           offset (choice % (value size - 15)) & ~7)
//   operation: op byte (% 12, the MapsOp list), flags byte (% 8: ANY, NOEXIST, EXIST, LOCK and
//           invalid bits), then the key (key size bytes), then for the ops that take one a value
//           (user update: the user value size, all CPUs' slots of a per-CPU map; program
//           update/push/pop/peek: the value size)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "maps/map.h"

namespace hourglass::fuzz {

inline constexpr size_t kMaxMapOps = 256;
inline constexpr uint32_t kMapsCpus = 2;

inline constexpr maps::MapType kMapsTypes[] = {
    maps::MapType::Hash,    maps::MapType::Array,         maps::MapType::PercpuHash,
    maps::MapType::PercpuArray, maps::MapType::LruHash,   maps::MapType::LruPercpuHash,
    maps::MapType::Queue,   maps::MapType::Stack,         maps::MapType::LpmTrie};
inline constexpr uint32_t kMapsFlagChoices[] = {
    0,
    maps::kFlagNoPrealloc,
    maps::kFlagNoCommonLru,
    maps::kFlagNoPrealloc | maps::kFlagNoCommonLru,
    maps::kFlagRdonlyProg,
    maps::kFlagZeroSeed,
    1u << 20 /* unknown */};

// Operation codes (op byte % 12). Bit 7 of the op byte picks a variant where noted; the byte
// must still leave the code modulo 12: 0x88 is next key from the first key, 0x81 pop.
enum MapsOp : uint8_t {
  kOpUserLookup = 0,
  kOpUserUpdate = 1,  // 1 and 2: updates twice as likely
  kOpUserDelete = 3,
  kOpNextKey = 4,      // bit 7: from the first key (null key)
  kOpProgLookup = 5,
  kOpProgUpdate = 6,
  kOpProgDelete = 7,
  kOpPush = 8,
  kOpPopOrPeek = 9,    // bit 7: pop, else peek
  kOpTimerInit = 10,
  kOpTimerCancel = 11,
};

// An operation that made no call (a timer op on a map without a timer field).
inline constexpr long kOpSkipped = 1;

struct MapsRun {
  bool created = false;
  long create_error = 0;       // negative errno when !created
  std::vector<long> results;   // one per operation: the call's return (program lookup: 0 or
                               // -ENOENT; timer ops: -ENOENT without an element), or kOpSkipped
};

// Creates the map the header describes, runs the operations and releases the map, as the
// fuzzer does for every input.
MapsRun run_maps_input(const uint8_t* data, size_t size);

}  // namespace hourglass::fuzz
