// TimerPool: the slab behind every TimerObj (see engine_internal.h for why it exists).
#include <sys/mman.h>

#include <mutex>
#include <new>
#include <unordered_set>

#include "timers/engine_internal.h"

namespace hourglass::timers {

namespace {

constexpr uint64_t kSmallPageChunks = 8;

struct ChunkHeader {
  TimerPool* pool;
  void* next_chunk;  // the pool's chunks form a list through their headers
};

// A 2 MiB-aligned anonymous mapping (so that an object finds its chunk header by masking its
// address, and so that the chunk can be one huge page).
void* map_aligned_chunk() {
  const size_t size = TimerPool::kChunkBytes;
  void* raw = mmap(nullptr, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + size - 1) & ~(uintptr_t{size} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t tail = start + 2 * size - (aligned + size);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + size), tail);
  return reinterpret_cast<void*>(aligned);
}

// Pools whose engine is gone while epoch reclamation still holds some of their timers. Kept
// reachable from a global so that a process exiting before the reclaimer's next pass does not
// look to LeakSanitizer as if it leaked them (their objects live in mmap chunks, which LSan does
// not scan). Allocated once and never destroyed: the reclaimer thread may use it during exit.
struct OrphanPools {
  std::mutex mutex;  // protects pools; always taken inside a pool's own mutex, never around it
  std::unordered_set<const TimerPool*> pools;
};

OrphanPools& orphan_pools() {
  static auto* orphans = new OrphanPools;
  return *orphans;
}

void set_orphaned(const TimerPool* pool, bool orphaned) {
  OrphanPools& orphans = orphan_pools();
  std::lock_guard<std::mutex> lock(orphans.mutex);
  if (orphaned) orphans.pools.insert(pool);
  else orphans.pools.erase(pool);
}

}  // namespace

void TimerObj::reset() noexcept {
  expires = 0;
  where = kNowhere;
  clock_id = 0;
  dead = false;
  cpu = 0;
  cancelling.store(0, std::memory_order_relaxed);
  running.store(0, std::memory_order_relaxed);
  map = nullptr;
  value = nullptr;
  callback = nullptr;
  prog = nullptr;
}

TimerPool* TimerPool::create() { return new TimerPool(); }

TimerPool::~TimerPool() {
  while (chunks_ != nullptr) {
    void* next = static_cast<ChunkHeader*>(chunks_)->next_chunk;
    munmap(chunks_, kChunkBytes);
    chunks_ = next;
  }
}

bool TimerPool::add_chunk() noexcept {
  void* chunk = map_aligned_chunk();
  if (chunk == nullptr) return false;
  // The first chunks (up to ~250k timers) stay in small pages, so that a runtime with a few
  // timers does not pay for whole huge pages; beyond, where every timer operation would miss
  // the TLB, huge pages save that miss.
  if (chunk_count_ >= kSmallPageChunks) madvise(chunk, kChunkBytes, MADV_HUGEPAGE);
  *static_cast<ChunkHeader*>(chunk) = ChunkHeader{this, chunks_};
  chunks_ = chunk;
  ++chunk_count_;
  bump_ = static_cast<char*>(chunk) + kHeaderBytes;
  bump_end_ = static_cast<char*>(chunk) + kChunkBytes;
  return true;
}

TimerObj* TimerPool::allocate() noexcept {
  TimerObj* t = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++refs_;
    if (free_list_ != nullptr) {
      t = free_list_;
      free_list_ = static_cast<TimerObj*>(t->value);
    } else {
      if (bump_ == nullptr || bump_end_ - bump_ < static_cast<ptrdiff_t>(sizeof(TimerObj))) {
        if (!add_chunk()) {
          --refs_;
          return nullptr;
        }
      }
      t = new (bump_) TimerObj;  // constructed once; reset() on every reuse
      bump_ += sizeof(TimerObj);
    }
  }
  t->reset();
  return t;
}

void TimerPool::free(void* object) noexcept {
  auto* t = static_cast<TimerObj*>(object);
  const auto chunk = reinterpret_cast<uintptr_t>(object) & ~(uintptr_t{kChunkBytes} - 1);
  TimerPool* pool = reinterpret_cast<ChunkHeader*>(chunk)->pool;
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(pool->mutex_);
    t->value = pool->free_list_;
    pool->free_list_ = t;
    last = --pool->refs_ == 0;
    if (last && pool->orphaned_) set_orphaned(pool, false);
  }
  if (last) delete pool;
}

void TimerPool::release_owner() noexcept {
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last = --refs_ == 0;
    orphaned_ = !last;
    if (orphaned_) set_orphaned(this, true);
  }
  if (last) delete this;
}

uint64_t TimerPool::bytes_mapped() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return chunk_count_ * kChunkBytes;
}

}  // namespace hourglass::timers
