// hash and percpu_hash semantics (prealloc and BPF_F_NO_PREALLOC).
#include <set>
#include <vector>

#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

class HashMapTest : public MapsTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(HashMapTest, FlagsAndErrorCodes) {
  MapHandle map = create_ok(make_attr(MapType::Hash, 4, 8, 2, GetParam()));
  uint32_t key = 10;
  uint64_t value = 1, out = 0;
  EXPECT_EQ(map->user_lookup(&key, &out), -ENOENT);
  EXPECT_EQ(map->update(&key, &value, kExist), -ENOENT);
  EXPECT_EQ(map->update(&key, &value, kNoExist), 0);
  EXPECT_EQ(map->update(&key, &value, kNoExist), -EEXIST);
  value = 2;
  EXPECT_EQ(map->update(&key, &value, kExist), 0);
  ASSERT_EQ(map->user_lookup(&key, &out), 0);
  EXPECT_EQ(out, 2u);
  EXPECT_EQ(map->update(&key, &value, 3), -EINVAL);
  EXPECT_EQ(map->update(&key, &value, 8), -EINVAL);
  EXPECT_EQ(map->update(&key, &value, kLock), -EINVAL);  // no spin lock in the value
  key = 11;
  EXPECT_EQ(map->update(&key, &value, kAny), 0);
  key = 12;
  EXPECT_EQ(map->update(&key, &value, kAny), -E2BIG);  // full
  key = 10;
  EXPECT_EQ(map->update(&key, &value, kAny), 0);  // replacing is fine when full
  EXPECT_EQ(map->element_count(), 2u);
  EXPECT_EQ(map->remove(&key), 0);
  EXPECT_EQ(map->remove(&key), -ENOENT);
  EXPECT_EQ(map->user_delete(&key), -ENOENT);
  EXPECT_EQ(map->element_count(), 1u);
  key = 12;
  EXPECT_EQ(map->update(&key, &value, kAny), 0);  // room again after the delete
}

TEST_P(HashMapTest, DeleteThenReinsertManyTimesStaysWithinCapacity) {
  // Deleted elements wait for a grace period before their memory is reused; the capacity
  // check counts linked elements, so churn never reports a spurious -E2BIG.
  MapHandle map = create_ok(make_attr(MapType::Hash, 4, 8, 4, GetParam()));
  for (uint32_t round = 0; round < 1000; ++round) {
    for (uint32_t key = 0; key < 4; ++key) {
      uint64_t value = round;
      ASSERT_EQ(map->update(&key, &value, kNoExist), 0) << round;
    }
    for (uint32_t key = 0; key < 4; ++key) ASSERT_EQ(map->remove(&key), 0);
  }
  EXPECT_EQ(map->element_count(), 0u);
}

