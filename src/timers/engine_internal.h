// Private to timers/: the objects behind struct bpf_timer / struct bpf_wq, the per-vCPU queues
// and the engine's shared state. See docs/timers.md for the whole picture.
//
// Locking (outer to inner; nothing else is ever held while calling into BPF code or
// ProgramRef::release, kernel bug 9):
//   TimerObj::lock  ->  CpuQueue::mutex
//   WqObj::lock     ->  WqPool::mutex
// Workers take a queue mutex alone when popping a due timer, then the timer's lock alone to read
// its callback. The advance mutex (virtual time) is outermost and held across callbacks.
//
// Lifetimes: the first 8 bytes of the 16-byte field hold the object pointer. It is published by
// init (CAS from null) and taken back by free (exchange to null). Helpers load it inside an
// EpochGuard; free marks the object dead under its lock, unqueues it and hands it to
// maps::retire(), so a helper or worker that loaded the pointer before the exchange still finds
// valid memory (and sees `dead`). Workers take their guard while the object is still queued
// (under the queue mutex), before the free path can unqueue it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/program_ref.h"
#include "maps/map.h"
#include "timers/timer_wheel.h"
#include "timers/timers.h"
#include "timers/tiny_lock.h"

namespace hourglass::timers {

// One armed-or-not bpf_timer: exactly one cache line (static_assert in timer_ops.cpp), carved
// line-aligned from the engine's TimerPool, so that a start or cancel among millions of armed
// timers misses on one line of it. The small fields fill WheelNode's tail padding; keep them
// together. The fire count lives in the field itself (see fire_count_of).
struct TimerObj : WheelNode {
  uint8_t clock_id = 0;
  bool dead = false;                      // freed: every helper now returns -EINVAL
  uint16_t cpu = 0;                       // queue that holds it, or held it last
  std::atomic<int16_t> cancelling{0};     // callbacks cancelling this timer (6.10 -EDEADLK rule)
  TinyLock lock;  // protects dead, callback, prog, cpu (cpu also needs the queue mutex to change)
  std::atomic<uint32_t> running{0};       // callbacks of this timer executing right now
  maps::Map* map = nullptr;               // no reference: the map frees its timers before dying
  void* value = nullptr;                  // start of the map value holding the field
  const CallbackTarget* callback = nullptr;  // valid while `prog` is held
  ProgramRef* prog = nullptr;             // one reference, taken by set_callback

  // Back to the state of a new object, for reuse by the pool. queued_seq is already 0 (freed
  // timers are unqueued) and is left alone: stale wheel entries may read it concurrently.
  void reset() noexcept;
};

// Fixed-size slab of TimerObj in 2 MiB chunks (transparent huge pages from the ninth chunk
// on): dense objects, no allocator header per timer, few TLB misses at millions of timers.
// Memory is reused but never returned before the pool dies, which is what makes lazy removal
// from the wheels safe: a stale wheel entry may point at a freed (or recycled) object and read
// its queued_seq. The pool lives until the engine is gone and every object has come back
// (`refs`: one for the engine plus one per allocated object), since epoch reclamation may free
// the last timers after the engine's destruction.
class TimerPool {
 public:
  static TimerPool* create();
  TimerObj* allocate() noexcept;          // null when out of memory
  static void free(void* object) noexcept;  // epoch free function: back to its own pool
  void release_owner() noexcept;          // the engine is gone
  uint64_t bytes_mapped() const noexcept;

  static constexpr size_t kChunkBytes = size_t{2} << 20;
  static constexpr size_t kHeaderBytes = 64;  // the owning pool pointer, at the chunk's start

 private:
  TimerPool() = default;
  ~TimerPool();
  bool add_chunk() noexcept;

