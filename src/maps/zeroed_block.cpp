#include "maps/zeroed_block.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

namespace hourglass::maps::detail {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t mapped_size(size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }

}  // namespace

void* allocate_zeroed_block(size_t bytes) noexcept {
  if (bytes < kHugePage) return std::calloc(1, bytes == 0 ? 1 : bytes);
  const size_t size = mapped_size(bytes);
  // Over-map by one huge page and trim, so the block starts on a 2 MiB boundary.
  void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t tail = start + size + kHugePage - (aligned + size);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advice: failure is harmless
  return reinterpret_cast<void*>(aligned);
}

void free_zeroed_block(void* block, size_t bytes) noexcept {
  if (block == nullptr) return;
  if (bytes < kHugePage) {
    std::free(block);
    return;
  }
  munmap(block, mapped_size(bytes));
}

}  // namespace hourglass::maps::detail
