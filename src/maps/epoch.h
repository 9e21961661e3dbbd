// Epoch-based reclamation: how a value pointer a program holds stays valid until its run ends
// even when another thread deletes the element (the kernel uses RCU for the same promise).
//
// Readers (program runs, timer callbacks, application-side copies) hold an EpochGuard; guards
// nest on one thread and are cheap (a thread-local counter and one store/fence on the outermost).
// Writers unlink an object and hand it to retire(); it is freed once every guard that could have
// seen it is gone. synchronize() waits for that (never call it while holding a guard).
#pragma once

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
// Waits until everything retired before this call has been freed.
void synchronize() noexcept;
// True if this thread holds a guard (for assertions).
bool in_epoch() noexcept;

}  // namespace hourglass::maps
