// Hidden fields (bpf_timer, bpf_wq, bpf_spin_lock): never visible to or overwritable by the
// application, zeroed on element creation, and freed through the hooks exactly once whenever an
// element dies -- delete, replacing update, array update, LRU eviction, uref release, destruction.
#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

// Value layout used below: u32 tag at 0, spin lock at 4, bpf_timer at 8, u64 payload at 24.
constexpr uint32_t kValueSize = 32;
constexpr int32_t kTimerOff = 8;

class SpecialFields : public MapsTest {
 protected:
  MapAttr attr(MapType type, uint32_t max_entries, bool spin_lock = false) {
    MapAttr a = make_attr(type, 4, kValueSize, max_entries);
    a.record.timer_off = kTimerOff;
    if (spin_lock) a.record.spin_lock_off = 4;
    a.has_value_btf = true;
    a.hooks = &hooks;
    return a;
  }
  static std::vector<uint8_t> value_with(uint32_t tag, uint8_t fill) {
    std::vector<uint8_t> v(kValueSize, fill);
    std::memcpy(v.data(), &tag, 4);
    return v;
  }
  // What the timer engine would do: store an opaque pointer in the timer bytes.
  static void arm(void* value) { std::memset(static_cast<uint8_t*>(value) + kTimerOff, 0xab, 16); }
  static bool timer_bytes_are(const void* value, uint8_t byte) {
    auto* p = static_cast<const uint8_t*>(value) + kTimerOff;
    for (int i = 0; i < 16; ++i)
      if (p[i] != byte) return false;
    return true;
  }
  CountingHooks hooks;
};

TEST_F(SpecialFields, UserLookupSeesZerosAndUserUpdateCannotWriteThem) {
  for (MapType type : {MapType::Array, MapType::Hash, MapType::LruHash}) {
    hooks.clear();
    MapHandle map = create_ok(attr(type, 4, type != MapType::LruHash));
    uint32_t key = 1;
    auto value = value_with(1, 0xde);  // garbage in the timer and lock bytes
    ASSERT_EQ(map->user_update(&key, value.data(), kAny), 0);
    EpochGuard guard;
    void* stored = map->lookup(&key);
    ASSERT_NE(stored, nullptr);
    EXPECT_TRUE(timer_bytes_are(stored, 0)) << map_type_name(type);  // garbage did not land
    arm(stored);
    std::vector<uint8_t> out(kValueSize, 0x77);
    ASSERT_EQ(map->user_lookup(&key, out.data()), 0);
    EXPECT_TRUE(timer_bytes_are(out.data(), 0)) << map_type_name(type);
    EXPECT_EQ(out[24], 0xde);
    if (type != MapType::LruHash) {
      EXPECT_EQ(u32_at(out.data(), 4), 0u);  // lock word hidden
    }
  }
}

TEST_F(SpecialFields, ArrayUpdateCopiesAroundTimerThenFreesIt) {
  MapHandle map = create_ok(attr(MapType::Array, 4));
  uint32_t key = 2;
  EpochGuard guard;
  void* stored = map->lookup(&key);
  arm(stored);
  auto value = value_with(42, 0xde);
  ASSERT_EQ(map->user_update(&key, value.data(), kAny), 0);
  ASSERT_EQ(hooks.count(), 1u);
  EXPECT_EQ(hooks.calls()[0].value, stored);
  EXPECT_EQ(hooks.calls()[0].tag, 42u);  // called after the new bytes were copied in
  EXPECT_EQ(hooks.calls()[0].map_id, map->id());
  EXPECT_TRUE(timer_bytes_are(stored, 0xab));           // the update itself never wrote the timer
  ASSERT_EQ(map->update(&key, value.data(), kAny), 0);  // program-side update too
  EXPECT_EQ(hooks.count(), 2u);
}

TEST_F(SpecialFields, HashDeleteAndReplaceFreeTheOldElementOnce) {
  MapHandle map = create_ok(attr(MapType::Hash, 4));
  uint32_t key = 3;
  auto first = value_with(1, 0);
  ASSERT_EQ(map->update(&key, first.data(), kAny), 0);
  EpochGuard guard;
  void* old_value = map->lookup(&key);
  arm(old_value);
  auto second = value_with(2, 0);
  ASSERT_EQ(map->update(&key, second.data(), kAny), 0);
  ASSERT_EQ(hooks.count(), 1u);
  EXPECT_EQ(hooks.calls()[0].value, old_value);
  EXPECT_EQ(hooks.calls()[0].tag, 1u);
  void* new_value = map->lookup(&key);
  EXPECT_TRUE(timer_bytes_are(new_value, 0));  // fresh element: timer zeroed
  ASSERT_EQ(map->remove(&key), 0);
  ASSERT_EQ(hooks.count(), 2u);
  EXPECT_EQ(hooks.calls()[1].value, new_value);
  EXPECT_EQ(hooks.calls()[1].tag, 2u);
  // Failed updates kill nothing.
  EXPECT_EQ(map->update(&key, second.data(), kExist), -ENOENT);
  ASSERT_EQ(map->update(&key, second.data(), kAny), 0);
  EXPECT_EQ(map->update(&key, second.data(), kNoExist), -EEXIST);
  EXPECT_EQ(hooks.count(), 2u);
}

