// Several threads update/delete/look up one hash or LRU map while a reader holds value pointers
// across those operations: held values must stay readable and unchanged until the reader's guard
// ends (run under TSan and ASan too, see docs/maps.md).
#include <atomic>
#include <thread>

#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

struct Value {
  uint64_t key;
  uint64_t serial;
  uint64_t check;  // key ^ serial ^ constant: a torn or foreign write breaks it
};
constexpr uint64_t kCheckSalt = 0x5eed5eed5eed5eedull;
constexpr uint32_t kKeys = 64;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || defined(HOURGLASS_SANITIZED)
constexpr int kOpsPerWriter = 4000;
#else
constexpr int kOpsPerWriter = 40000;
#endif

class Concurrency : public MapsTest, public ::testing::WithParamInterface<MapType> {};

void writer(Map& map, uint32_t thread_index, std::atomic<uint64_t>& failures) {
  set_current_vcpu(thread_index);
  uint64_t state = 0x9e3779b97f4a7c15ull * (thread_index + 1);
  for (int op = 0; op < kOpsPerWriter; ++op) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    uint64_t key = state % kKeys;
    EpochGuard guard;  // as a program run would hold
    switch (state % 4) {
      case 0:
      case 1: {
        Value v{key, state, key ^ state ^ kCheckSalt};
        long err = map.update(&key, &v, kAny);
        if (err != 0 && err != -E2BIG) failures.fetch_add(1);
        break;
      }
      case 2: {
        long err = map.remove(&key);
        if (err != 0 && err != -ENOENT) failures.fetch_add(1);
        break;
      }
      default: {
        auto* v = static_cast<const Value*>(map.lookup(&key));
        if (v != nullptr && (v->key != key || (v->key ^ v->serial ^ kCheckSalt) != v->check))
          failures.fetch_add(1);
      }
    }
  }
}

TEST_P(Concurrency, HeldValuesStayReadableUnderChurn) {
  // Fewer entries than keys, so hash updates hit -E2BIG and the LRU evicts.
  MapHandle map = create_ok(make_attr(GetParam(), 8, sizeof(Value), kKeys / 2));
  std::atomic<uint64_t> failures{0};
  std::atomic<bool> writers_done{false};
  std::atomic<uint64_t> held_checks{0};
  std::atomic<bool> reader_started{false};
  for (uint64_t key = 0; key < kKeys / 2; ++key) {
    Value v{key, 0, key ^ kCheckSalt};
    ASSERT_EQ(map->user_update(&key, &v, kAny), 0);
  }

  std::thread reader([&] {
    set_current_vcpu(7);
    for (int rounds = 0; !writers_done.load() || rounds < 20; ++rounds) {
      reader_started = true;
      EpochGuard guard;
      const Value* held[kKeys];
      Value copies[kKeys];
      for (uint64_t key = 0; key < kKeys; ++key) {
        held[key] = static_cast<const Value*>(map->lookup(&key));
        if (held[key]) copies[key] = *held[key];
      }
      std::this_thread::yield();  // let writers delete and replace what we hold
      for (uint64_t key = 0; key < kKeys; ++key) {
        if (!held[key]) continue;
        held_checks.fetch_add(1, std::memory_order_relaxed);
        const Value now = *held[key];
        if (now.key != copies[key].key || now.serial != copies[key].serial ||
            now.check != copies[key].check || now.key != key)
          failures.fetch_add(1);
      }
    }
  });
  while (!reader_started) std::this_thread::yield();
  std::vector<std::thread> writers;
  for (uint32_t t = 0; t < 4; ++t)
    writers.emplace_back(writer, std::ref(*map), t, std::ref(failures));
  for (auto& t : writers) t.join();
  writers_done = true;
  reader.join();

  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(held_checks.load(), 0u);
  EXPECT_LE(map->element_count(), kKeys / 2);
  // The chains and the count agree after the storm.
  uint32_t linked = 0;
  map->for_each([&](const void*, void*) -> long {
    ++linked;
    return 0;
  });
  EXPECT_EQ(linked, map->element_count());
}

INSTANTIATE_TEST_SUITE_P(Maps, Concurrency, ::testing::Values(MapType::Hash, MapType::LruHash),
                         [](const auto& info) { return std::string(map_type_name(info.param)); });

TEST_F(MapsTest, HooksRunOncePerDyingElementUnderConcurrentDeletes) {
  CountingHooks hooks;
  MapAttr attr = make_attr(MapType::Hash, 4, 24, 256);
  attr.record.timer_off = 8;
  attr.hooks = &hooks;
  MapHandle map = create_ok(attr);
  for (uint32_t key = 0; key < 200; ++key) {
    uint8_t value[24] = {};
    std::memcpy(value, &key, 4);
    ASSERT_EQ(map->update(&key, value, kAny), 0);
  }
  std::vector<std::thread> deleters;
  std::atomic<int> deleted{0};
  for (int t = 0; t < 4; ++t) {
    deleters.emplace_back([&] {
      for (uint32_t key = 0; key < 200; ++key) {
        EpochGuard guard;
        if (map->remove(&key) == 0) deleted.fetch_add(1);
      }
    });
  }
  for (auto& t : deleters) t.join();
  EXPECT_EQ(deleted.load(), 200);
  EXPECT_EQ(hooks.count(), 200u);
  for (uint32_t key = 0; key < 200; ++key) EXPECT_EQ(hooks.count_tag(key), 1u);
}

}  // namespace
}  // namespace hourglass::maps::testing