TEST_P(HashMapTest, GetNextKeyVisitsEveryKeyOnceThenEnoent) {
  MapHandle map = create_ok(make_attr(MapType::Hash, 8, 4, 64, GetParam()));
  for (uint64_t key = 0; key < 50; ++key) {
    uint32_t value = static_cast<uint32_t>(key);
    ASSERT_EQ(map->user_update(&key, &value, kAny), 0);
  }
  std::set<uint64_t> seen;
  uint64_t key = 0, next = 0;
  const void* cursor = nullptr;
  while (map->get_next_key(cursor, &next) == 0) {
    EXPECT_TRUE(seen.insert(next).second) << "repeated key " << next;
    ASSERT_LE(seen.size(), 50u);
    key = next;
    cursor = &key;
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(map->get_next_key(&key, &next), -ENOENT);  // last key
  uint64_t missing = 1000;
  ASSERT_EQ(map->get_next_key(&missing, &next), 0);  // missing key restarts at the first
  uint64_t first = 0;
  ASSERT_EQ(map->get_next_key(nullptr, &first), 0);
  EXPECT_EQ(next, first);
}

TEST_P(HashMapTest, EmptyMapGetNextKeyIsEnoent) {
  MapHandle map = create_ok(make_attr(MapType::Hash, 4, 4, 4, GetParam()));
  uint32_t next;
  EXPECT_EQ(map->get_next_key(nullptr, &next), -ENOENT);
}

TEST_P(HashMapTest, LookupPointerSurvivesDeleteUntilGuardEnds) {
  MapHandle map = create_ok(make_attr(MapType::Hash, 4, 8, 4, GetParam()));
  uint32_t key = 1;
  uint64_t value = 0x1234;
  ASSERT_EQ(map->update(&key, &value, kAny), 0);
  EpochGuard guard;
  auto* held = static_cast<uint64_t*>(map->lookup(&key));
  ASSERT_NE(held, nullptr);
  ASSERT_EQ(map->remove(&key), 0);
  EXPECT_EQ(map->lookup(&key), nullptr);
  value = 0x9999;
  ASSERT_EQ(map->update(&key, &value, kAny), 0);
  EXPECT_EQ(*held, 0x1234u);  // still the old, retired element (ASan would flag a reuse)
  EXPECT_NE(map->lookup(&key), held);
}

TEST_P(HashMapTest, ChurnInsideOneGuardNeverReusesWhatTheGuardMaySee) {
  // Every update retires the replaced element. Inside one long guard (a test-run's batch) a
  // prealloc pool runs dry: the allocator then reclaims on its own thread, which must not hand
  // back an element this guard may still read, and falls back to the heap instead.
  MapHandle map = create_ok(make_attr(MapType::Hash, 4, 8, 4, GetParam()));
  uint32_t key = 0;  // replaced by the loop below, while `held` points at it
  uint64_t value = 0xabcdef;
  ASSERT_EQ(map->update(&key, &value, kAny), 0);
  {
    EpochGuard guard;
    auto* held = static_cast<uint64_t*>(map->lookup(&key));
    ASSERT_NE(held, nullptr);
    for (uint64_t round = 0; round < 2000; ++round) {
      uint32_t k = static_cast<uint32_t>(round % 3);
      ASSERT_EQ(map->update(&k, &round, kAny), 0) << round;
    }
    EXPECT_EQ(*held, 0xabcdefu);
    for (uint32_t k = 0; k < 3; ++k) {
      auto* now = static_cast<uint64_t*>(map->lookup(&k));
      ASSERT_NE(now, nullptr);
      EXPECT_EQ(*now % 3, k);
    }
  }
  synchronize();
  EXPECT_EQ(map->element_count(), 3u);
}

TEST_P(HashMapTest, KeysOfEverySizeHashAndCompare) {
  for (uint32_t key_size : {1u, 3u, 4u, 8u, 12u, 64u}) {
    MapHandle map = create_ok(make_attr(MapType::Hash, key_size, 8, 64, GetParam()));
    std::vector<uint8_t> key(key_size);
    for (uint64_t i = 0; i < 40; ++i) {
      for (uint32_t b = 0; b < key_size; ++b) key[b] = static_cast<uint8_t>(i * 7 + b * (i + 1));
      ASSERT_EQ(map->user_update(key.data(), &i, kNoExist), 0) << key_size << " " << i;
    }
    for (uint64_t i = 0; i < 40; ++i) {
      for (uint32_t b = 0; b < key_size; ++b) key[b] = static_cast<uint8_t>(i * 7 + b * (i + 1));
      uint64_t out = 0;
      ASSERT_EQ(map->user_lookup(key.data(), &out), 0) << key_size << " " << i;
      EXPECT_EQ(out, i);
      key[key_size - 1] ^= 0x80;  // one bit off in the last byte: another key
      EXPECT_EQ(map->user_lookup(key.data(), &out), -ENOENT) << key_size << " " << i;
    }
  }
}

TEST_P(HashMapTest, ForEachAndKeyOfValue) {
  MapHandle map = create_ok(make_attr(MapType::Hash, 4, 4, 16, GetParam()));
  for (uint32_t key = 0; key < 10; ++key) ASSERT_EQ(map->update(&key, &key, kAny), 0);
  uint64_t sum = 0;
  long visited = map->for_each([&](const void* key, void* value) -> long {
    EXPECT_EQ(u32_at(key), u32_at(value));
    uint32_t scratch;
    EXPECT_EQ(map->key_of_value(value, &scratch), key);
    sum += u32_at(key);
    return 0;
  });
  EXPECT_EQ(visited, 10);
  EXPECT_EQ(sum, 45u);
  visited = map->for_each([&](const void*, void*) -> long { return 1; });
  EXPECT_EQ(visited, 1);
  // A callback may delete the element it is given.
  visited = map->for_each([&](const void* key, void*) -> long {
    EXPECT_EQ(map->remove(key), 0);
    return 0;
  });
  EXPECT_EQ(visited, 10);
  EXPECT_EQ(map->element_count(), 0u);
}

TEST_P(HashMapTest, FLockUpdatesInPlaceUnderTheSpinLock) {
  MapAttr attr = make_attr(MapType::Hash, 4, 16, 4, GetParam());
  attr.record.spin_lock_off = 0;
  MapHandle map = create_ok(attr);
  uint32_t key = 5;
  uint8_t value[16];
  std::memset(value, 1, sizeof(value));
  ASSERT_EQ(map->update(&key, value, kLock), 0);  // creates
  EpochGuard guard;
  void* before = map->lookup(&key);
  std::memset(value, 2, sizeof(value));
  ASSERT_EQ(map->update(&key, value, kLock | kExist), 0);
  EXPECT_EQ(map->lookup(&key), before);  // same element
  EXPECT_EQ(static_cast<uint8_t*>(before)[8], 2);
  EXPECT_EQ(u32_at(before), 0u);  // lock word free, not overwritten by the 0x02 bytes
  EXPECT_EQ(map->update(&key, value, kLock | kNoExist), -EEXIST);
  ASSERT_EQ(map->update(&key, value, kAny), 0);
  EXPECT_NE(map->lookup(&key), before);  // without F_LOCK a fresh element replaces it
}

INSTANTIATE_TEST_SUITE_P(Prealloc, HashMapTest, ::testing::Values(0u, kFlagNoPrealloc),
                         [](const auto& info) {
                           return info.param ? std::string("NoPrealloc") : std::string("Prealloc");
                         });

using PercpuHashTest = MapsTest;

TEST_F(PercpuHashTest, SlotsPerVcpuAndApplicationView) {
  MapAttr attr = make_attr(MapType::PercpuHash, 4, 4, 8);
  attr.ncpus = 3;
  MapHandle map = create_ok(attr);
  uint32_t key = 9;
  set_current_vcpu(1);
  uint32_t value = 11;
  ASSERT_EQ(map->update(&key, &value, kNoExist), 0);  // new element: other slots zero
  set_current_vcpu(2);
  value = 22;
  ASSERT_EQ(map->update(&key, &value, kExist), 0);  // existing: this slot only, in place
  std::vector<uint8_t> all(map->user_value_size());
  ASSERT_EQ(all.size(), 24u);
  ASSERT_EQ(map->user_lookup(&key, all.data()), 0);
  EXPECT_EQ(u32_at(all.data(), 0), 0u);
  EXPECT_EQ(u32_at(all.data(), 8), 11u);
  EXPECT_EQ(u32_at(all.data(), 16), 22u);
  {
    EpochGuard guard;
    set_current_vcpu(1);
    EXPECT_EQ(u32_at(map->lookup(&key)), 11u);
    set_current_vcpu(0);
    EXPECT_EQ(u32_at(map->lookup(&key)), 0u);
  }
  for (uint32_t cpu = 0; cpu < 3; ++cpu) {
    uint32_t v = 5 + cpu;
    std::memcpy(all.data() + cpu * 8, &v, 4);
  }
  uint32_t other = 10;
  ASSERT_EQ(map->user_update(&other, all.data(), kAny), 0);
  set_current_vcpu(2);
  EpochGuard guard;
  EXPECT_EQ(u32_at(map->lookup(&other)), 7u);
  EXPECT_EQ(map->user_update(&other, all.data(), kLock), -EINVAL);
}

}  // namespace
}  // namespace hourglass::maps::testing
