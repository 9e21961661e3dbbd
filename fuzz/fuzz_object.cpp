// libFuzzer target: the object loader (object::parse_object) on bytes mutated from real .bpf.o
// files. Any input must give a parsed object or an error, never a crash or sanitizer report.
#include <cstddef>
#include <cstdint>

#include "object/object.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = hourglass::object::parse_object(data, size, "fuzz.bpf.o");
  if (parsed.ok()) {
    // Touch what a loader reads next so that half-initialised results show up under ASan.
    size_t total_insns = 0;
    for (const auto& program : parsed->programs) total_insns += program.insns.size();
    volatile size_t sink = total_insns + parsed->maps.size();
    (void)sink;
  } else {
    volatile size_t sink = parsed.error().message.size();
    (void)sink;
  }
  return 0;
}
