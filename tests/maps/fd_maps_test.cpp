// prog_array, array_of_maps and hash_of_maps: slots hold counted references.
#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

using ProgArrayTest = MapsTest;

TEST_F(ProgArrayTest, SlotsHoldProgramReferences) {
  MapHandle map = create_ok(make_attr(MapType::ProgArray, 4, 4, 4));
  FakeProgram a, b;
  uint32_t key = 1;
  EXPECT_EQ(map->update_program(&key, &a, kNoExist), -EINVAL);  // only BPF_ANY
  ASSERT_EQ(map->update_program(&key, &a, kAny), 0);
  EXPECT_EQ(a.refs.load(), 2u);
  {
    EpochGuard guard;
    EXPECT_EQ(map->lookup(&key), static_cast<ProgramRef*>(&a));
    uint32_t empty = 0;
    EXPECT_EQ(map->lookup(&empty), nullptr);
  }
  ASSERT_EQ(map->update_program(&key, &b, kAny), 0);  // replaces: a's ref dropped after a GP
  synchronize();
  EXPECT_EQ(a.refs.load(), 1u);
  EXPECT_EQ(b.refs.load(), 2u);
  ASSERT_EQ(map->remove(&key), 0);
  EXPECT_EQ(map->remove(&key), -ENOENT);
  synchronize();
  EXPECT_EQ(b.refs.load(), 1u);
  uint32_t out_of_range = 4;
  EXPECT_EQ(map->update_program(&out_of_range, &a, kAny), -E2BIG);
  EXPECT_EQ(map->remove(&out_of_range), -E2BIG);
  uint32_t value = 0;
  EXPECT_EQ(map->update(&key, &value, kAny), -EOPNOTSUPP);  // programs cannot write slots
  EXPECT_EQ(map->user_update(&key, &value, kAny), -EINVAL);
}

TEST_F(ProgArrayTest, ReaderKeepsProgramUntilGuardEnds) {
  MapHandle map = create_ok(make_attr(MapType::ProgArray, 4, 4, 2));
  FakeProgram prog;
  uint32_t key = 0;
  ASSERT_EQ(map->update_program(&key, &prog, kAny), 0);
  {
    EpochGuard guard;
    ASSERT_NE(map->lookup(&key), nullptr);
    ASSERT_EQ(map->remove(&key), 0);
    EXPECT_EQ(prog.refs.load(), 2u);  // still referenced while a reader may tail-call it
  }
  synchronize();
  EXPECT_EQ(prog.refs.load(), 1u);
}

TEST_F(ProgArrayTest, UrefReleaseAndDestructionClearSlots) {
  MapHandle map = create_ok(make_attr(MapType::ProgArray, 4, 4, 3));
  FakeProgram prog;
  map->acquire_user();
  for (uint32_t key = 0; key < 3; ++key) ASSERT_EQ(map->update_program(&key, &prog, kAny), 0);
  EXPECT_EQ(prog.refs.load(), 4u);
  map->release_user();
  synchronize();
  EXPECT_EQ(prog.refs.load(), 1u);
  uint32_t key = 0;
  {
    EpochGuard guard;
    EXPECT_EQ(map->lookup(&key), nullptr);
  }
  ASSERT_EQ(map->update_program(&key, &prog, kAny), 0);
  map.reset();
  synchronize();
  EXPECT_EQ(prog.refs.load(), 1u);
}

