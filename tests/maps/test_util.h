// Shared helpers for the maps tests: attribute builders, RAII map handles, a counting fake of
// SpecialFieldHooks and a counting fake program.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/run_context.h"
#include "maps/epoch.h"
#include "maps/map.h"

namespace hourglass::maps::testing {

inline MapAttr make_attr(MapType type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                         uint32_t flags = 0) {
  MapAttr attr;
  attr.type = type;
  attr.name = "test";
  attr.key_size = key_size;
  attr.value_size = value_size;
  attr.max_entries = max_entries;
  attr.map_flags = flags;
  return attr;
}

struct MapReleaser {
  void operator()(Map* map) const { map->release(); }
};
using MapHandle = std::unique_ptr<Map, MapReleaser>;

inline MapHandle create_ok(const MapAttr& attr) {
  auto result = create_map(attr);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return MapHandle(result.ok() ? *result : nullptr);
}

inline int create_errno(const MapAttr& attr) {
  auto result = create_map(attr);
  if (result.ok()) {
    (*result)->release();
    return 0;
  }
  return result.error().code;
}

// Records every free_special_fields call: which map, which value address, and the u32 at the
// start of the value at that moment (tests store an element tag there).
class CountingHooks final : public SpecialFieldHooks {
 public:
  struct Call {
    uint32_t map_id;
    const void* value;
    uint32_t tag;
  };
  void free_special_fields(Map& map, void* value) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    uint32_t tag;
    std::memcpy(&tag, value, sizeof(tag));
    calls_.push_back({map.id(), value, tag});
  }
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }
  size_t count() const { return calls().size(); }
  size_t count_tag(uint32_t tag) const {
    size_t n = 0;
    for (const Call& call : calls()) n += call.tag == tag;
    return n;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Call> calls_;
};

class FakeProgram final : public ProgramRef {
 public:
  void acquire() noexcept override { refs.fetch_add(1); }
  bool try_acquire() noexcept override {
    uint64_t current = refs.load();
    while (current != 0) {
      if (refs.compare_exchange_weak(current, current + 1)) return true;
    }
    return false;
  }
  void release() noexcept override { refs.fetch_sub(1); }
  const char* name() const noexcept override { return "fake"; }
  std::atomic<uint64_t> refs{1};
};

// Base fixture: waits for the reclaimer at the end so every retired object is freed (ASan).
class MapsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    set_current_vcpu(0);
    synchronize();
    synchronize();
  }
};

inline uint32_t u32_at(const void* p, size_t off = 0) {
  uint32_t v;
  std::memcpy(&v, static_cast<const uint8_t*>(p) + off, sizeof(v));
  return v;
}

}  // namespace hourglass::maps::testing
