// Return codes of the four timer helpers (the spec's table, Linux 6.10-6.19 column) and the
// program references they take and drop.
#include <cerrno>

#include "timer_test_util.h"

namespace hourglass::timers::testing {
namespace {

using maps::MapType;

class TimerApiTest : public TimersTest {
 protected:
  std::unique_ptr<TimerEngine> engine = TimerEngine::create(virtual_options());
  FakeProgram prog;
  FakeCallback noop{prog, [](maps::Map*, const void*, void*) {}};
  MapHandle map = make_map(*engine, MapType::Array, 8);
};

TEST_F(TimerApiTest, InitAcceptsOnlyRealtimeMonotonicBoottime) {
  EXPECT_EQ(engine->timer_init(timer_of(element(*map, 0)), map.get(), kClockRealtime), 0);
  EXPECT_EQ(engine->timer_init(timer_of(element(*map, 1)), map.get(), kClockMonotonic), 0);
  EXPECT_EQ(engine->timer_init(timer_of(element(*map, 2)), map.get(), kClockBoottime), 0);
  void* fresh = timer_of(element(*map, 3));
  for (uint64_t bad : {2ull, 4ull, 6ull, 8ull, 11ull, 15ull, 16ull, 17ull, 1ull << 32}) {
    EXPECT_EQ(engine->timer_init(fresh, map.get(), bad), -EINVAL) << bad;
  }
  EXPECT_EQ(engine->timer_init(fresh, map.get(), kClockMonotonic), 0);
}

TEST_F(TimerApiTest, DoubleInitIsBusy) {
  void* timer = timer_of(element(*map, 0));
  ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
  EXPECT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), -EBUSY);
  EXPECT_EQ(engine->timer_init(timer, map.get(), kClockBoottime), -EBUSY);
}

TEST_F(TimerApiTest, InitWithoutUserReferenceIsPermAndLeavesFieldClear) {
  MapHandle orphan = make_map(*engine, MapType::Array, 2);
  orphan->release_user();  // user count 0: no fd, no pin
  Value* v = element(*orphan, 0);
  EXPECT_EQ(engine->timer_init(timer_of(v), orphan.get(), kClockMonotonic), -EPERM);
  EXPECT_EQ(v->timer[0], 0u);  // rolled back
  EXPECT_EQ(engine->timer_set_callback(timer_of(v), noop.target(), &prog), -EINVAL);
  EXPECT_EQ(engine->timer_start(timer_of(v), 10, 0), -EINVAL);
  orphan->acquire_user();
  EXPECT_EQ(engine->timer_init(timer_of(v), orphan.get(), kClockMonotonic), 0);
}

TEST_F(TimerApiTest, HelpersOnUninitializedTimerAreInvalid) {
  void* timer = timer_of(element(*map, 0));
  EXPECT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), -EINVAL);
  EXPECT_EQ(engine->timer_start(timer, 0, 0), -EINVAL);
  EXPECT_EQ(engine->timer_cancel(timer), -EINVAL);
  EXPECT_EQ(prog.refs.load(), 1u);
}

TEST_F(TimerApiTest, StartRejectsUnknownFlagsAndMissingCallback) {
  void* timer = timer_of(element(*map, 0));
  ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
  EXPECT_EQ(engine->timer_start(timer, 100, 0), -EINVAL);  // no callback yet
  ASSERT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), 0);
  EXPECT_EQ(engine->timer_start(timer, 100, 1u << 2), -EINVAL);
  EXPECT_EQ(engine->timer_start(timer, 100, ~0ull), -EINVAL);
  EXPECT_EQ(engine->timer_start(timer, 100, kTimerAbs | kTimerCpuPin), 0);
  EXPECT_EQ(engine->timer_start(timer, 100, kTimerCpuPin), 0);
  EXPECT_EQ(engine->timer_start(timer, 100, 0), 0);
  EXPECT_EQ(engine->armed_count(), 1u);  // re-arming moves the one timer
}

TEST_F(TimerApiTest, CancelReportsWhetherQueuedAndClearsCallback) {
  void* timer = timer_of(element(*map, 0));
  ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
  EXPECT_EQ(engine->timer_cancel(timer), 0);  // initialised, never armed
  ASSERT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), 0);
  EXPECT_EQ(prog.refs.load(), 2u);
  ASSERT_EQ(engine->timer_start(timer, 1000, 0), 0);
  EXPECT_EQ(engine->timer_cancel(timer), 1);
  EXPECT_EQ(prog.refs.load(), 1u);  // cancel drops the program reference
  EXPECT_EQ(engine->armed_count(), 0u);
  EXPECT_EQ(engine->timer_start(timer, 1000, 0), -EINVAL);  // callback cleared
  EXPECT_EQ(engine->timer_cancel(timer), 0);
  ASSERT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), 0);
  EXPECT_EQ(engine->timer_start(timer, 1000, 0), 0);  // no re-init needed
  EXPECT_EQ(engine->timer_cancel(timer), 1);
  ASSERT_TRUE(engine->advance(10'000).ok());
  EXPECT_EQ(engine->fired_total(), 0u);
}

TEST_F(TimerApiTest, SetCallbackHoldsOneReferenceOnTheCallingProgram) {
  FakeProgram other("other_prog");
  FakeCallback other_cb{other, [](maps::Map*, const void*, void*) {}};
  void* timer = timer_of(element(*map, 0));
  ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
  ASSERT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), 0);
  ASSERT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), 0);
  EXPECT_EQ(prog.refs.load(), 2u);  // same program: no second reference
  ASSERT_EQ(engine->timer_set_callback(timer, other_cb.target(), &other), 0);
  EXPECT_EQ(prog.refs.load(), 1u);  // swapped: the old one is put
  EXPECT_EQ(other.refs.load(), 2u);
  EXPECT_EQ(engine->timer_cancel(timer), 0);  // `other` dies with this scope
  EXPECT_EQ(other.refs.load(), 1u);
}

