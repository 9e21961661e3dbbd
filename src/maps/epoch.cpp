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
// Retired objects go onto a lock-free stack (one per FreeContext); one thread at a time
// (reclaim_busy) moves them into the pending lists and frees what is safe. Free functions run on
// a background reclaimer thread (or inside synchronize()), never inside retire(): a free function
// may release a program whose maps call the timer hooks, and the code that retired may hold the
// locks those hooks take (the kernel's call_rcu never runs callbacks inline for the same reason).
// The one exception is FreeContext::InlineSafe, whose free functions only return memory to a
// pool: an allocator that ran dry runs those itself (reclaim_inline_safe).
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

// Objects retired through the void* interface ride in a heap-allocated box.
struct BoxedObject {
  RetireNode node;  // first member: the node's address is the box's
  void* object;
  void (*free_object)(void*);
};

void free_boxed(RetireNode* node) {
  auto* box = reinterpret_cast<BoxedObject*>(node);
  box->free_object(box->object);
  delete box;
}

// One queue per FreeContext: lock-free pushes from retire(); the pending FIFOs belong to whoever
// owns reclaim_busy.
struct RetireQueue {
  const size_t wake_batch;  // retirements that wake the reclaimer at once
  std::atomic<RetireNode*> stack{nullptr};
  std::atomic<size_t> since_reclaim{0};
  RetireNode* pending_head = nullptr;  // protected by reclaim_busy
  RetireNode* pending_tail = nullptr;
};
// Indexed by FreeContext. InlineSafe objects wake the reclaimer rarely: their allocators reclaim
// them on their own when they run dry, and a wake-up costs the retiring thread a futex call.
RetireQueue queues[2] = {{64}, {4096}};
RetireQueue& queue_for(FreeContext context) { return queues[static_cast<int>(context)]; }

std::atomic<size_t> outstanding{0};     // retired, not yet freed
std::atomic<bool> reclaim_busy{false};  // owner may touch the pending lists
// True on the thread running free functions: a free function that ends up in synchronize()
// (a program's last release freeing its maps, say) must not wait for itself.
thread_local bool tls_reclaiming = false;

// This thread's record, guard nesting depth and retirements since its outermost guard began.
// Only the owning thread touches these fields.
struct ThreadState {
  ThreadRecord* record = nullptr;
  uint32_t depth = 0;
  uint32_t retired_in_guard = 0;
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

// Caller owns reclaim_busy. Moves the queue's stack to the end of its FIFO pending list.
void drain_stack(RetireQueue& queue) {
  RetireNode* lifo = queue.stack.exchange(nullptr, std::memory_order_acquire);
  RetireNode* fifo = nullptr;
  RetireNode* fifo_tail = lifo;
  while (lifo) {
    RetireNode* next = lifo->next;
    lifo->next = fifo;
    fifo = lifo;
    lifo = next;
  }
  if (!fifo) return;
  if (queue.pending_tail)
    queue.pending_tail->next = fifo;
  else
    queue.pending_head = fifo;
  queue.pending_tail = fifo_tail;
}

// Caller owns reclaim_busy. Frees, in retire order, the pending objects tagged below `bound`
// up to the first that is not: tags grow along the list but for retirements that raced, so
// stopping there costs at most a little delay and keeps each pass proportional to what it frees.
// free_fn may call retire() (it only pushes onto a stack). Returns how many were freed.
size_t free_pending_below(RetireQueue& queue, uint64_t bound) {
  RetireNode* freeable = queue.pending_head;
  RetireNode* last_freeable = nullptr;
  RetireNode* node = queue.pending_head;
  while (node && node->tag < bound) {
    last_freeable = node;
    node = node->next;
  }
  if (!last_freeable) return 0;
  queue.pending_head = node;
  if (!node) queue.pending_tail = nullptr;
  last_freeable->next = nullptr;
  const bool was_reclaiming = tls_reclaiming;
  tls_reclaiming = true;
  size_t freed = 0;
  while (freeable) {
    RetireNode* next = freeable->next;
    freeable->free_fn(freeable);
    ++freed;
    freeable = next;
  }
  tls_reclaiming = was_reclaiming;
  outstanding.fetch_sub(freed, std::memory_order_relaxed);
  return freed;
}

void try_reclaim() {
  if (reclaim_busy.exchange(true, std::memory_order_acquire)) return;  // someone else is at it
  for (RetireQueue& queue : queues) {
    queue.since_reclaim.store(0, std::memory_order_relaxed);
    drain_stack(queue);
  }
  global_epoch.fetch_add(1, std::memory_order_seq_cst);
  const uint64_t bound = min_active_epoch();
  for (RetireQueue& queue : queues) free_pending_below(queue, bound);
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
  state.retired_in_guard = 0;
  state.record->announced.store(global_epoch.load(std::memory_order_seq_cst),
                                std::memory_order_seq_cst);
  hourglass::full_fence();
}

EpochGuard::~EpochGuard() {
  ThreadState& state = tls_state;
  if (--state.depth != 0) return;
  state.record->announced.store(kInactive, std::memory_order_release);
}

void retire(RetireNode* node, FreeContext context) noexcept {
  hourglass::full_fence();  // the unlink precedes the tag read
  node->tag = global_epoch.load(std::memory_order_seq_cst);
  RetireQueue& queue = queue_for(context);
  RetireNode* head = queue.stack.load(std::memory_order_relaxed);
  do {
    node->next = head;
  } while (!queue.stack.compare_exchange_weak(head, node, std::memory_order_release,
                                              std::memory_order_relaxed));
  ++tls_state.retired_in_guard;
  const size_t waiting = outstanding.fetch_add(1, std::memory_order_relaxed);
  // The first retirement starts the reclaimer (which then polls while objects wait); a full
  // batch wakes it early.
  if (waiting == 0 ||
      queue.since_reclaim.fetch_add(1, std::memory_order_relaxed) + 1 >= queue.wake_batch)
    request_reclaim();
}

void retire(void* object, void (*free_fn)(void* object)) noexcept {
  auto* box = new BoxedObject{{nullptr, 0, free_boxed}, object, free_fn};
  retire(&box->node, FreeContext::Deferred);
}

bool reclaim_inline_safe() noexcept {
  if (reclaim_busy.exchange(true, std::memory_order_acquire)) return false;
  RetireQueue& queue = queue_for(FreeContext::InlineSafe);
  drain_stack(queue);
  global_epoch.fetch_add(1, std::memory_order_seq_cst);
  const size_t freed = free_pending_below(queue, min_active_epoch());
  reclaim_busy.store(false, std::memory_order_release);
  return freed != 0;
}

void quiescent_point() noexcept {
  constexpr uint32_t kRetiredBeforeQuiescence = 64;
  ThreadState& state = tls_state;
  if (state.depth != 1 || state.retired_in_guard < kRetiredBeforeQuiescence) return;
  state.retired_in_guard = 0;
  // Leaving and re-entering the guard, minus the bookkeeping. The epoch is advanced first, so
  // that what this thread retired (tagged with the old epoch) is already behind its new
  // announcement; the fence orders the announcement before the next run's loads.
  const uint64_t now = global_epoch.fetch_add(1, std::memory_order_seq_cst) + 1;
  state.record->announced.store(now, std::memory_order_seq_cst);
  hourglass::full_fence();
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
  for (RetireQueue& queue : queues) {
    drain_stack(queue);
    free_pending_below(queue, target);
  }
  reclaim_busy.store(false, std::memory_order_release);
}

bool in_epoch() noexcept { return tls_state.depth > 0; }

}  // namespace hourglass::maps
