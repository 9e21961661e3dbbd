// Private to maps/: zeroed storage blocks for preallocated maps (array values today).
//
// Blocks of 2 MiB and more are 2 MiB-aligned anonymous mappings advised MADV_HUGEPAGE: a program
// touching random elements of a large map then misses the TLB rarely, as the kernel's maps do on
// its huge-page direct map (an 8 MB array of 1M entries took ~96 ns per random lookup on 4 KiB
// pages against ~15 ns at 100k entries). Smaller blocks come from the heap.
#pragma once

#include <cstddef>

namespace hourglass::maps::detail {

void* allocate_zeroed_block(size_t bytes) noexcept;            // null without memory
void free_zeroed_block(void* block, size_t bytes) noexcept;    // `bytes` as allocated

}  // namespace hourglass::maps::detail
