// create_map() validation, modelled on BPF_MAP_CREATE.
#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

using CreateMap = MapsTest;

TEST_F(CreateMap, ZeroSizesAndEntriesAreEinval) {
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 0, 8, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 4, 0, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 4, 8, 0)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 0, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8, 0)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::PercpuArray, 4, 0, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Queue, 0, 0, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Stack, 0, 8, 0)), EINVAL);
}

TEST_F(CreateMap, ArrayKeySizeMustBeFour) {
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 8, 8, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 2, 8, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::PercpuArray, 8, 8, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8, 4)), 0);
}

TEST_F(CreateMap, QueueAndStackNeedKeySizeZero) {
  EXPECT_EQ(create_errno(make_attr(MapType::Queue, 4, 8, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Stack, 4, 8, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Queue, 0, 8, 4)), 0);
  EXPECT_EQ(create_errno(make_attr(MapType::Stack, 0, 8, 4)), 0);
}

TEST_F(CreateMap, UnknownFlagsAreEinval) {
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 4, 8, 4, 1u << 20)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8, 4, 1u << 20)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Queue, 0, 8, 4, kFlagNoPrealloc)), EINVAL);
  // Read-only and write-only together.
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8, 4, kFlagRdonlyProg | kFlagWronlyProg)),
            EINVAL);
}

TEST_F(CreateMap, NoPreallocOnlyForPlainHashes) {
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 4, 8, 4, kFlagNoPrealloc)), 0);
  EXPECT_EQ(create_errno(make_attr(MapType::PercpuHash, 4, 8, 4, kFlagNoPrealloc)), 0);
  EXPECT_EQ(create_errno(make_attr(MapType::LruHash, 4, 8, 4, kFlagNoPrealloc)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::LruPercpuHash, 4, 8, 4, kFlagNoPrealloc)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8, 4, kFlagNoPrealloc)), EINVAL);
}

TEST_F(CreateMap, ArrayAcceptsMmapableAndRdonly) {
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8, 4, kFlagMmapable)), 0);
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8, 4, kFlagRdonlyProg)), 0);
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8, 1, kFlagMmapable | kFlagRdonlyProg)), 0);
  EXPECT_EQ(create_errno(make_attr(MapType::PercpuArray, 4, 8, 4, kFlagMmapable)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 4, 8, 4, kFlagMmapable)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 4, 8, 4, kFlagNoCommonLru)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::LruHash, 4, 8, 4, kFlagNoCommonLru)), 0);
}

TEST_F(CreateMap, AbsurdSizesAreE2big) {
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 8u << 20, 1)), E2BIG);
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 4, 8u << 20, 1)), E2BIG);
  EXPECT_EQ(create_errno(make_attr(MapType::Hash, 1024, 8, 1)), E2BIG);  // key above stack size
  EXPECT_EQ(create_errno(make_attr(MapType::PercpuArray, 4, 64u << 10, 1)), E2BIG);
  EXPECT_EQ(create_errno(make_attr(MapType::PercpuHash, 4, 64u << 10, 1)), E2BIG);
  // Total storage above the documented 4 GiB cap.
  EXPECT_EQ(create_errno(make_attr(MapType::Array, 4, 1u << 20, 8192)), E2BIG);
  EXPECT_EQ(create_errno(make_attr(MapType::Queue, 0, 1u << 20, 8192)), E2BIG);
  EXPECT_EQ(create_errno(make_attr(MapType::Queue, 0, 16u << 20, 1)), E2BIG);
}

TEST_F(CreateMap, TimerOnlyInArrayHashLru) {
  for (MapType type : {MapType::Array, MapType::Hash, MapType::LruHash}) {
    MapAttr attr = make_attr(type, 4, 32, 4);
    attr.record.timer_off = 8;
    EXPECT_EQ(create_errno(attr), 0) << map_type_name(type);
    attr.record.timer_off = -1;
    attr.record.wq_off = 16;
    EXPECT_EQ(create_errno(attr), 0) << map_type_name(type);
  }
  for (MapType type : {MapType::PercpuArray, MapType::PercpuHash, MapType::LruPercpuHash}) {
    MapAttr attr = make_attr(type, 4, 32, 4);
    attr.record.timer_off = 8;
    EXPECT_EQ(create_errno(attr), EOPNOTSUPP) << map_type_name(type);
    attr.record.timer_off = -1;
    attr.record.wq_off = 8;
    EXPECT_EQ(create_errno(attr), EOPNOTSUPP) << map_type_name(type);
  }
  for (MapType type : {MapType::Queue, MapType::Stack}) {
    MapAttr attr = make_attr(type, 0, 32, 4);
    attr.record.timer_off = 8;
    EXPECT_EQ(create_errno(attr), EOPNOTSUPP) << map_type_name(type);
  }
}

TEST_F(CreateMap, TimerInRdonlyProgMapIsEacces) {
  MapAttr attr = make_attr(MapType::Array, 4, 32, 4, kFlagRdonlyProg);
  attr.record.timer_off = 8;
  EXPECT_EQ(create_errno(attr), EACCES);
}

