// Copies bytes that BPF programs may be reading or writing at the same moment (map values,
// global data). Programs access such memory with atomic or relaxed accesses (the vm makes its
// plain loads and stores relaxed atomics), so the application-side copies are relaxed atomic
// too: as racy as the kernel's memcpy of a live value, but not undefined behaviour.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hourglass {

inline void relaxed_copy(void* dst, const void* src, size_t size) {
  auto* out = static_cast<uint8_t*>(dst);
  auto* in = static_cast<const uint8_t*>(src);
  size_t pos = 0;
  if (((reinterpret_cast<uintptr_t>(out) | reinterpret_cast<uintptr_t>(in)) & 7) == 0) {
    for (; pos + 8 <= size; pos += 8) {
      uint64_t word = __atomic_load_n(reinterpret_cast<const uint64_t*>(in + pos), __ATOMIC_RELAXED);
      __atomic_store_n(reinterpret_cast<uint64_t*>(out + pos), word, __ATOMIC_RELAXED);
    }
  }
  for (; pos < size; ++pos)
    __atomic_store_n(out + pos, __atomic_load_n(in + pos, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

}  // namespace hourglass
