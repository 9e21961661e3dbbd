// libFuzzer target: maps::create_map with fuzzed attributes, then a fuzzed sequence of
// application-side operations (lookup, update, delete, next key with random keys, values and
// flags) mixed with program-side ones (lookup/update/delete under an EpochGuard, push/pop/peek,
// bpf_timer init/cancel on a value's timer field). Every call must return a value or an errno,
// never crash or trip a sanitizer. Input format: maps_input.h.
#include <cstddef>
#include <cstdint>

#include "maps_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hourglass::fuzz::run_maps_input(data, size);
  return 0;
}
