// queue (FIFO) and stack (LIFO).
#include "test_util.h"

namespace hourglass::maps::testing {
namespace {

using QueueStackTest = MapsTest;

TEST_F(QueueStackTest, QueueIsFifoWithOverwrite) {
  MapHandle map = create_ok(make_attr(MapType::Queue, 0, 4, 3));
  uint32_t out = 0xdeadbeef;
  EXPECT_EQ(map->pop(&out), -ENOENT);
  EXPECT_EQ(out, 0u);  // cleared, as the kernel does: the verifier counts it as written
  out = 0xdeadbeef;
  EXPECT_EQ(map->peek(&out), -ENOENT);
  EXPECT_EQ(out, 0u);
  for (uint32_t v = 1; v <= 3; ++v) ASSERT_EQ(map->push(&v, kAny), 0);
  uint32_t v = 4;
  EXPECT_EQ(map->push(&v, kAny), -E2BIG);
  EXPECT_EQ(map->push(&v, kNoExist), -EINVAL);
  EXPECT_EQ(map->push(&v, 4), -EINVAL);
  EXPECT_EQ(map->element_count(), 3u);
  ASSERT_EQ(map->push(&v, kExist), 0);  // drops the oldest (1)
  ASSERT_EQ(map->peek(&out), 0);
  EXPECT_EQ(out, 2u);
  for (uint32_t expected : {2u, 3u, 4u}) {
    ASSERT_EQ(map->pop(&out), 0);
    EXPECT_EQ(out, expected);
  }
  EXPECT_EQ(map->pop(&out), -ENOENT);
}

TEST_F(QueueStackTest, StackIsLifoWithOverwriteOfOldest) {
  MapHandle map = create_ok(make_attr(MapType::Stack, 0, 4, 3));
  for (uint32_t v = 1; v <= 3; ++v) ASSERT_EQ(map->push(&v, kAny), 0);
  uint32_t v = 4, out = 0;
  EXPECT_EQ(map->push(&v, kAny), -E2BIG);
  ASSERT_EQ(map->push(&v, kExist), 0);  // overwrites the oldest (1), as the kernel does
  ASSERT_EQ(map->peek(&out), 0);
  EXPECT_EQ(out, 4u);
  for (uint32_t expected : {4u, 3u, 2u}) {
    ASSERT_EQ(map->pop(&out), 0);
    EXPECT_EQ(out, expected);
  }
  EXPECT_EQ(map->pop(&out), -ENOENT);
}

TEST_F(QueueStackTest, WrapsAroundManyTimes) {
  MapHandle map = create_ok(make_attr(MapType::Queue, 0, 8, 5));
  uint64_t next_in = 0, next_out = 0, out = 0;
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(map->push(&next_in, kAny), 0);
      ++next_in;
    }
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(map->pop(&out), 0);
      ASSERT_EQ(out, next_out++);
    }
  }
  EXPECT_EQ(map->element_count(), 0u);
}

TEST_F(QueueStackTest, ApplicationPathsAndUnsupportedOps) {
  MapHandle map = create_ok(make_attr(MapType::Queue, 0, 4, 2));
  uint32_t v = 9, out = 0;
  ASSERT_EQ(map->user_update(nullptr, &v, kAny), 0);  // = push
  ASSERT_EQ(map->user_lookup(nullptr, &out), 0);      // = peek
  EXPECT_EQ(out, 9u);
  EXPECT_EQ(map->element_count(), 1u);
  EXPECT_EQ(map->user_delete(nullptr), -EINVAL);
  EXPECT_EQ(map->get_next_key(nullptr, &out), -EINVAL);
  {
    EpochGuard guard;
    EXPECT_EQ(map->lookup(nullptr), nullptr);
  }
  EXPECT_EQ(map->update(nullptr, &v, kAny), -EINVAL);
}

}  // namespace
}  // namespace hourglass::maps::testing
