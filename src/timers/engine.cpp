// The engine: creation and shutdown, clocks, per-vCPU worker threads, virtual time, listing.
#include <time.h>

#include <chrono>
#include <optional>

#include "common/run_context.h"
#include "maps/epoch.h"
#include "timers/engine_internal.h"

namespace hourglass::timers {

namespace {

uint64_t read_clock(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

bool earlier(const WheelNode* a, const WheelNode* b) {
  return a->expires != b->expires ? a->expires < b->expires : a->seq() < b->seq();
}

}  // namespace

TimerEngine::Impl::Impl(const EngineOptions& opts)
    : options(opts), pool_of_timers(TimerPool::create()), virtual_now(opts.virtual_start_ns) {
  if (options.ncpus == 0) options.ncpus = 1;
  const uint64_t start = options.virtual_time ? options.virtual_start_ns : read_clock(CLOCK_MONOTONIC);
  for (uint32_t cpu = 0; cpu < options.ncpus; ++cpu) queues.push_back(std::make_unique<CpuQueue>(start));
}

TimerEngine::Impl::~Impl() {
  queues.clear();
  if (pool_of_timers) pool_of_timers->release_owner();
}

uint64_t TimerEngine::Impl::clock_now(uint32_t clock_id) const {
  if (options.virtual_time) return virtual_now.load(std::memory_order_acquire);
  switch (clock_id) {
    case 0: return read_clock(CLOCK_REALTIME);
    case 1: return read_clock(CLOCK_MONOTONIC);
    case 6: return read_clock(CLOCK_MONOTONIC_COARSE);
    case 7: return read_clock(CLOCK_BOOTTIME);
    case 11: return read_clock(CLOCK_TAI);
    default: return 0;
  }
}

std::unique_ptr<TimerEngine> TimerEngine::create(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  Impl* raw = impl.get();
  std::unique_ptr<TimerEngine> engine(new TimerEngine(std::move(impl)));
  if (!options.virtual_time) raw->start_workers();
  return engine;
}

TimerEngine::TimerEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TimerEngine::~TimerEngine() { shutdown(); }

void TimerEngine::shutdown() {
  std::lock_guard<std::mutex> lock(impl_->shutdown_mutex);
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  impl_->stop_workers();
}

uint64_t TimerEngine::now(uint32_t clock_id) const { return impl_->clock_now(clock_id); }

void TimerEngine::Impl::start_workers() {
  for (uint32_t cpu = 0; cpu < options.ncpus; ++cpu) {
    queues[cpu]->worker = std::thread([this, cpu] { worker_main(cpu); });
  }
  constexpr uint32_t kWqWorkers = 2;
  for (uint32_t index = 0; index < kWqWorkers; ++index) {
    pool.workers.emplace_back([this, index] { wq_worker_main(index); });
  }
}

void TimerEngine::Impl::stop_workers() {
  for (auto& queue : queues) {
    {
      std::lock_guard<std::mutex> lock(queue->mutex);
      queue->stop.store(true, std::memory_order_release);
    }
    queue->wake.notify_all();
    if (queue->worker.joinable()) queue->worker.join();
  }
  {
    std::lock_guard<std::mutex> lock(pool.mutex);
    pool.stop = true;
  }
  pool.wake.notify_all();
  for (auto& worker : pool.workers) worker.join();
  pool.workers.clear();
}

Status TimerEngine::advance(uint64_t ns) {
  if (!impl_->options.virtual_time) return make_error(EINVAL, "advance: the engine runs on real time");
  const uint64_t now = impl_->virtual_now.load(std::memory_order_acquire);
  return advance_to(ns > UINT64_MAX - now ? UINT64_MAX : now + ns);
}

// Virtual time: takes the earliest timer due by t_ns over all queues, by (expiry, arm sequence),
// marking it running. Caller holds an EpochGuard (the candidate cannot be freed meanwhile).
TimerObj* TimerEngine::Impl::pop_earliest_due(uint64_t t_ns, uint32_t* cpu) {
  if (queues.size() == 1) {  // common case: peek and pop under one lock
    CpuQueue& queue = *queues[0];
    std::lock_guard<std::mutex> lock(queue.mutex);
    auto* t = static_cast<TimerObj*>(queue.wheel.peek_due(t_ns));
    if (!t) return nullptr;
    queue.wheel.remove(t);
    queue.armed.store(queue.wheel.size(), std::memory_order_relaxed);
    t->running.fetch_add(1, std::memory_order_acq_rel);
    *cpu = 0;
    return t;
  }
  for (;;) {
    TimerObj* best = nullptr;
    CpuQueue* best_queue = nullptr;
    for (auto& queue : queues) {
      std::lock_guard<std::mutex> lock(queue->mutex);
      WheelNode* node = queue->wheel.peek_due(t_ns);
      if (node && (!best || earlier(node, best))) {
        best = static_cast<TimerObj*>(node);
        best_queue = queue.get();
      }
    }
    if (!best) return nullptr;
    std::lock_guard<std::mutex> lock(best_queue->mutex);
    if (best_queue->wheel.peek_due(t_ns) != best) continue;  // changed meanwhile: look again
    best_queue->wheel.remove(best);
    best_queue->armed.store(best_queue->wheel.size(), std::memory_order_relaxed);
    best->running.fetch_add(1, std::memory_order_acq_rel);
    *cpu = best->cpu;
    return best;
  }
}

// Fires, on this thread, every timer due up to t_ns (including those armed meanwhile) one at a
// time in (expiry, arm sequence) order across all vCPUs, moving the virtual clock to each
// expiry first; queued wq callbacks run before each timer.
Status TimerEngine::advance_to(uint64_t t_ns) {
  Impl& impl = *impl_;
  if (!impl.options.virtual_time) return make_error(EINVAL, "advance_to: the engine runs on real time");
  std::lock_guard<std::mutex> advancing(impl.advance_mutex);
  const uint32_t caller_cpu = current_vcpu();
  for (;;) {
    impl.run_pending_wq_inline();
    maps::EpochGuard guard;
    uint32_t cpu = 0;
    TimerObj* t = impl.pop_earliest_due(t_ns, &cpu);
    if (!t) break;
    uint64_t now = impl.virtual_now.load(std::memory_order_acquire);
    while (now < t->expires &&
           !impl.virtual_now.compare_exchange_weak(now, t->expires, std::memory_order_acq_rel)) {
    }
    set_current_vcpu(cpu);
    impl.fire_timer(t, impl.queue(cpu).fired);
  }
  set_current_vcpu(caller_cpu);
  impl.run_pending_wq_inline();
  uint64_t now = impl.virtual_now.load(std::memory_order_acquire);
  while (now < t_ns && !impl.virtual_now.compare_exchange_weak(now, t_ns, std::memory_order_acq_rel)) {
  }
  return {};
}

void TimerEngine::quiesce() {
  Impl& impl = *impl_;
  if (impl.options.virtual_time) {
    std::lock_guard<std::mutex> advancing(impl.advance_mutex);
    impl.run_pending_wq_inline();
    return;
  }
  for (;;) {
    bool idle = impl.wq_idle();
    const uint64_t now = impl.base_now();
    for (auto& queue : impl.queues) {
      if (!idle) break;
      std::lock_guard<std::mutex> lock(queue->mutex);
      idle = !queue->busy && queue->wheel.peek_due(now) == nullptr;
    }
    if (idle) return;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

std::vector<TimerInfo> TimerEngine::list_timers() const {
  Impl& impl = *impl_;
  maps::EpochGuard guard;  // keeps every object collected below (and its value) allocated
  std::vector<TimerObj*> armed;
  for (auto& queue : impl.queues) {
    std::lock_guard<std::mutex> lock(queue->mutex);
    queue->wheel.for_each([&](WheelNode* node) { armed.push_back(static_cast<TimerObj*>(node)); });
  }
  std::vector<TimerInfo> infos;
  infos.reserve(armed.size());
  for (TimerObj* t : armed) {
    TinyLockGuard lock(t->lock);  // not dead => map alive and prog (hence callback) held
    if (t->dead) continue;
    TimerInfo info;
    info.map_id = t->map->id();
    info.map_name = t->map->name();
    uint32_t index_scratch = 0;
    const auto* key = static_cast<const uint8_t*>(t->map->key_of_value(t->value, &index_scratch));
    if (key) info.key.assign(key, key + t->map->attr().key_size);
    info.clock_id = t->clock_id;
    // The timer's clock minus the base clock now (a REALTIME step since arming shows here).
    const bool base_clock = impl.options.virtual_time || t->clock_id == kClockMonotonic;
    const uint64_t offset = base_clock ? 0 : impl.clock_now(t->clock_id) - impl.base_now();
    info.expires_ns = t->expires + offset;
    info.callback = t->callback && t->callback->name ? t->callback->name : "";
    info.program = t->prog ? t->prog->name() : "";
    info.fire_count = fire_count_of(timer_field_of(t)).load(std::memory_order_relaxed);
    info.cpu = t->cpu;
    infos.push_back(std::move(info));
  }
  return infos;
}

uint64_t TimerEngine::fired_total() const {
  uint64_t total = 0;
  for (auto& queue : impl_->queues) total += queue->fired.load(std::memory_order_relaxed);
  return total;
}

uint64_t TimerEngine::armed_count() const {
  uint64_t total = 0;
  for (auto& queue : impl_->queues) total += queue->armed.load(std::memory_order_relaxed);
  return total;
}

}  // namespace hourglass::timers
