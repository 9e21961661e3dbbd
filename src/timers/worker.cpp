// The per-vCPU worker thread: the engine's "softirq". It pops due timers in (expiry, arm order),
// runs their callbacks, and otherwise sleeps until the next expiry.
//
// Lateness, and what the worker does about it (docs/timers.md, "Threads"):
// - Priority. The kernel runs timer callbacks from the timer interrupt's softirq, ahead of every
//   task; a worker with ordinary priority waits for the scheduler on a busy machine. So the
//   worker sleeps at SCHED_FIFO priority 1 when the process may use it (root, CAP_SYS_NICE or an
//   RLIMIT_RTPRIO), which makes its wake-up preempt ordinary tasks. Like the kernel handing a
//   long softirq run to ksoftirqd, a worker that has run callbacks for kBurstNs without a pause
//   drops to SCHED_OTHER until it next sleeps, so a callback storm cannot starve the machine;
//   by default spinning counts as busy, so neither can a timer period shorter than the spin
//   window. In precision mode a spin is a pause instead (the application chose to spend a core).
//   Either way a worker runs at most 90% of the time at SCHED_FIFO, so that the kernel's RT
//   throttling, which would stop it for tens of milliseconds, never starts (WorkerPriority).
// - Early wake-up and a short spin. Waking from a timed sleep takes the kernel's timer lateness
//   plus a context switch. The worker learns how late its own wake-ups are (a decaying maximum)
//   and sleeps until that long before a near expiry, then spins the rest (a `pause` loop that an
//   earlier insert or a stop ends). By default the window is capped at kDefaultSpinCapNs (50 us);
//   with EngineOptions::precision it lies between kPrecisionSpinNs and kPrecisionSpinCapNs
//   (50-200 us). Nothing spins when no timer is within the window.
// - Batches. One clock read and one EpochGuard serve every timer due at that instant (up to
//   kBatch), instead of one each per callback.
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>

#include "common/run_context.h"
#include "maps/epoch.h"
#include "timers/engine_internal.h"

namespace hourglass::timers {

namespace {

constexpr uint64_t kPrecisionSpinNs = 50'000;
constexpr uint64_t kPrecisionSpinCapNs = 200'000;  // however late wake-ups have been lately
constexpr uint64_t kDefaultSpinCapNs = 50'000;
constexpr uint64_t kMinSpinNs = 2'000;
constexpr uint64_t kBurstNs = 2'000'000;  // callbacks without a pause before leaving SCHED_FIFO
constexpr uint64_t kRtWindowNs = 100'000'000;  // the real-time share's window (WorkerPriority)
constexpr uint64_t kRtBudgetNs = 90'000'000;   // time at SCHED_FIFO per window at most
constexpr unsigned kBatch = 64;           // callbacks per clock read / epoch guard at most
constexpr uint64_t kWarmIntervalNs = 5'000;  // how often a spin re-touches the fire path
// Only a worker idle this long warms its fire path while spinning: at shorter periods the path
// is still hot and the extra lock round trips only added lateness (p99 at 100 us periods in
// precision mode went from ~1.5 us to ~11 us when every spin warmed).
constexpr uint64_t kColdAfterNs = 300'000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// The worker's scheduling class: SCHED_FIFO while it waits for timers, SCHED_OTHER during a
// long burst of callbacks and once it has used its real-time share. Only the worker thread
// itself calls these, with base_now() times.
//
// The share: the kernel throttles real-time tasks that use more than sched_rt_runtime_us
// (950 ms) of every second, and a throttled worker stops for the rest of that second (a periodic
// timer in precision mode, which spins through its periods, saw 30-38 ms of lateness once a
// second). So a worker counts the time it runs (not sleeps) at SCHED_FIFO and leaves it for the
// rest of each kRtWindowNs once it has run kRtBudgetNs of it. The share is used first in each
// window, so any second holds at most ten windows' worth, 90%: under the kernel's 95%, whatever
// the timers do. At SCHED_OTHER the worker keeps running; on an idle machine nothing takes the
// CPU from it there either.
class WorkerPriority {
 public:
  WorkerPriority(bool wanted, uint64_t now) : window_start_(now), mark_(now), busy_since_(now) {
    realtime_allowed_ = wanted && set_realtime(true);
    elevated_ = realtime_allowed_;
  }
  // Called when the worker is about to pause (sleep, or spin in precision mode): a pause ends
  // the burst, so the worker goes back to SCHED_FIFO unless its share is used up.
  void idle(uint64_t now) {
    account(now);
    if (realtime_allowed_ && !elevated_ && used_ < kRtBudgetNs) elevated_ = set_realtime(true);
  }
  // Called when a sleep starts: sleeping uses no share.
  void sleeping(uint64_t now) {
    account(now);
    awake_ = false;
  }
  // Called when a pause ends: the next burst starts now. (Counting from when the sleep began
  // made every wake-up after a sleep longer than kBurstNs look like a long burst: the worker
  // dropped to SCHED_OTHER, a system call, right before the callback it had woken for.)
  void woke(uint64_t now) {
    account(now);
    awake_ = true;
    busy_since_ = now;
  }
  // Called after a batch of callbacks or a default-mode spin.
  void busy(uint64_t now) {
    account(now);
    if (elevated_ && (now - busy_since_ >= kBurstNs || used_ >= kRtBudgetNs) &&
        set_realtime(false))
      elevated_ = false;
  }

