// Epoch-based reclamation (see epoch.h for the promise).
//
// Scheme: a global epoch counter; each thread that ever takes a guard owns a ThreadRecord in a
// registry and, while its outermost guard lives, announces the global epoch it read on entry.
// retire() tags an object with the global epoch read *after* the caller unlinked it. An object
// tagged t may be freed once every thread in a guard has announced an epoch > t: such a thread
// read the epoch after someone advanced it past t, i.e. after the unlink, so it cannot reach the
// object. The seq_cst fences on guard entry and before every scan give the Dekker ordering for
// the remaining case (a reader that read an old epoch but announces it after the scan: its loads
// then see the unlink).
//
// Retired objects go onto a lock-free stack; one thread at a time (reclaim_busy) moves them into
// the pending list and frees what is safe. Free functions run on a background reclaimer thread
// (or inside synchronize()), never inside retire(): a free function may release a program whose
// maps call the timer hooks, and the code that retired may hold the locks those hooks take (the
// kernel's call_rcu never runs callbacks inline for the same reason).
#include "maps/epoch.h"

#include "common/full_fence.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace hourglass::maps {

namespace {

constexpr uint64_t kInactive = UINT64_MAX;
constexpr size_t kReclaimBatch = 64;  // retirements that wake the reclaimer at once

struct alignas(64) ThreadRecord {
  std::atomic<uint64_t> announced{kInactive};  // written by the owner, scanned by reclaimers
  ThreadRecord* prev = nullptr;                // registry links: protected by Registry::mutex
  ThreadRecord* next = nullptr;
};

struct Registry {
  std::mutex mutex;  // protects the record list (insert, unlink, scan)
  ThreadRecord* head = nullptr;
};

// Leaked on purpose: threads may exit (and unregister) after static destructors ran.
Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

std::atomic<uint64_t> global_epoch{1};

struct Retired {
  void* object;
  void (*free_fn)(void*);
  uint64_t tag;
  Retired* next;
};

std::atomic<Retired*> retired_stack{nullptr};  // lock-free pushes from retire()
std::atomic<size_t> retired_since_reclaim{0};
std::atomic<size_t> outstanding{0};     // retired, not yet freed
std::atomic<bool> reclaim_busy{false};  // owner may touch the pending list below
Retired* pending_head = nullptr;        // FIFO of drained objects; protected by reclaim_busy
Retired* pending_tail = nullptr;
// True on the thread running free functions: a free function that ends up in synchronize()
// (a program's last release freeing its maps, say) must not wait for itself.
thread_local bool tls_reclaiming = false;

// This thread's record and guard nesting depth. Only the owning thread touches these fields.
struct ThreadState {
  ThreadRecord* record = nullptr;
  uint32_t depth = 0;
  ~ThreadState() {
    if (record == nullptr) return;
    Registry& reg = registry();
    std::lock_guard<std::mutex> lock(reg.mutex);
    if (record->prev)
      record->prev->next = record->next;
    else
      reg.head = record->next;
    if (record->next) record->next->prev = record->prev;
    delete record;
    record = nullptr;
  }
};
thread_local ThreadState tls_state;

ThreadRecord* register_thread() {
  auto* record = new ThreadRecord;
  Registry& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  record->next = reg.head;
  if (reg.head) reg.head->prev = record;
  reg.head = record;
  return record;
}

// Smallest epoch announced by a thread inside a guard (kInactive if none).
uint64_t min_active_epoch() {
  hourglass::full_fence();
  Registry& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  uint64_t min_epoch = kInactive;
  for (ThreadRecord* r = reg.head; r != nullptr; r = r->next) {
    uint64_t e = r->announced.load(std::memory_order_seq_cst);
    if (e < min_epoch) min_epoch = e;
  }
  return min_epoch;
}

void acquire_reclaim_blocking() {
  while (reclaim_busy.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
}

// Caller owns reclaim_busy. Moves the stack into the FIFO pending list.
void drain_stack() {
  Retired* lifo = retired_stack.exchange(nullptr, std::memory_order_acquire);
  Retired* fifo = nullptr;
  Retired* fifo_tail = lifo;
  while (lifo) {
    Retired* next = lifo->next;
    lifo->next = fifo;
    fifo = lifo;
    lifo = next;
  }
  if (!fifo) return;
  if (pending_tail)
    pending_tail->next = fifo;
  else
    pending_head = fifo;
  pending_tail = fifo_tail;
}

// Caller owns reclaim_busy. Frees, in retire order, every pending object tagged below `bound`.
// free_fn may call retire() (it only pushes onto the stack).
void free_pending_below(uint64_t bound) {
  Retired* freeable = nullptr;
  Retired** freeable_tail = &freeable;
  Retired* kept_tail = nullptr;
  Retired** link = &pending_head;
  while (*link) {
    Retired* node = *link;
    if (node->tag < bound) {
      *link = node->next;
      node->next = nullptr;
      *freeable_tail = node;
      freeable_tail = &node->next;
    } else {
      kept_tail = node;
      link = &node->next;
    }
  }
  pending_tail = kept_tail;
  tls_reclaiming = true;
  while (freeable) {
    Retired* next = freeable->next;
    freeable->free_fn(freeable->object);
    delete freeable;
    outstanding.fetch_sub(1, std::memory_order_relaxed);
    freeable = next;
  }
  tls_reclaiming = false;
}

void try_reclaim() {
  if (reclaim_busy.exchange(true, std::memory_order_acquire)) return;  // someone else is at it
  retired_since_reclaim.store(0, std::memory_order_relaxed);
  drain_stack();
  global_epoch.fetch_add(1, std::memory_order_seq_cst);
  free_pending_below(min_active_epoch());
  reclaim_busy.store(false, std::memory_order_release);
}

// The background reclaimer. Its state is leaked on purpose: the detached thread may still wait on
// it while static destructors run at exit.
struct Reclaimer {
  std::mutex mutex;  // protects work_requested
  std::condition_variable wake;
  bool work_requested = false;
};

Reclaimer& reclaimer() {
  static Reclaimer* instance = new Reclaimer;
  return *instance;
}

[[noreturn]] void reclaimer_main() {
  Reclaimer& state = reclaimer();
  // While objects wait for a long guard, poll with a growing period; sleep when nothing waits.
  auto idle_wait = std::chrono::milliseconds(1);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(state.mutex);
      auto wait = outstanding.load(std::memory_order_relaxed) > 0 ? idle_wait
                                                                  : std::chrono::milliseconds(1000);
      state.wake.wait_for(lock, wait, [&] { return state.work_requested; });
      state.work_requested = false;
    }
    const size_t before = outstanding.load(std::memory_order_relaxed);
    try_reclaim();
    const bool progressed = outstanding.load(std::memory_order_relaxed) < before;
    idle_wait = progressed ? std::chrono::milliseconds(1)
                           : std::min(idle_wait * 2, std::chrono::milliseconds(100));
  }
}