TEST_F(CreateMap, SpinLockOnlyInHashAndArray) {
  for (MapType type : {MapType::Array, MapType::Hash}) {
    MapAttr attr = make_attr(type, 4, 16, 4);
    attr.record.spin_lock_off = 4;
    EXPECT_EQ(create_errno(attr), 0) << map_type_name(type);
  }
  for (MapType type :
       {MapType::LruHash, MapType::LruPercpuHash, MapType::PercpuHash, MapType::PercpuArray}) {
    MapAttr attr = make_attr(type, 4, 16, 4);
    attr.record.spin_lock_off = 4;
    EXPECT_EQ(create_errno(attr), EINVAL) << map_type_name(type);
  }
}

TEST_F(CreateMap, SpecialFieldMustFitTheValue) {
  MapAttr attr = make_attr(MapType::Array, 4, 16, 4);
  attr.record.timer_off = 8;  // 8 + 16 > 16
  EXPECT_EQ(create_errno(attr), EINVAL);
  attr.record.timer_off = 4;  // misaligned
  attr.value_size = 32;
  EXPECT_EQ(create_errno(attr), EINVAL);
}

TEST_F(CreateMap, MapInMapNeedsTemplateAndFdSizedValues) {
  MapAttr outer = make_attr(MapType::ArrayOfMaps, 4, 4, 4);
  EXPECT_EQ(create_errno(outer), EINVAL);
  outer.inner_template = std::make_shared<MapAttr>(make_attr(MapType::Array, 4, 8, 2));
  EXPECT_EQ(create_errno(outer), 0);
  outer.value_size = 8;
  EXPECT_EQ(create_errno(outer), EINVAL);
  MapAttr hash_outer = make_attr(MapType::HashOfMaps, 4, 4, 4);
  EXPECT_EQ(create_errno(hash_outer), EINVAL);
  hash_outer.inner_template = outer.inner_template;
  EXPECT_EQ(create_errno(hash_outer), 0);
  // Only one level of nesting.
  outer.value_size = 4;
  hash_outer.inner_template = std::make_shared<MapAttr>(outer);
  EXPECT_EQ(create_errno(hash_outer), EINVAL);
}

TEST_F(CreateMap, ProgArrayNeedsFdSizedValues) {
  EXPECT_EQ(create_errno(make_attr(MapType::ProgArray, 4, 8, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::ProgArray, 4, 4, 4, kFlagRdonlyProg)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::ProgArray, 4, 4, 4)), 0);
}

TEST_F(CreateMap, UnknownAndUnsupportedTypes) {
  EXPECT_EQ(create_errno(make_attr(static_cast<MapType>(999), 4, 4, 4)), EINVAL);
  EXPECT_EQ(create_errno(make_attr(MapType::RingBuf, 0, 0, 4096)), EOPNOTSUPP);
}

TEST_F(CreateMap, IdsAreUniqueAndNamesKnown) {
  MapHandle a = create_ok(make_attr(MapType::Array, 4, 4, 1));
  MapHandle b = create_ok(make_attr(MapType::Hash, 4, 4, 1));
  EXPECT_NE(a->id(), b->id());
  EXPECT_STREQ(map_type_name(MapType::LruPercpuHash), "lru_percpu_hash");
  EXPECT_STREQ(map_type_name(a->type()), "array");
}

TEST_F(CreateMap, UserValueSizeRoundsPerCpuSlots) {
  MapAttr attr = make_attr(MapType::PercpuArray, 4, 12, 2);
  attr.ncpus = 3;
  MapHandle map = create_ok(attr);
  EXPECT_EQ(map->user_value_size(), 16u * 3);
  MapHandle plain = create_ok(make_attr(MapType::Array, 4, 12, 2));
  EXPECT_EQ(plain->user_value_size(), 12u);
}

TEST(FieldRecordTest, OverlapsHidden) {
  FieldRecord record;
  record.timer_off = 8;
  record.spin_lock_off = 24;
  EXPECT_FALSE(record.overlaps_hidden(0, 8));
  EXPECT_TRUE(record.overlaps_hidden(4, 5));
  EXPECT_TRUE(record.overlaps_hidden(23, 1));
  EXPECT_FALSE(record.overlaps_hidden(28, 4));
  EXPECT_TRUE(record.overlaps_hidden(26, 1));
}

TEST(FieldRecordTest, CopyValueSkipsEveryHiddenField) {
  FieldRecord record;
  record.timer_off = 8;
  record.wq_off = 32;
  record.spin_lock_off = 4;
  uint8_t dst[56], src[56];
  std::memset(dst, 0x11, sizeof(dst));
  std::memset(src, 0x22, sizeof(src));
  copy_value(record, dst, src, sizeof(dst));
  for (size_t i = 0; i < sizeof(dst); ++i) {
    bool hidden = (i >= 4 && i < 24) || (i >= 32 && i < 48);
    EXPECT_EQ(dst[i], hidden ? 0x11 : 0x22) << "byte " << i;
  }
  zero_hidden(record, src);
  for (size_t i = 0; i < sizeof(src); ++i) {
    bool hidden = (i >= 4 && i < 24) || (i >= 32 && i < 48);
    EXPECT_EQ(src[i], hidden ? 0 : 0x22) << "byte " << i;
  }
}

}  // namespace
}  // namespace hourglass::maps::testing
