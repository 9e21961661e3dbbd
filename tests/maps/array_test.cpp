// array and percpu_array semantics.
#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

using ArrayMapTest = MapsTest;

TEST_F(ArrayMapTest, ElementsExistZeroedAndUpdateInPlace) {
  MapHandle map = create_ok(make_attr(MapType::Array, 4, 8, 4));
  uint32_t key = 2;
  uint64_t value = 0xffff;
  ASSERT_EQ(map->user_lookup(&key, &value), 0);
  EXPECT_EQ(value, 0u);
  EpochGuard guard;
  void* slot = map->lookup(&key);
  ASSERT_NE(slot, nullptr);
  value = 77;
  EXPECT_EQ(map->update(&key, &value, kAny), 0);
  EXPECT_EQ(map->lookup(&key), slot);  // same storage, updated in place
  EXPECT_EQ(*static_cast<uint64_t*>(slot), 77u);
  value = 78;
  EXPECT_EQ(map->update(&key, &value, kExist), 0);
  EXPECT_EQ(*static_cast<uint64_t*>(slot), 78u);
  EXPECT_EQ(map->element_count(), 4u);
}

TEST_F(ArrayMapTest, ErrorCodes) {
  MapHandle map = create_ok(make_attr(MapType::Array, 4, 8, 4));
  uint32_t key = 4;
  uint64_t value = 1;
  EXPECT_EQ(map->update(&key, &value, kAny), -E2BIG);
  EXPECT_EQ(map->user_update(&key, &value, kAny), -E2BIG);
  EXPECT_EQ(map->user_lookup(&key, &value), -ENOENT);
  {
    EpochGuard guard;
    EXPECT_EQ(map->lookup(&key), nullptr);
  }
  key = 1;
  EXPECT_EQ(map->update(&key, &value, kNoExist), -EEXIST);
  EXPECT_EQ(map->update(&key, &value, 8), -EINVAL);  // unknown flag
  EXPECT_EQ(map->update(&key, &value, kNoExist | kExist), -EINVAL);
  EXPECT_EQ(map->update(&key, &value, kLock), -EINVAL);  // no spin lock in the value
  EXPECT_EQ(map->remove(&key), -EINVAL);
  EXPECT_EQ(map->user_delete(&key), -EINVAL);
  EXPECT_EQ(map->push(&value, 0), -EOPNOTSUPP);
}

TEST_F(ArrayMapTest, GetNextKeyIteratesIndices) {
  MapHandle map = create_ok(make_attr(MapType::Array, 4, 4, 3));
  uint32_t next = 99;
  ASSERT_EQ(map->get_next_key(nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  uint32_t key = 0;
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 1u);
  key = 1;
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 2u);
  key = 2;
  EXPECT_EQ(map->get_next_key(&key, &next), -ENOENT);
  key = 17;  // out of range restarts
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 0u);
}

TEST_F(ArrayMapTest, ForEachVisitsUntilStop) {
  MapHandle map = create_ok(make_attr(MapType::Array, 4, 4, 5));
  std::vector<uint32_t> keys;
  long visited = map->for_each([&](const void* key, void*) -> long {
    keys.push_back(u32_at(key));
    return 0;
  });
  EXPECT_EQ(visited, 5);
  EXPECT_EQ(keys, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  visited = map->for_each([&](const void* key, void*) -> long { return u32_at(key) == 2; });
  EXPECT_EQ(visited, 3);  // the element that stopped the walk counts
}

TEST_F(ArrayMapTest, KeyOfValueAndDirectValue) {
  MapHandle map = create_ok(make_attr(MapType::Array, 4, 12, 4));
  EpochGuard guard;
  uint32_t key = 3, scratch = 0;
  void* value = map->lookup(&key);
  const void* found = map->key_of_value(value, &scratch);
  EXPECT_EQ(found, &scratch);
  EXPECT_EQ(scratch, 3u);
  EXPECT_EQ(map->direct_value_base(), nullptr);
  MapHandle single = create_ok(make_attr(MapType::Array, 4, 64, 1));
  key = 0;
  EXPECT_EQ(single->direct_value_base(), single->lookup(&key));
}

TEST_F(ArrayMapTest, SpinLockUpdateWithFLock) {
  MapAttr attr = make_attr(MapType::Array, 4, 16, 2);
  attr.record.spin_lock_off = 0;
  MapHandle map = create_ok(attr);
  uint32_t key = 1;
  uint8_t value[16];
  std::memset(value, 0x5a, sizeof(value));
  ASSERT_EQ(map->user_update(&key, value, kLock), 0);
  EXPECT_EQ(map->user_update(&key, value, kLock | kNoExist), -EEXIST);
  EpochGuard guard;
  auto* stored = static_cast<uint8_t*>(map->lookup(&key));
  EXPECT_EQ(u32_at(stored), 0u);  // the lock word is free and untouched
  EXPECT_EQ(stored[4], 0x5a);
  EXPECT_EQ(stored[15], 0x5a);
}

TEST_F(ArrayMapTest, PercpuSlotsPerVcpu) {
  MapAttr attr = make_attr(MapType::PercpuArray, 4, 4, 2);
  attr.ncpus = 4;
  MapHandle map = create_ok(attr);
  uint32_t key = 1;
  for (uint32_t cpu = 0; cpu < 4; ++cpu) {
    set_current_vcpu(cpu);
    uint32_t value = 100 + cpu;
    ASSERT_EQ(map->update(&key, &value, kAny), 0);
  }
  for (uint32_t cpu = 0; cpu < 4; ++cpu) {
    set_current_vcpu(cpu);
    EpochGuard guard;
    EXPECT_EQ(u32_at(map->lookup(&key)), 100 + cpu);
  }
  // Application view: one 8-byte slot per vCPU.
  std::vector<uint8_t> all(map->user_value_size(), 0xff);
  ASSERT_EQ(all.size(), 32u);
  ASSERT_EQ(map->user_lookup(&key, all.data()), 0);
  for (uint32_t cpu = 0; cpu < 4; ++cpu) EXPECT_EQ(u32_at(all.data(), cpu * 8), 100 + cpu);
  // Application update writes every slot.
  for (uint32_t cpu = 0; cpu < 4; ++cpu) {
    uint32_t v = 7 * cpu;
    std::memcpy(all.data() + cpu * 8, &v, 4);
  }
  ASSERT_EQ(map->user_update(&key, all.data(), kAny), 0);
  set_current_vcpu(3);
  EpochGuard guard;
  EXPECT_EQ(u32_at(map->lookup(&key)), 21u);
  uint32_t other = 0;
  EXPECT_EQ(u32_at(map->lookup(&other)), 0u);
}

}  // namespace
}  // namespace hourglass::maps::testing