TEST_F(ProgArrayTest, GetNextKeyLikeAnArray) {
  MapHandle map = create_ok(make_attr(MapType::ProgArray, 4, 4, 2));
  uint32_t next = 9, key = 0;
  ASSERT_EQ(map->get_next_key(nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  ASSERT_EQ(map->get_next_key(&key, &next), 0);
  EXPECT_EQ(next, 1u);
  key = 1;
  EXPECT_EQ(map->get_next_key(&key, &next), -ENOENT);
}

class MapInMapTest : public MapsTest, public ::testing::WithParamInterface<MapType> {
 protected:
  MapAttr outer_attr() {
    MapAttr outer = make_attr(GetParam(), 4, 4, 4);
    inner_template = make_attr(MapType::Hash, 4, 8, 16);
    outer.inner_template = std::make_shared<MapAttr>(inner_template);
    return outer;
  }
  MapAttr inner_template;
};

TEST_P(MapInMapTest, InnerMapsAreReferencedAndMatched) {
  MapHandle outer = create_ok(outer_attr());
  MapHandle inner = create_ok(inner_template);
  MapHandle inner2 = create_ok(inner_template);
  uint32_t key = 1;
  ASSERT_EQ(outer->update_inner_map(&key, inner.get(), kAny), 0);
  {
    EpochGuard guard;
    EXPECT_EQ(outer->lookup(&key), inner.get());  // programs get the Map* itself
    uint32_t missing = 2;
    EXPECT_EQ(outer->lookup(&missing), nullptr);
  }
  uint32_t id = 0;
  ASSERT_EQ(outer->user_lookup(&key, &id), 0);
  EXPECT_EQ(id, inner->id());
  EXPECT_EQ(inner->user_refs(), 0u);  // a plain reference, not a user one

  // The outer map's reference keeps the inner map alive after our handle goes.
  Map* raw_inner = inner.release();
  raw_inner->release();
  {
    EpochGuard guard;
    ASSERT_EQ(outer->lookup(&key), raw_inner);
    uint32_t inner_key = 5;
    uint64_t value = 55;
    EXPECT_EQ(raw_inner->update(&inner_key, &value, kAny), 0);  // still usable
  }
  // Replacing the slot drops that last reference.
  ASSERT_EQ(outer->update_inner_map(&key, inner2.get(), kAny), 0);
  ASSERT_EQ(outer->user_lookup(&key, &id), 0);
  EXPECT_EQ(id, inner2->id());
  ASSERT_EQ(outer->user_delete(&key), 0);
  EXPECT_EQ(outer->user_lookup(&key, &id), -ENOENT);
  EXPECT_NE(outer->user_delete(&key), 0);
}

TEST_P(MapInMapTest, MismatchedInnerMapsAreRejected) {
  MapHandle outer = create_ok(outer_attr());
  uint32_t key = 0;
  MapHandle wrong_type = create_ok(make_attr(MapType::Array, 4, 8, 16));
  MapHandle wrong_value = create_ok(make_attr(MapType::Hash, 4, 16, 16));
  MapHandle wrong_entries = create_ok(make_attr(MapType::Hash, 4, 8, 32));
  MapAttr with_timer = make_attr(MapType::Hash, 4, 24, 16);
  with_timer.record.timer_off = 8;
  MapHandle wrong_record = create_ok(with_timer);
  for (Map* bad : {wrong_type.get(), wrong_value.get(), wrong_entries.get(), wrong_record.get()}) {
    EXPECT_EQ(outer->update_inner_map(&key, bad, kAny), -EINVAL) << bad->name();
  }
  EXPECT_EQ(outer->update_inner_map(&key, nullptr, kAny), -EINVAL);
  uint32_t value = 0;
  EXPECT_EQ(outer->user_update(&key, &value, kAny), -EINVAL);
  EXPECT_EQ(outer->update(&key, &value, kAny), -EOPNOTSUPP);
}

TEST_P(MapInMapTest, InnerMapFlagAllowsOtherMaxEntries) {
  // BPF_F_INNER_MAP is an array flag: inner arrays of any size then fit the template.
  MapAttr outer = make_attr(GetParam(), 4, 4, 4);
  outer.inner_template =
      std::make_shared<MapAttr>(make_attr(MapType::Array, 4, 8, 16, kFlagInnerMap));
  MapHandle outer_map = create_ok(outer);
  MapHandle bigger = create_ok(make_attr(MapType::Array, 4, 8, 64, kFlagInnerMap));
  MapHandle bigger_without_flag = create_ok(make_attr(MapType::Array, 4, 8, 64));
  uint32_t key = 0;
  EXPECT_EQ(outer_map->update_inner_map(&key, bigger.get(), kAny), 0);
  EXPECT_EQ(outer_map->update_inner_map(&key, bigger_without_flag.get(), kAny), -EINVAL);
}

TEST_P(MapInMapTest, DestructionReleasesInnerMapsAndInnerTimersDieOnUrefRelease) {
  CountingHooks hooks;
  MapAttr outer = make_attr(GetParam(), 4, 4, 2);
  MapAttr inner_attr = make_attr(MapType::Array, 4, 24, 2);
  inner_attr.record.timer_off = 8;
  inner_attr.hooks = &hooks;
  outer.inner_template = std::make_shared<MapAttr>(inner_attr);
  MapHandle outer_map = create_ok(outer);
  Map* inner = *create_map(inner_attr);
  inner->acquire_user();
  uint32_t key = 1;
  ASSERT_EQ(outer_map->update_inner_map(&key, inner, kAny), 0);
  inner->release();       // only the outer slot holds a reference now
  inner->release_user();  // closing the last user handle kills the inner timers...
  EXPECT_EQ(hooks.count(), 2u);
  {
    EpochGuard guard;  // ...while the map stays reachable through the outer map
    EXPECT_EQ(outer_map->lookup(&key), inner);
  }
  outer_map.reset();  // outer destruction drops the inner map: its elements die once more
  EXPECT_EQ(hooks.count(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Outer, MapInMapTest,
                         ::testing::Values(MapType::ArrayOfMaps, MapType::HashOfMaps),
                         [](const auto& info) { return std::string(map_type_name(info.param)); });

using HashOfMapsTest = MapsTest;

TEST_F(HashOfMapsTest, FlagsAndCapacity) {
  MapAttr outer = make_attr(MapType::HashOfMaps, 4, 4, 1);
  outer.inner_template = std::make_shared<MapAttr>(make_attr(MapType::Array, 4, 4, 1));
  MapHandle map = create_ok(outer);
  MapHandle inner = create_ok(*outer.inner_template);
  uint32_t key = 7, other = 8;
  EXPECT_EQ(map->update_inner_map(&key, inner.get(), kExist), -ENOENT);
  ASSERT_EQ(map->update_inner_map(&key, inner.get(), kNoExist), 0);
  EXPECT_EQ(map->update_inner_map(&key, inner.get(), kNoExist), -EEXIST);
  EXPECT_EQ(map->update_inner_map(&other, inner.get(), kAny), -E2BIG);
  uint32_t next = 0;
  ASSERT_EQ(map->get_next_key(nullptr, &next), 0);
  EXPECT_EQ(next, 7u);
  ASSERT_EQ(map->remove(&key), 0);
  EXPECT_EQ(map->remove(&key), -ENOENT);
}

}  // namespace
}  // namespace hourglass::maps::testing
