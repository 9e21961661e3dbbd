// bpf_wq: init / set_callback / start kfuncs and the small worker pool running their callbacks
// (the kernel's system workqueue). Same ownership and teardown rules as timers; no cancel kfunc.
#include <cerrno>
#include <new>
#include <optional>

#include "common/full_fence.h"
#include "common/run_context.h"
#include "maps/epoch.h"
#include "timers/engine_internal.h"

namespace hourglass::timers {

namespace {
void delete_wq(void* object) { delete static_cast<WqObj*>(object); }
}  // namespace

void WqPool::push_back(WqObj* wq) {
  queued.fetch_add(1, std::memory_order_release);
  wq->pending = true;
  wq->next = nullptr;
  wq->prev = tail;
  if (tail) tail->next = wq;
  else head = wq;
  tail = wq;
}

void WqPool::unlink(WqObj* wq) {
  if (!wq->pending) return;
  queued.fetch_sub(1, std::memory_order_relaxed);
  if (wq->prev) wq->prev->next = wq->next;
  else head = wq->next;
  if (wq->next) wq->next->prev = wq->prev;
  else tail = wq->prev;
  wq->next = wq->prev = nullptr;
  wq->pending = false;
}

WqObj* WqPool::pop_front() {
  WqObj* wq = head;
  if (wq) unlink(wq);
  return wq;
}

long TimerEngine::wq_init(void* field, maps::Map* map, uint64_t flags) {
  if (flags != 0) return -EINVAL;
  maps::EpochGuard guard;
  auto slot = field_slot<WqObj>(field);
  if (slot.load(std::memory_order_acquire) != nullptr) return -EBUSY;
  auto* wq = new (std::nothrow) WqObj;
  if (wq == nullptr) return -ENOMEM;
  wq->map = map;
  wq->value = static_cast<char*>(field) - map->attr().record.wq_off;
  WqObj* expected = nullptr;
  if (!slot.compare_exchange_strong(expected, wq, std::memory_order_acq_rel)) {
    delete wq;
    return -EBUSY;
  }
  hourglass::full_fence();  // same publish-then-check as timers
  const bool no_user = map->user_refs() == 0;
  if (no_user || !element_is_live(map, wq->value)) {
    expected = wq;
    if (slot.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) {
      impl_->free_wq(wq);
    }
    return no_user ? -EPERM : 0;
  }
  return 0;
}

long TimerEngine::wq_set_callback(void* field, const CallbackTarget* callback, uint64_t flags,
                                  ProgramRef* caller) {
  if (flags != 0) return -EINVAL;
  if (caller == nullptr && callback != nullptr) caller = callback->program;
  maps::EpochGuard guard;
  WqObj* wq = field_slot<WqObj>(field).load(std::memory_order_acquire);
  if (wq == nullptr) return -EINVAL;
  ProgramRef* dropped = nullptr;
  {
    TinyLockGuard lock(wq->lock);
    if (wq->dead) return -EINVAL;
    if (wq->map->user_refs() == 0) return -EPERM;
    if (caller != wq->prog) {
      if (caller != nullptr && !caller->try_acquire()) return -ENOENT;
      dropped = wq->prog;
      wq->prog = caller;
    }
    wq->callback = callback;
  }
  if (dropped) dropped->release();
  return 0;
}

long TimerEngine::wq_start(void* field, uint64_t flags) {
  if (flags != 0) return -EINVAL;
  Impl& impl = *impl_;
  maps::EpochGuard guard;
  WqObj* wq = field_slot<WqObj>(field).load(std::memory_order_acquire);
  if (wq == nullptr) return -EINVAL;
  {
    TinyLockGuard lock(wq->lock);
    if (wq->dead || wq->callback == nullptr) return -EINVAL;
    std::lock_guard<std::mutex> pool_lock(impl.pool.mutex);
    if (!wq->pending) impl.pool.push_back(wq);  // queue_work on a pending work is a no-op
  }
  impl.pool.wake.notify_one();
  return 0;
}

void TimerEngine::Impl::free_wq(WqObj* wq) {
  ProgramRef* dropped = nullptr;
  {
    TinyLockGuard lock(wq->lock);
    wq->dead = true;
    dropped = wq->prog;
    wq->prog = nullptr;
    wq->callback = nullptr;
    std::lock_guard<std::mutex> pool_lock(pool.mutex);
    pool.unlink(wq);
  }
  if (dropped) dropped->release();
  if (tls_async_depth == 0) wait_until_idle(wq->running);  // never block inside a callback
  maps::retire(wq, delete_wq);
}

void TimerEngine::Impl::fire_wq(WqObj* wq) {
  const CallbackTarget* callback = nullptr;
  ProgramRef* prog = nullptr;
  {
    TinyLockGuard lock(wq->lock);
    if (!wq->dead && wq->callback != nullptr && wq->callback->invoke != nullptr &&
        wq->prog != nullptr && wq->prog->try_acquire()) {
      callback = wq->callback;
      prog = wq->prog;
    }
  }
  if (callback != nullptr) {
    uint32_t index_scratch = 0;
    const void* key = wq->map->key_of_value(wq->value, &index_scratch);
    ++tls_async_depth;
    callback->invoke(callback, reinterpret_cast<uint64_t>(wq->map),
                     reinterpret_cast<uint64_t>(key), reinterpret_cast<uint64_t>(wq->value), 0, 0);
    --tls_async_depth;
  }
  wq->running.fetch_sub(1, std::memory_order_release);
  wq->running.notify_all();
  if (prog) prog->release();
}

// Pops one pending wq with the guard taken while it is still listed (free unlinks it under the
// pool mutex before retiring it).
static WqObj* pop_pending(WqPool& pool, std::optional<maps::EpochGuard>& guard) {
  WqObj* wq = pool.pop_front();
  if (wq) {
    guard.emplace();
    wq->running.fetch_add(1, std::memory_order_acq_rel);
  }
  return wq;
}

void TimerEngine::Impl::wq_worker_main(uint32_t index) {
  set_current_vcpu(index % options.ncpus);
  std::unique_lock<std::mutex> lock(pool.mutex);
  while (!pool.stop) {
    std::optional<maps::EpochGuard> guard;
    if (WqObj* wq = pop_pending(pool, guard)) {
      ++pool.busy;
      lock.unlock();
      fire_wq(wq);
      guard.reset();
      lock.lock();
      --pool.busy;
      continue;
    }
    pool.wake.wait(lock);
  }
}

bool TimerEngine::Impl::run_pending_wq_inline() {
  bool ran = false;
  while (pool.queued.load(std::memory_order_acquire) != 0) {
    std::optional<maps::EpochGuard> guard;
    WqObj* wq;
    {
      std::lock_guard<std::mutex> lock(pool.mutex);
      wq = pop_pending(pool, guard);
    }
    if (!wq) return ran;
    fire_wq(wq);
    ran = true;
  }
  return ran;
}

bool TimerEngine::Impl::wq_idle() {
  std::lock_guard<std::mutex> lock(pool.mutex);
  return pool.head == nullptr && pool.busy == 0;
}

}  // namespace hourglass::timers
