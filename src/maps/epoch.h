// Epoch-based reclamation: how a value pointer a program holds stays valid until its run ends
// even when another thread deletes the element (the kernel uses RCU for the same promise).
//
// Readers (program runs, timer callbacks, application-side copies) hold an EpochGuard; guards
// nest on one thread and are cheap (a thread-local counter and one store/fence on the outermost).
// Writers unlink an object and hand it to retire(); it is freed once every guard that could have
// seen it is gone. synchronize() waits for that (never call it while holding a guard).
#pragma once

#include <cstdint>

namespace hourglass::maps {

class EpochGuard {
 public:
  EpochGuard() noexcept;
  ~EpochGuard();
  EpochGuard(const EpochGuard&) = delete;
  EpochGuard& operator=(const EpochGuard&) = delete;
};

// Frees `object` with `free_fn(object)` after every current guard has ended.
void retire(void* object, void (*free_fn)(void* object)) noexcept;

// An intrusive retirement record, embedded in the retired object: retiring through it allocates
// nothing (hash-map updates retire one element each). The owner sets free_fn; the reclaimer owns
// the other fields from retire() until free_fn runs.
struct RetireNode {
  RetireNode* next;
  uint64_t tag;
  void (*free_fn)(RetireNode* node);
};

// How free_fn may run. Deferred: on the reclaimer thread only (it may take any lock, release
// programs, call timer hooks). InlineSafe: free_fn only hands memory back to an allocator that
// takes no lock but its own, so a thread short of memory may run it inside reclaim_inline_safe().
enum class FreeContext { Deferred = 0, InlineSafe = 1 };  // (epoch.cpp indexes its queues by it)
void retire(RetireNode* node, FreeContext context = FreeContext::Deferred) noexcept;

// For an allocator that ran dry while some of its memory waits for a grace period: frees the
// InlineSafe objects already past theirs, on this thread (which may hold a guard and any lock
// the free functions do not take). Returns false without waiting when another thread is
// reclaiming, and when nothing could be freed.
bool reclaim_inline_safe() noexcept;

// Between two runs of a long repeated run (the caller holds the thread's only guard and no
// pointer obtained under it): if this thread retired many objects since the guard began,
// re-announce the current epoch so they can be reclaimed before the guard ends, as the kernel's
// test-run loop passes through a quiescent state when it reschedules.
void quiescent_point() noexcept;
// Waits until everything retired before this call has been freed.
void synchronize() noexcept;
// True if this thread holds a guard (for assertions).
bool in_epoch() noexcept;

}  // namespace hourglass::maps