  mutable std::mutex mutex_;  // protects everything below
  TimerObj* free_list_ = nullptr;  // linked through TimerObj::value
  char* bump_ = nullptr;           // next never-used object in the newest chunk
  char* bump_end_ = nullptr;
  void* chunks_ = nullptr;  // newest chunk; each header links the previous one
  uint64_t chunk_count_ = 0;
  uint64_t refs_ = 1;  // the engine's, plus one per allocated object
  bool orphaned_ = false;  // the engine is gone, objects are still out (listed globally)
};

// One bpf_wq.
struct WqObj {
  TinyLock lock;  // protects dead, callback, prog
  std::atomic<uint32_t> running{0};
  bool dead = false;
  bool pending = false;  // on the pool list; pending/next/prev are protected by WqPool::mutex
  WqObj* next = nullptr;
  WqObj* prev = nullptr;
  maps::Map* map = nullptr;
  void* value = nullptr;
  const CallbackTarget* callback = nullptr;
  ProgramRef* prog = nullptr;
};

struct CpuQueue {
  explicit CpuQueue(uint64_t now_ns) : wheel(now_ns) {}
  std::mutex mutex;  // protects wheel (membership of every TimerObj queued here), sleep_until, busy
  std::condition_variable wake;
  TimerWheel wheel;
  uint64_t sleep_until = 0;  // worker's planned wake-up; 0 while it is awake
  bool busy = false;         // worker is running a callback
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> generation{0};  // bumped by an insert before sleep_until: ends a spin
  std::atomic<uint64_t> armed{0};       // wheel.size(), readable without the mutex
  std::atomic<uint64_t> fired{0};       // callbacks run; written by one thread (fire_timer)
  std::thread worker;
};

struct WqPool {
  std::mutex mutex;  // protects the pending list (and WqObj::pending/next/prev), busy, stop
  std::condition_variable wake;
  WqObj* head = nullptr;
  WqObj* tail = nullptr;
  uint32_t busy = 0;
  bool stop = false;
  std::atomic<uint32_t> queued{0};  // list length, read without the mutex by virtual time
  std::vector<std::thread> workers;

  void push_back(WqObj* wq);
  void unlink(WqObj* wq);
  WqObj* pop_front();
};

// The timer whose callback runs on this thread (null if none) and the depth of async callbacks
// (timer or wq) running on this thread: free paths never block inside a callback (bug 8).
extern thread_local TimerObj* tls_running_timer;
extern thread_local uint32_t tls_async_depth;

struct TimerEngine::Impl {
  explicit Impl(const EngineOptions& opts);

  ~Impl();

  EngineOptions options;
  // Owned jointly with the timers it holds (see TimerPool); ~Impl destroys the queues (whose
  // wheels may hold stale entries into the pool) before releasing it.
  TimerPool* pool_of_timers;
  std::vector<std::unique_ptr<CpuQueue>> queues;
  std::atomic<uint64_t> virtual_now;
  std::atomic<uint64_t> arm_seq{1};  // wheel entries need seqs != 0
  std::mutex advance_mutex;  // one advancing thread at a time (virtual time)
  std::mutex shutdown_mutex;
  bool shut_down = false;  // protected by shutdown_mutex
  WqPool pool;

  uint64_t clock_now(uint32_t clock_id) const;
  uint64_t base_now() const { return clock_now(kClockMonotonic); }
  CpuQueue& queue(uint32_t cpu) { return *queues[cpu]; }
  uint32_t arming_cpu() const;

  void start_workers();
  void stop_workers();
  void worker_main(uint32_t cpu);  // worker.cpp
  unsigned run_due_batch(CpuQueue& q, std::unique_lock<std::mutex>& lock, uint64_t now);
  void warm_fire_path(CpuQueue& q, uint64_t expiry);  // worker.cpp
  void spin_until(CpuQueue& q, uint64_t expiry, uint32_t generation, bool warm);  // worker.cpp
  void wq_worker_main(uint32_t index);

  TimerObj* pop_earliest_due(uint64_t t_ns, uint32_t* cpu);
  // Runs one popped timer (caller holds an EpochGuard and incremented t->running), counting it
  // in `fired` (its queue's counter; the caller is that counter's only writer).
  void fire_timer(TimerObj* t, std::atomic<uint64_t>& fired);
  void fire_wq(WqObj* wq);
  // Both: the object was already taken out of its field.
  void free_timer(TimerObj* t);
  void free_wq(WqObj* wq);
  // Virtual time: runs queued wq callbacks on this thread; true if any ran.
  bool run_pending_wq_inline();
  bool wq_idle();
};

// The pointer slot at the start of a 16-byte bpf_timer / bpf_wq field (8-aligned by UAPI).
template <class T>
std::atomic_ref<T*> field_slot(void* field) {
  return std::atomic_ref<T*>(*static_cast<T**>(field));
}

// A bpf_timer field's second word: how often the timer in it fired (for list_timers). Hidden
// from programs and applications like the whole field; kept here rather than in TimerObj to
// keep the object one cache line, on a line the fire path touches anyway (the value's).
inline std::atomic_ref<uint64_t> fire_count_of(void* field) {
  return std::atomic_ref<uint64_t>(static_cast<uint64_t*>(field)[1]);
}
inline void* timer_field_of(const TimerObj* t) {
  return static_cast<char*>(t->value) + t->map->attr().record.timer_off;
}

void wait_until_idle(std::atomic<uint32_t>& running);
bool element_is_live(maps::Map* map, void* value);

}  // namespace hourglass::timers
