// The face of timers/: BPF timers (struct bpf_timer) with the kernel's semantics, their clocks
// (real or virtual), per-vCPU timer queues and the worker threads that run callbacks.
//
// The engine is the SpecialFieldHooks of every map whose values hold a bpf_timer or bpf_wq:
// maps call free_special_fields() when an element dies or the last user reference goes away.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/program_ref.h"
#include "hourglass/result.h"
#include "maps/map.h"

namespace hourglass::timers {

// Clock ids accepted by bpf_timer_init (low 4 bits of flags).
inline constexpr uint32_t kClockRealtime = 0, kClockMonotonic = 1, kClockBoottime = 7;
// bpf_timer_start flags.
inline constexpr uint64_t kTimerAbs = 1u << 0, kTimerCpuPin = 1u << 1;

struct EngineOptions {
  uint32_t ncpus = 1;          // virtual CPUs: one queue and one worker thread each
  bool virtual_time = false;   // no timer fires on its own; advance() drives the clock
  uint64_t virtual_start_ns = 1'000'000'000;  // virtual clock's starting point (all clocks)
  bool precision = false;      // spin the last stretch before a near expiry
  // Workers wait at SCHED_FIFO priority 1 when the process may (see worker.cpp); false keeps
  // them SCHED_OTHER for hosts that do not want real-time threads (lateness then depends on
  // how busy the machine is).
  bool realtime_workers = true;
};

struct TimerInfo {
  uint32_t map_id;
  std::string map_name;
  std::vector<uint8_t> key;
  uint32_t clock_id;
  uint64_t expires_ns;  // on the timer's clock
  std::string callback;  // subprogram name
  std::string program;   // program holding the callback
  uint64_t fire_count;
  uint32_t cpu;
};

class TimerEngine final : public maps::SpecialFieldHooks {
 public:
  static std::unique_ptr<TimerEngine> create(const EngineOptions& options);
  ~TimerEngine();

  // Clock reads for bpf_ktime_get_*: real clocks, or the virtual clock under virtual time.
  uint64_t now(uint32_t clock_id) const;

  // The helpers (ids 169-172); return 0 or the kernel's negative errno. `timer` points at the
  // struct bpf_timer inside a value of `map` (the verifier guarantees it).
  long timer_init(void* timer, maps::Map* map, uint64_t flags);
  long timer_set_callback(void* timer, const CallbackTarget* callback, ProgramRef* caller);
  long timer_start(void* timer, uint64_t nsecs, uint64_t flags);
  long timer_cancel(void* timer);

  // bpf_wq kfuncs.
  long wq_init(void* wq, maps::Map* map, uint64_t flags);
  long wq_set_callback(void* wq, const CallbackTarget* callback, uint64_t flags, ProgramRef* caller);
  long wq_start(void* wq, uint64_t flags);

  // maps::SpecialFieldHooks
  void free_special_fields(maps::Map& map, void* value) noexcept override;

  // Virtual time: fire every timer due up to now+ns / t, in expiry order. Errors unless
  // options.virtual_time.
  Status advance(uint64_t ns);
  Status advance_to(uint64_t t_ns);
  // Real time: wait until no callback is running or queued to run now (for tests).
  void quiesce();

  std::vector<TimerInfo> list_timers() const;
  uint64_t fired_total() const;
  uint64_t armed_count() const;

  // Stops workers; every remaining timer must already be freed by its map.
  void shutdown();

  struct Impl;

 private:
  explicit TimerEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hourglass::timers