std::once_flag reclaimer_started;

void request_reclaim() {
  std::call_once(reclaimer_started, [] { std::thread(reclaimer_main).detach(); });
  Reclaimer& state = reclaimer();
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    state.work_requested = true;
  }
  state.wake.notify_one();
}

}  // namespace

EpochGuard::EpochGuard() noexcept {
  ThreadState& state = tls_state;
  if (state.depth++ != 0) return;
  if (state.record == nullptr) state.record = register_thread();
  state.record->announced.store(global_epoch.load(std::memory_order_seq_cst),
                                std::memory_order_seq_cst);
  hourglass::full_fence();
}

EpochGuard::~EpochGuard() {
  ThreadState& state = tls_state;
  if (--state.depth != 0) return;
  state.record->announced.store(kInactive, std::memory_order_release);
}

void retire(void* object, void (*free_fn)(void* object)) noexcept {
  hourglass::full_fence();  // the unlink precedes the tag read
  auto* node = new Retired{object, free_fn, global_epoch.load(std::memory_order_seq_cst), nullptr};
  Retired* head = retired_stack.load(std::memory_order_relaxed);
  do {
    node->next = head;
  } while (!retired_stack.compare_exchange_weak(head, node, std::memory_order_release,
                                                std::memory_order_relaxed));
  const size_t waiting = outstanding.fetch_add(1, std::memory_order_relaxed);
  // The first retirement starts the reclaimer (which then polls while objects wait); a full
  // batch wakes it early.
  if (waiting == 0 ||
      retired_since_reclaim.fetch_add(1, std::memory_order_relaxed) + 1 >= kReclaimBatch) {
    request_reclaim();
  }
}

void synchronize() noexcept {
  // Waiting for ourselves would never end: inside a guard (a misuse, see epoch.h) or inside a
  // free function (the reclaimer's flag is ours), return without waiting.
  if (in_epoch() || tls_reclaiming) return;
  hourglass::full_fence();
  const uint64_t target = global_epoch.fetch_add(1, std::memory_order_seq_cst) + 1;
  // Wait for every guard that began before the bump to end.
  while (min_active_epoch() < target) std::this_thread::yield();
  acquire_reclaim_blocking();
  drain_stack();
  free_pending_below(target);
  reclaim_busy.store(false, std::memory_order_release);
}

bool in_epoch() noexcept { return tls_state.depth > 0; }

}  // namespace hourglass::maps
