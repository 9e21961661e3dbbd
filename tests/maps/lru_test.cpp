// lru_hash and lru_percpu_hash: bounded by eviction, cold entries go first.
#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

using LruMapTest = MapsTest;

bool present(Map& map, uint32_t key) {
  std::vector<uint8_t> out(map.user_value_size());
  return map.user_lookup(&key, out.data()) == 0;
}

TEST_F(LruMapTest, StaysBoundedAndNeverFailsWithE2big) {
  MapHandle map = create_ok(make_attr(MapType::LruHash, 4, 8, 16));
  for (uint32_t key = 0; key < 1000; ++key) {
    uint64_t value = key;
    ASSERT_EQ(map->update(&key, &value, kNoExist), 0) << key;
    ASSERT_LE(map->element_count(), 16u);
  }
  EXPECT_EQ(map->element_count(), 16u);
  // The newest keys survive when nothing is referenced.
  for (uint32_t key = 984; key < 1000; ++key) EXPECT_TRUE(present(*map, key)) << key;
  EXPECT_FALSE(present(*map, 0));
}

TEST_F(LruMapTest, EvictsColdEntriesAndKeepsReferencedOnes) {
  MapHandle map = create_ok(make_attr(MapType::LruHash, 4, 8, 8));
  for (uint32_t key = 0; key < 8; ++key) {
    uint64_t value = key;
    ASSERT_EQ(map->update(&key, &value, kAny), 0);
  }
  {
    EpochGuard guard;  // program-side lookups mark entries 0..3 as referenced
    for (uint32_t key = 0; key < 4; ++key) ASSERT_NE(map->lookup(&key), nullptr);
  }
  for (uint32_t key = 100; key < 104; ++key) {
    uint64_t value = key;
    ASSERT_EQ(map->update(&key, &value, kAny), 0);
  }
  for (uint32_t key = 0; key < 4; ++key) EXPECT_TRUE(present(*map, key)) << "hot " << key;
  for (uint32_t key = 4; key < 8; ++key) EXPECT_FALSE(present(*map, key)) << "cold " << key;
  for (uint32_t key = 100; key < 104; ++key) EXPECT_TRUE(present(*map, key)) << key;
}

TEST_F(LruMapTest, ApplicationLookupsDoNotMarkReferences) {
  MapHandle map = create_ok(make_attr(MapType::LruHash, 4, 8, 2));
  uint64_t value = 0;
  uint32_t a = 1, b = 2, c = 3;
  ASSERT_EQ(map->update(&a, &value, kAny), 0);
  ASSERT_EQ(map->update(&b, &value, kAny), 0);
  EXPECT_TRUE(present(*map, a));
  ASSERT_EQ(map->update(&c, &value, kAny), 0);
  EXPECT_FALSE(present(*map, a));  // oldest goes despite the application lookup
  EXPECT_TRUE(present(*map, b));
}

TEST_F(LruMapTest, FlagsDeleteAndNextKey) {
  MapHandle map = create_ok(make_attr(MapType::LruHash, 4, 8, 4));
  uint32_t key = 1;
  uint64_t value = 5;
  EXPECT_EQ(map->update(&key, &value, kExist), -ENOENT);
  EXPECT_EQ(map->update(&key, &value, kNoExist), 0);
  EXPECT_EQ(map->update(&key, &value, kNoExist), -EEXIST);
  EXPECT_EQ(map->update(&key, &value, kLock), -EINVAL);
  EXPECT_EQ(map->remove(&key), 0);
  EXPECT_EQ(map->remove(&key), -ENOENT);
  uint32_t next;
  EXPECT_EQ(map->get_next_key(nullptr, &next), -ENOENT);
}

TEST_F(LruMapTest, PercpuLruUpdatesInPlaceAndEvicts) {
  MapAttr attr = make_attr(MapType::LruPercpuHash, 4, 8, 4);
  attr.ncpus = 2;
  MapHandle map = create_ok(attr);
  uint32_t key = 7;
  uint64_t value = 70;
  set_current_vcpu(1);
  ASSERT_EQ(map->update(&key, &value, kAny), 0);
  std::vector<uint8_t> all(map->user_value_size());
  ASSERT_EQ(map->user_lookup(&key, all.data()), 0);
  EXPECT_EQ(u32_at(all.data(), 0), 0u);
  EXPECT_EQ(u32_at(all.data(), 8), 70u);
  for (uint32_t k = 100; k < 120; ++k) ASSERT_EQ(map->update(&k, &value, kAny), 0);
  EXPECT_EQ(map->element_count(), 4u);
  EXPECT_FALSE(present(*map, key));
}

}  // namespace
}  // namespace hourglass::maps::testing
