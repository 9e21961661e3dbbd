// bpf_wq kfuncs: return codes, callbacks on the pool (real time) or inline (virtual time), and
// program references dropped on element free.
#include <cerrno>

#include "timer_test_util.h"

namespace hourglass::timers::testing {
namespace {

using maps::MapType;

class WqTest : public TimersTest {
 protected:
  FakeProgram prog;
};

TEST_F(WqTest, ReturnCodes) {
  auto engine = TimerEngine::create(virtual_options());
  MapHandle map = make_map(*engine, MapType::Array, 2, /*with_wq=*/true);
  FakeCallback cb{prog, [](maps::Map*, const void*, void*) {}};
  void* wq = wq_of(element(*map, 0));
  EXPECT_EQ(engine->wq_set_callback(wq, cb.target(), 0, &prog), -EINVAL);  // uninitialised
  EXPECT_EQ(engine->wq_start(wq, 0), -EINVAL);
  EXPECT_EQ(engine->wq_init(wq, map.get(), 1), -EINVAL);
  EXPECT_EQ(engine->wq_init(wq, map.get(), 0), 0);
  EXPECT_EQ(engine->wq_init(wq, map.get(), 0), -EBUSY);
  EXPECT_EQ(engine->wq_start(wq, 0), -EINVAL);  // no callback
  EXPECT_EQ(engine->wq_set_callback(wq, cb.target(), 1, &prog), -EINVAL);
  EXPECT_EQ(engine->wq_set_callback(wq, cb.target(), 0, &prog), 0);
  EXPECT_EQ(prog.refs.load(), 2u);
  EXPECT_EQ(engine->wq_start(wq, 1), -EINVAL);
  EXPECT_EQ(engine->wq_start(wq, 0), 0);
  // The timer in the same value is independent.
  EXPECT_EQ(engine->timer_start(timer_of(element(*map, 0)), 0, 0), -EINVAL);
  map->release_user();
  EXPECT_EQ(prog.refs.load(), 1u);
  EXPECT_EQ(engine->wq_start(wq, 0), -EINVAL);
  EXPECT_EQ(engine->wq_init(wq, map.get(), 0), -EPERM);
  EXPECT_EQ(element(*map, 0)->wq[0], 0u);
  map->acquire_user();
  ASSERT_TRUE(engine->advance(0).ok());  // the pending work was dropped with the element
}

TEST_F(WqTest, VirtualTimeRunsWorkInlineOnAdvance) {
  auto engine = TimerEngine::create(virtual_options());
  MapHandle map = make_map(*engine, MapType::Hash, 4, true);
  int runs = 0;
  uint32_t seen_key = 0;
  FakeCallback cb{prog, [&](maps::Map*, const void* key, void*) {
                    ++runs;
                    std::memcpy(&seen_key, key, 4);
                  }};
  void* wq = wq_of(element(*map, 7));
  ASSERT_EQ(engine->wq_init(wq, map.get(), 0), 0);
  ASSERT_EQ(engine->wq_set_callback(wq, cb.target(), 0, &prog), 0);
  ASSERT_EQ(engine->wq_start(wq, 0), 0);
  ASSERT_EQ(engine->wq_start(wq, 0), 0);  // already pending: runs once
  EXPECT_EQ(runs, 0);
  ASSERT_TRUE(engine->advance(0).ok());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(seen_key, 7u);
  uint32_t key = 7;
  ASSERT_EQ(map->user_delete(&key), 0);
  EXPECT_EQ(prog.refs.load(), 1u);
}

TEST_F(WqTest, RealTimePoolRunsWorkAndStartsFromCallbacks) {
  auto engine = TimerEngine::create(real_options(2));
  MapHandle map = make_map(*engine, MapType::Array, 1, true);
  std::atomic<int> runs{0};
  FakeCallback cb{prog, [&](maps::Map*, const void*, void* value) {
                    if (++runs < 5) engine->wq_start(wq_of(static_cast<Value*>(value)), 0);
                  }};
  void* wq = wq_of(element(*map, 0));
  ASSERT_EQ(engine->wq_init(wq, map.get(), 0), 0);
  ASSERT_EQ(engine->wq_set_callback(wq, cb.target(), 0, &prog), 0);
  ASSERT_EQ(engine->wq_start(wq, 0), 0);
  ASSERT_TRUE(eventually([&] { return runs.load() == 5; }));
  engine->quiesce();
  EXPECT_EQ(runs.load(), 5);
}

}  // namespace
}  // namespace hourglass::timers::testing