 private:
  static bool set_realtime(bool realtime) {
    const sched_param param{realtime ? 1 : 0};
    return pthread_setschedparam(pthread_self(), realtime ? SCHED_FIFO : SCHED_OTHER, &param) == 0;
  }
  // Adds the time run at SCHED_FIFO since the last call; a new window starts with none used.
  void account(uint64_t now) {
    if (elevated_ && awake_) used_ += now - mark_;
    mark_ = now;
    if (now - window_start_ >= kRtWindowNs) {
      window_start_ = now;
      used_ = 0;
    }
  }

  bool realtime_allowed_ = false;
  bool elevated_ = false;
  bool awake_ = true;
  uint64_t window_start_;
  uint64_t used_ = 0;  // ns run at SCHED_FIFO in the window that began at window_start_
  uint64_t mark_;      // what account() has counted up to
  uint64_t busy_since_;
};

// How late this worker's timed sleeps end: a maximum that decays by 1/16 per sample, so one
// long preemption widens the spin window for a while rather than forever.
class WakeupLateness {
 public:
  void record(uint64_t late_ns) { estimate_ = std::max(late_ns, estimate_ - estimate_ / 16); }
  uint64_t spin_window(bool precision) const {
    const uint64_t window = estimate_ + estimate_ / 4 + kMinSpinNs;
    return precision ? std::clamp(window, kPrecisionSpinNs, kPrecisionSpinCapNs)
                     : std::min(window, kDefaultSpinCapNs);
  }