TEST_F(SpecialFields, HashFLockUpdateKeepsTheTimer) {
  MapHandle map = create_ok(attr(MapType::Hash, 4, /*spin_lock=*/true));
  uint32_t key = 3;
  auto value = value_with(1, 0);
  ASSERT_EQ(map->update(&key, value.data(), kAny), 0);
  ASSERT_EQ(map->update(&key, value.data(), kLock), 0);
  EXPECT_EQ(hooks.count(), 0u);
}

TEST_F(SpecialFields, ReusedElementMemoryStartsWithZeroTimer) {
  MapHandle map = create_ok(attr(MapType::Hash, 1));
  uint32_t key = 1;
  auto value = value_with(1, 0);
  for (int round = 0; round < 200; ++round) {
    ASSERT_EQ(map->update(&key, value.data(), kAny), 0);
    {
      EpochGuard guard;
      void* stored = map->lookup(&key);
      ASSERT_TRUE(timer_bytes_are(stored, 0)) << round;
      arm(stored);
    }
    ASSERT_EQ(map->remove(&key), 0);
    if (round % 50 == 0) synchronize();  // let pool memory come back for reuse
  }
}

TEST_F(SpecialFields, LruEvictionFreesTheVictim) {
  MapHandle map = create_ok(attr(MapType::LruHash, 2));
  for (uint32_t key = 1; key <= 3; ++key) {
    auto value = value_with(key, 0);
    ASSERT_EQ(map->update(&key, value.data(), kAny), 0);
  }
  ASSERT_EQ(hooks.count(), 1u);
  EXPECT_EQ(hooks.calls()[0].tag, 1u);  // the oldest, unreferenced element
}

TEST_F(SpecialFields, UrefReleaseFreesEveryTimerOnce) {
  for (MapType type : {MapType::Array, MapType::Hash, MapType::LruHash}) {
    hooks.clear();
    MapHandle map = create_ok(attr(type, 4));
    map->acquire_user();
    map->acquire_user();
    for (uint32_t key = 0; key < 3; ++key) {
      auto value = value_with(10 + key, 0);
      ASSERT_EQ(map->user_update(&key, value.data(), kAny), 0);
    }
    hooks.clear();  // array updates already freed (empty) timers
    map->release_user();
    EXPECT_EQ(hooks.count(), 0u) << map_type_name(type);
    map->release_user();
    EXPECT_EQ(map->user_refs(), 0u);
    size_t expected = type == MapType::Array ? 4 : 3;  // arrays: every slot exists
    EXPECT_EQ(hooks.count(), expected) << map_type_name(type);
    for (uint32_t key = 0; key < 3; ++key) EXPECT_EQ(hooks.count_tag(10 + key), 1u);
    uint32_t key = 0;
    std::vector<uint8_t> out(kValueSize);
    EXPECT_EQ(map->user_lookup(&key, out.data()), 0);  // elements themselves stay
  }
}

TEST_F(SpecialFields, DestructionFreesEveryRemainingElement) {
  for (MapType type : {MapType::Array, MapType::Hash, MapType::LruHash}) {
    hooks.clear();
    MapHandle map = create_ok(attr(type, 8));
    for (uint32_t key = 0; key < 5; ++key) {
      auto value = value_with(20 + key, 0);
      ASSERT_EQ(map->user_update(&key, value.data(), kAny), 0);
    }
    uint32_t key = 4;
    if (type != MapType::Array) {
      ASSERT_EQ(map->remove(&key), 0);
    }
    hooks.clear();
    uint32_t id = map->id();
    map.reset();  // last reference
    size_t expected = type == MapType::Array ? 8 : 4;
    EXPECT_EQ(hooks.count(), expected) << map_type_name(type);
    for (const auto& call : hooks.calls()) EXPECT_EQ(call.map_id, id);
    for (uint32_t k = 0; k < 4; ++k) EXPECT_EQ(hooks.count_tag(20 + k), 1u) << map_type_name(type);
  }
}

TEST_F(SpecialFields, NoHooksCallsWithoutAsyncFields) {
  MapAttr a = make_attr(MapType::Hash, 4, 8, 4);
  a.hooks = &hooks;
  MapHandle map = create_ok(a);
  uint32_t key = 1;
  uint64_t value = 1;
  ASSERT_EQ(map->update(&key, &value, kAny), 0);
  ASSERT_EQ(map->update(&key, &value, kAny), 0);
  ASSERT_EQ(map->remove(&key), 0);
  EXPECT_EQ(hooks.count(), 0u);
}

}  // namespace
}  // namespace hourglass::maps::testing