TEST_F(TimerApiTest, SetCallbackOnDyingProgramIsNoent) {
  FakeProgram dying;
  dying.refs = 0;
  void* timer = timer_of(element(*map, 0));
  ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
  EXPECT_EQ(engine->timer_set_callback(timer, noop.target(), &dying), -ENOENT);
}

TEST_F(TimerApiTest, ProgramReferenceDroppedOnArrayUpdateAndUserRelease) {
  void* timer = timer_of(element(*map, 0));
  ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
  ASSERT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), 0);
  ASSERT_EQ(engine->timer_start(timer, 1000, 0), 0);
  EXPECT_EQ(prog.refs.load(), 2u);
  Value replacement{};
  uint32_t key = 0;
  ASSERT_EQ(map->user_update(&key, &replacement, maps::kAny), 0);
  EXPECT_EQ(prog.refs.load(), 1u);
  EXPECT_EQ(engine->armed_count(), 0u);
  EXPECT_EQ(engine->timer_start(timer, 1000, 0), -EINVAL);  // uninitialised again
  ASSERT_EQ(engine->timer_init(timer, map.get(), kClockMonotonic), 0);
  ASSERT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), 0);
  ASSERT_EQ(engine->timer_start(timer, 1000, 0), 0);
  map->release_user();  // "Ctrl-C stops timers"
  EXPECT_EQ(prog.refs.load(), 1u);
  EXPECT_EQ(engine->armed_count(), 0u);
  EXPECT_EQ(engine->timer_cancel(timer), -EINVAL);
  map->acquire_user();
}

TEST_F(TimerApiTest, ProgramReferenceDroppedOnHashDeleteUpdateAndMapDestroy) {
  MapHandle hash = make_map(*engine, MapType::Hash, 16);
  for (uint32_t k = 0; k < 3; ++k) {
    void* timer = timer_of(element(*hash, k));
    ASSERT_EQ(engine->timer_init(timer, hash.get(), kClockMonotonic), 0);
    ASSERT_EQ(engine->timer_set_callback(timer, noop.target(), &prog), 0);
    ASSERT_EQ(engine->timer_start(timer, 1000, 0), 0);
  }
  EXPECT_EQ(prog.refs.load(), 4u);  // each timer holds its own reference
  uint32_t k0 = 0, k1 = 1;
  ASSERT_EQ(hash->user_delete(&k0), 0);
  EXPECT_EQ(prog.refs.load(), 3u);
  Value replacement{};
  ASSERT_EQ(hash->user_update(&k1, &replacement, maps::kExist), 0);
  EXPECT_EQ(prog.refs.load(), 2u);
  EXPECT_EQ(engine->armed_count(), 1u);
  hash->release_user();
  hash.reset();  // destroy
  EXPECT_EQ(prog.refs.load(), 1u);
  EXPECT_EQ(engine->armed_count(), 0u);
}

TEST_F(TimerApiTest, ListTimersDescribesArmedTimers) {
  MapHandle hash = make_map(*engine, MapType::Hash, 4);
  FakeCallback named{prog, [](maps::Map*, const void*, void*) {}, "my_callback"};
  void* timer = timer_of(element(*hash, 42));
  ASSERT_EQ(engine->timer_init(timer, hash.get(), kClockBoottime), 0);
  ASSERT_EQ(engine->timer_set_callback(timer, named.target(), &prog), 0);
  const uint64_t now = engine->now(kClockBoottime);
  ASSERT_EQ(engine->timer_start(timer, 5000, 0), 0);
  auto timers = engine->list_timers();
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].map_id, hash->id());
  EXPECT_EQ(timers[0].map_name, "timer_map");
  ASSERT_EQ(timers[0].key.size(), 4u);
  uint32_t key;
  std::memcpy(&key, timers[0].key.data(), 4);
  EXPECT_EQ(key, 42u);
  EXPECT_EQ(timers[0].clock_id, kClockBoottime);
  EXPECT_EQ(timers[0].expires_ns, now + 5000);
  EXPECT_EQ(timers[0].callback, "my_callback");
  EXPECT_EQ(timers[0].program, "fake_prog");
  EXPECT_EQ(timers[0].fire_count, 0u);
  EXPECT_EQ(timers[0].cpu, 0u);
  EXPECT_EQ(engine->timer_cancel(timer), 1);
  EXPECT_TRUE(engine->list_timers().empty());
}

}  // namespace
}  // namespace hourglass::timers::testing