 private:
  uint64_t estimate_ = 10'000;
};

}  // namespace

// What firing touches, touched again while spinning towards an expiry. After a sleep of
// milliseconds those lines (and their TLB entries) are cold: on our VMs the fire path took ~2 us
// from the end of such a spin to the callback's call and the callback's first instructions as
// much again, almost all of it misses. Taking and dropping the same locks and references, and
// prefetching what the callback reads first, changes nothing else. Lock order as in fire_timer:
// the queue mutex is dropped before the timer's lock is taken; the guard, taken while the timer
// is still queued, keeps its memory valid after that (as in run_due_batch).
void TimerEngine::Impl::warm_fire_path(CpuQueue& q, uint64_t expiry) {
  maps::EpochGuard guard;
  TimerObj* t = nullptr;
  {
    std::lock_guard<std::mutex> lock(q.mutex);
    t = static_cast<TimerObj*>(q.wheel.peek_due(expiry));
  }
  if (t == nullptr) return;
  TinyLockGuard lock(t->lock);
  if (t->dead || t->prog == nullptr || t->callback == nullptr) return;
  __builtin_prefetch(t->map);
  __builtin_prefetch(t->value);
  __builtin_prefetch(t->prog);
  if (t->callback->warm) t->callback->warm(t->callback);  // the timer's reference holds prog
}

// Spins (without the queue mutex) until `expiry`, an insert that bumps the queue's generation
// past `generation`, or a stop; with `warm`, re-touching the fire path every kWarmIntervalNs.
void TimerEngine::Impl::spin_until(CpuQueue& q, uint64_t expiry, uint32_t generation, bool warm) {
  uint64_t warm_at = warm ? 0 : UINT64_MAX;
  for (uint64_t t = base_now(); t < expiry; t = base_now()) {
    if (q.generation.load(std::memory_order_acquire) != generation ||
        q.stop.load(std::memory_order_acquire))
      return;
    if (t >= warm_at) {
      warm_fire_path(q, expiry);
      warm_at = t + kWarmIntervalNs;
    }
    cpu_relax();
  }
}

// Pops and runs every timer due at `now`, up to kBatch, under one EpochGuard. Called and
// returns with the queue mutex held; releases it around each callback. Returns how many ran.
unsigned TimerEngine::Impl::run_due_batch(CpuQueue& q, std::unique_lock<std::mutex>& lock,
                                          uint64_t now) {
  WheelNode* node = q.wheel.peek_due(now);
  if (node == nullptr) return 0;
  // The guard starts while the first timer is still queued, i.e. before free_timer can unqueue
  // and retire it; later ones are popped while it is held, so they are covered as well.
  maps::EpochGuard guard;
  unsigned ran = 0;
  do {
    auto* t = static_cast<TimerObj*>(node);
    q.wheel.remove(t);
    q.armed.store(q.wheel.size(), std::memory_order_relaxed);
    t->running.fetch_add(1, std::memory_order_acq_rel);
    q.busy = true;
    lock.unlock();
    fire_timer(t, q.fired);
    lock.lock();
    q.busy = false;
    ++ran;
  } while (ran < kBatch && !q.stop.load(std::memory_order_relaxed) &&
           (node = q.wheel.peek_due(now)) != nullptr);
  return ran;
}

void TimerEngine::Impl::worker_main(uint32_t cpu) {
  set_current_vcpu(cpu);
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // wake within ~the requested nanosecond
  WorkerPriority priority(options.realtime_workers, base_now());
  WakeupLateness lateness;
  CpuQueue& q = queue(cpu);
  std::unique_lock<std::mutex> lock(q.mutex);
  uint64_t last_fired_at = 0;
  while (!q.stop.load(std::memory_order_acquire)) {
    uint64_t now = base_now();
    if (run_due_batch(q, lock, now) != 0) {
      last_fired_at = base_now();
      priority.busy(last_fired_at);
      continue;
    }
    const uint64_t window = lateness.spin_window(options.precision);
    // Cascading the slots that start within the window gives the exact expiry of a near timer
    // (a slot's start is only a lower bound): the spin then ends at the expiry itself rather
    // than at a slot boundary followed by another short, late sleep.
    const WheelNode* soon = q.wheel.peek_due(now + window);
    const uint64_t next = soon ? soon->expires : q.wheel.next_expiry_bound();
    if (soon != nullptr) {
      // Spin (without the lock) to the expiry; an earlier insert or a stop ends it early.
      q.sleep_until = next;
      const uint32_t generation = q.generation.load(std::memory_order_acquire);
      if (options.precision) priority.idle(now);  // a precision spin is a pause (below)
      lock.unlock();
      spin_until(q, next, generation, now - last_fired_at >= kColdAfterNs);
      lock.lock();
      q.sleep_until = 0;
      // By default spinning is not a pause: a worker that only spins and fires (periodic timers
      // shorter than its spin window) leaves SCHED_FIFO after kBurstNs like a callback storm.
      // In precision mode it is one: the application asked to spend a core on punctual timers,
      // and a worker demoted while it spun through periods shorter than the window (100 us
      // against 50-200 us) was preempted by kernel threads (p99 16 us instead of 0.6-0.8 us). A
      // callback storm still demotes it (kBurstNs of callbacks without a spin or sleep), and
      // its real-time share still caps the worker at 90% of the CPU at SCHED_FIFO.
      const uint64_t spun_to = base_now();
      if (options.precision) priority.woke(spun_to);
      priority.busy(spun_to);
      continue;
    }
    priority.idle(now);  // only a real sleep ends a burst
    priority.sleeping(now);
    q.sleep_until = next;
    if (next == UINT64_MAX) {
      q.wake.wait(lock);
    } else {
      const uint64_t wake_at = next - window;
      const auto status = q.wake.wait_until(
          lock, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(wake_at)));
      if (status == std::cv_status::timeout) {
        now = base_now();
        if (now > wake_at) lateness.record(now - wake_at);
      }
    }
    priority.woke(base_now());
    q.sleep_until = 0;
  }
}

}  // namespace hourglass::timers
