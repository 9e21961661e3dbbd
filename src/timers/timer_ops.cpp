// bpf_timer_init / set_callback / start / cancel, the free path maps call, and the firing of one
// timer. Semantics: Linux 6.10-6.19 (docs/timers.md lists the differences).
#include <cerrno>
#include <new>

#include "common/full_fence.h"
#include "common/run_context.h"
#include "maps/epoch.h"
#include "timers/engine_internal.h"

namespace hourglass::timers {

// One cache line per timer; <= 100 bytes per armed timer in all with its wheel entry.
static_assert(sizeof(TimerObj) == 64, "a timer object is one cache line (docs/timers.md)");

thread_local TimerObj* tls_running_timer = nullptr;
thread_local uint32_t tls_async_depth = 0;

namespace {

bool valid_clock(uint32_t clock_id) {
  return clock_id == kClockRealtime || clock_id == kClockMonotonic || clock_id == kClockBoottime;
}

uint64_t saturating_add(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

}  // namespace

// A program may still hold a pointer to a hash element that was deleted or replaced (its run
// started before the unlink); an init there would publish a timer that no free path will ever
// see. After publishing, init looks the element up again: if the map no longer maps its key to
// this value, the element is dead and init takes the timer back. Either the element's free path
// exchanged our pointer (published first) or its unlink is visible to this lookup (seq_cst).
bool element_is_live(maps::Map* map, void* value) {
  if (map->type() == maps::MapType::Array) return true;  // array elements never die
  uint32_t index_scratch = 0;
  const void* key = map->key_of_value(value, &index_scratch);
  return map->lookup(key) == value;
}

void wait_until_idle(std::atomic<uint32_t>& running) {
  for (uint32_t seen = running.load(std::memory_order_acquire); seen != 0;
       seen = running.load(std::memory_order_acquire)) {
    running.wait(seen, std::memory_order_acquire);
  }
}

uint32_t TimerEngine::Impl::arming_cpu() const { return current_vcpu() % options.ncpus; }

long TimerEngine::timer_init(void* field, maps::Map* map, uint64_t flags) {
  if (flags >= 16 || !valid_clock(static_cast<uint32_t>(flags))) return -EINVAL;
  maps::EpochGuard guard;  // the element (and its key) stay readable for the liveness check
  auto slot = field_slot<TimerObj>(field);
  if (slot.load(std::memory_order_acquire) != nullptr) return -EBUSY;
  TimerObj* t = impl_->pool_of_timers->allocate();
  if (t == nullptr) return -ENOMEM;
  t->map = map;
  t->value = static_cast<char*>(field) - map->attr().record.timer_off;
  t->clock_id = static_cast<uint8_t>(flags);
  t->cpu = static_cast<uint16_t>(impl_->arming_cpu());
  TimerObj* expected = nullptr;
  if (!slot.compare_exchange_strong(expected, t, std::memory_order_acq_rel)) {
    TimerPool::free(t);  // never published, never queued: no reader can hold it
    return -EBUSY;
  }
  // A new timer counts its fires from 0 (an array element keeps the field across timers). It
  // cannot fire before this store unless another thread started it in the meantime, which
  // would only cost the listing one count.
  fire_count_of(field).store(0, std::memory_order_relaxed);
  // Kernel bug 6: a uref release that ran before our publish could not see the timer, so check
  // the user count only after publishing (full barrier), and take the timer back if it is zero.
  hourglass::full_fence();
  const bool no_user = map->user_refs() == 0;
  if (no_user || !element_is_live(map, t->value)) {
    expected = t;
    if (slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
      impl_->free_timer(t);
    }  // else a free path took it and frees it
    // A dead element: as if the delete had freed the timer right after a successful init.
    return no_user ? -EPERM : 0;
  }
  return 0;
}

long TimerEngine::timer_set_callback(void* field, const CallbackTarget* callback,
                                     ProgramRef* caller) {
  if (caller == nullptr && callback != nullptr) caller = callback->program;
  maps::EpochGuard guard;
  TimerObj* t = field_slot<TimerObj>(field).load(std::memory_order_acquire);
  if (t == nullptr) return -EINVAL;
  ProgramRef* dropped = nullptr;
  {
    TinyLockGuard lock(t->lock);
    if (t->dead) return -EINVAL;
    if (t->map->user_refs() == 0) return -EPERM;
    if (caller != t->prog) {
      if (caller != nullptr && !caller->try_acquire()) return -ENOENT;
      dropped = t->prog;
      t->prog = caller;
    }
    t->callback = callback;
  }
  if (dropped) dropped->release();  // never under the timer lock (bug 9)
  return 0;
}

long TimerEngine::timer_start(void* field, uint64_t nsecs, uint64_t flags) {
  if (flags & ~(kTimerAbs | kTimerCpuPin)) return -EINVAL;
  Impl& impl = *impl_;
  maps::EpochGuard guard;
  TimerObj* t = field_slot<TimerObj>(field).load(std::memory_order_acquire);
  if (t == nullptr) return -EINVAL;
  CpuQueue* target = nullptr;
  bool wake_worker = false;
  {
    TinyLockGuard lock(t->lock);
    if (t->dead || t->callback == nullptr) return -EINVAL;
    // Expiry on the timer's clock, then on the base clock (MONOTONIC, or the virtual clock). A
    // REALTIME/BOOTTIME expiry is converted once, here: later jumps of those clocks are not
    // followed (docs/timers.md).
    const uint64_t clock_now = impl.clock_now(t->clock_id);
    const uint64_t base_now =
        impl.options.virtual_time || t->clock_id == kClockMonotonic ? clock_now : impl.base_now();
    const uint64_t expires_on_clock = (flags & kTimerAbs) ? nsecs : saturating_add(clock_now, nsecs);
    uint64_t expires = base_now;
    if (expires_on_clock > clock_now) expires = saturating_add(base_now, expires_on_clock - clock_now);
    // Fire on the arming vCPU (CPU_PIN or not), except that a timer whose callback is running
    // stays where it is, as a running hrtimer is never migrated.
    uint32_t cpu = impl.arming_cpu();
    if (t->running.load(std::memory_order_acquire) != 0) cpu = t->cpu;
    if (cpu != t->cpu) {
      CpuQueue& old_queue = impl.queue(t->cpu);
      std::lock_guard<std::mutex> old_lock(old_queue.mutex);
      if (old_queue.wheel.remove(t)) old_queue.armed.store(old_queue.wheel.size(), std::memory_order_relaxed);
    }
    target = &impl.queue(cpu);
    std::lock_guard<std::mutex> queue_lock(target->mutex);
    target->wheel.remove(t);
    t->cpu = static_cast<uint16_t>(cpu);
    t->expires = expires;
    target->wheel.insert(t, impl.arm_seq.fetch_add(1, std::memory_order_relaxed), base_now);
    target->armed.store(target->wheel.size(), std::memory_order_relaxed);
    // Only an expiry before the worker's planned wake-up (or spin target) concerns it.
    wake_worker = target->sleep_until != 0 && expires < target->sleep_until;
    if (wake_worker) target->generation.fetch_add(1, std::memory_order_release);
  }
  if (wake_worker) target->wake.notify_one();
  return 0;
}

long TimerEngine::timer_cancel(void* field) {
  Impl& impl = *impl_;
  maps::EpochGuard guard;
  TimerObj* t = field_slot<TimerObj>(field).load(std::memory_order_acquire);
  if (t == nullptr) return -EINVAL;
  TimerObj* const current = tls_running_timer;  // alive: its callback runs on this thread
  long ret = 0;
  bool counted = false;
  ProgramRef* dropped = nullptr;
  {
    TinyLockGuard lock(t->lock);
    if (t->dead) return -EINVAL;
    if (current == t) {
      ret = -EDEADLK;  // waiting for our own callback would never end
    } else if (current != nullptr) {
      // 6.10 rule: only callbacks count in-flight cancellations (only they could be waited on
      // by another callback). If someone is cancelling the timer whose callback we are, it may
      // be waiting for us while we would wait for it: bail out instead of deadlocking.
      t->cancelling.fetch_add(1, std::memory_order_seq_cst);
      counted = true;
      if (current->cancelling.load(std::memory_order_seq_cst) != 0) ret = -EDEADLK;
    }
    if (ret == 0) {
      dropped = t->prog;
      t->prog = nullptr;
      t->callback = nullptr;  // a later start is -EINVAL until set_callback again
      CpuQueue& queue = impl.queue(t->cpu);
      std::lock_guard<std::mutex> queue_lock(queue.mutex);
      if (queue.wheel.remove(t)) {
        ret = 1;
        queue.armed.store(queue.wheel.size(), std::memory_order_relaxed);
      }
    }
  }
  if (dropped) dropped->release();
  if (ret >= 0) wait_until_idle(t->running);  // a callback running on another thread
  if (counted) t->cancelling.fetch_sub(1, std::memory_order_seq_cst);
  return ret;
}

void TimerEngine::Impl::free_timer(TimerObj* t) {
  ProgramRef* dropped = nullptr;
  {
    TinyLockGuard lock(t->lock);
    t->dead = true;
    dropped = t->prog;
    t->prog = nullptr;
    t->callback = nullptr;
    CpuQueue& queue = this->queue(t->cpu);
    std::lock_guard<std::mutex> queue_lock(queue.mutex);
    if (queue.wheel.remove(t)) queue.armed.store(queue.wheel.size(), std::memory_order_relaxed);
  }
  if (dropped) dropped->release();
  // Outside callbacks, wait for a running callback like hrtimer_cancel. Inside one (this timer's
  // own, or another's: kernel bug 8) never block; the worker's EpochGuard keeps the memory valid
  // until it is done, and a dead timer's callback is never started again.
  if (tls_async_depth == 0) wait_until_idle(t->running);
  maps::retire(t, TimerPool::free);
}

// Counters are bumped with a plain load and store (no locked instruction on the fire path):
// `fired` has one writer (the queue's worker, or the advancing thread under virtual time), and
// a timer's callbacks run one at a time save for a start racing the worker's pop, where a lost
// increment of the introspection count (the field's fire count) is the price.
static void bump(std::atomic<uint64_t>& counter) {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void TimerEngine::Impl::fire_timer(TimerObj* t, std::atomic<uint64_t>& fired) {
  const CallbackTarget* callback = nullptr;
  ProgramRef* prog = nullptr;
  maps::Map* map = nullptr;
  void* value = nullptr;
  {
    TinyLockGuard lock(t->lock);
    // The timer's own reference keeps prog alive here; hold one more across the call so that a
    // cancel or set_callback meanwhile cannot unload the code under us.
    if (!t->dead && t->callback != nullptr && t->callback->invoke != nullptr &&
        t->prog != nullptr && t->prog->try_acquire()) {
      callback = t->callback;
      prog = t->prog;
      map = t->map;
      value = t->value;
    }
  }
  if (callback != nullptr) {
    bump(fired);
    std::atomic_ref<uint64_t> fire_count =
        fire_count_of(static_cast<char*>(value) + map->attr().record.timer_off);
    fire_count.store(fire_count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    uint32_t index_scratch = 0;
    const void* key = map->key_of_value(value, &index_scratch);
    TimerObj* const outer = tls_running_timer;
    tls_running_timer = t;
    ++tls_async_depth;
    callback->invoke(callback, reinterpret_cast<uint64_t>(map), reinterpret_cast<uint64_t>(key),
                     reinterpret_cast<uint64_t>(value), 0, 0);
    --tls_async_depth;
    tls_running_timer = outer;
  }
  // Done with t before releasing prog: the release may tear down the program and its maps, whose
  // free path would otherwise wait on our own running count.
  t->running.fetch_sub(1, std::memory_order_release);
  t->running.notify_all();
  if (prog) prog->release();
}

void TimerEngine::free_special_fields(maps::Map& map, void* value) noexcept {
  const maps::FieldRecord& record = map.attr().record;
  auto* bytes = static_cast<char*>(value);
  if (record.timer_off >= 0) {
    if (TimerObj* t = field_slot<TimerObj>(bytes + record.timer_off).exchange(nullptr)) {
      impl_->free_timer(t);
    }
  }
  if (record.wq_off >= 0) {
    if (WqObj* wq = field_slot<WqObj>(bytes + record.wq_off).exchange(nullptr)) {
      impl_->free_wq(wq);
    }
  }
}

}  // namespace hourglass::timers
