// Shared helpers for the timer engine tests: a counting fake program, callbacks backed by C++
// functions, and maps whose values hold {u32 tag; u32 pad; bpf_timer; bpf_wq; u64 data}.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>

#include "common/run_context.h"
#include "maps/epoch.h"
#include "maps/map.h"
#include "timers/timers.h"

namespace hourglass::timers::testing {

// Sanitized builds run the long tests on a smaller scale (same assertions, scaled counts).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || defined(HOURGLASS_SANITIZED)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

struct Value {
  uint32_t tag;
  uint32_t pad;
  uint64_t timer[2];
  uint64_t wq[2];
  uint64_t data;
};
inline constexpr int32_t kTimerOff = offsetof(Value, timer);
inline constexpr int32_t kWqOff = offsetof(Value, wq);

class FakeProgram final : public ProgramRef {
 public:
  explicit FakeProgram(const char* name = "fake_prog") : name_(name) {}
  void acquire() noexcept override { refs.fetch_add(1); }
  bool try_acquire() noexcept override {
    uint64_t current = refs.load();
    while (current != 0) {
      if (refs.compare_exchange_weak(current, current + 1)) return true;
    }
    return false;
  }
  void release() noexcept override { refs.fetch_sub(1); }
  const char* name() const noexcept override { return name_; }
  std::atomic<uint64_t> refs{1};

 private:
  const char* name_;
};

// A CallbackTarget whose invoke runs a std::function(map, key, value).
using CallbackFn = std::function<void(maps::Map* map, const void* key, void* value)>;
class FakeCallback {
 public:
  FakeCallback(FakeProgram& prog, CallbackFn fn, const char* name = "fake_cb") : fn_(std::move(fn)) {
    target_.program = &prog;
    target_.name = name;
    target_.engine_data = this;
    target_.invoke = [](const CallbackTarget* self, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t,
                        uint64_t) -> uint64_t {
      auto* me = static_cast<FakeCallback*>(self->engine_data);
      me->fn_(reinterpret_cast<maps::Map*>(r1), reinterpret_cast<const void*>(r2),
              reinterpret_cast<void*>(r3));
      return 0;
    };
  }
  const CallbackTarget* target() const { return &target_; }

 private:
  CallbackFn fn_;
  CallbackTarget target_;
};

struct MapReleaser {
  void operator()(maps::Map* map) const { map->release(); }
};
using MapHandle = std::unique_ptr<maps::Map, MapReleaser>;

// A map with one user reference (as if the application held its fd).
inline MapHandle make_map(TimerEngine& engine, maps::MapType type, uint32_t max_entries,
                          bool with_wq = false, uint32_t key_size = 4) {
  maps::MapAttr attr;
  attr.type = type;
  attr.name = "timer_map";
  attr.key_size = type == maps::MapType::Array ? 4 : key_size;
  attr.value_size = sizeof(Value);
  attr.max_entries = max_entries;
  attr.record.timer_off = kTimerOff;
  if (with_wq) attr.record.wq_off = kWqOff;
  attr.has_value_btf = true;
  attr.hooks = &engine;
  auto created = maps::create_map(attr);
  EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().message);
  if (!created.ok()) return nullptr;
  (*created)->acquire_user();
  return MapHandle(*created);
}

// Program-side lookup of key `k` (creating a zeroed element for hash maps).
inline Value* element(maps::Map& map, uint32_t k, bool create = true) {
  if (create && map.type() != maps::MapType::Array && map.lookup(&k) == nullptr) {
    Value zero{};
    zero.tag = k;
    EXPECT_EQ(map.update(&k, &zero, maps::kNoExist), 0);
  }
  return static_cast<Value*>(map.lookup(&k));
}
inline void* timer_of(Value* v) { return v->timer; }
inline void* wq_of(Value* v) { return v->wq; }

inline EngineOptions virtual_options(uint32_t ncpus = 1) {
  EngineOptions options;
  options.ncpus = ncpus;
  options.virtual_time = true;
  return options;
}

inline EngineOptions real_options(uint32_t ncpus = 1) {
  EngineOptions options;
  options.ncpus = ncpus;
  return options;
}

// Polls `pred` until true or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return pred();
}

// Base fixture: every test runs on vCPU 0 and ends with reclamation finished (ASan leaks).
class TimersTest : public ::testing::Test {
 protected:
  void SetUp() override { set_current_vcpu(0); }
  void TearDown() override {
    set_current_vcpu(0);
    maps::synchronize();
    maps::synchronize();
  }
};

}  // namespace hourglass::timers::testing
