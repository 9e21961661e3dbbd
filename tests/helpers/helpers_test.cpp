// The helper table and the helpers that need no map or timer: prototypes are complete and
// sorted, and each implementation returns what the kernel's would (values and error codes).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "common/run_context.h"
#include "helpers/helpers.h"
#include "helpers/impl.h"
#include "helpers/proto.h"

namespace hourglass::helpers {
namespace {

TEST(HelperTable, EveryEntryHasNameImplementationAndSortedId) {
  uint32_t previous = 0;
  for (const HelperProto* p = helper_table_begin(); p != helper_table_end(); ++p) {
    EXPECT_GT(p->id, previous) << p->name;
    previous = p->id;
    ASSERT_NE(p->name, nullptr);
    EXPECT_EQ(std::string(p->name).rfind("bpf_", 0), 0u) << p->name;
    EXPECT_NE(p->fn, nullptr) << p->name;
    EXPECT_EQ(find_helper(p->id), p);
  }
  EXPECT_EQ(find_helper(4), nullptr);  // bpf_probe_read: not provided
  EXPECT_EQ(find_helper(100000), nullptr);
}

TEST(HelperTable, TimerHelpersHaveTheKernelsIdsAndArgumentKinds) {
  const HelperProto* init = find_helper(169);
  ASSERT_NE(init, nullptr);
  EXPECT_STREQ(init->name, "bpf_timer_init");
  EXPECT_EQ(init->args[0], ArgType::PtrToTimer);
  EXPECT_EQ(init->args[1], ArgType::ConstMapPtr);
  const HelperProto* set_callback = find_helper(170);
  ASSERT_NE(set_callback, nullptr);
  EXPECT_EQ(set_callback->args[1], ArgType::PtrToFunc);
  EXPECT_EQ(set_callback->callback, CallbackKind::Timer);
  EXPECT_STREQ(find_helper(171)->name, "bpf_timer_start");
  EXPECT_STREQ(find_helper(172)->name, "bpf_timer_cancel");
  EXPECT_TRUE(find_helper(172)->gpl_only);
  ASSERT_NE(find_kfunc("bpf_wq_init"), nullptr);
  EXPECT_EQ(find_kfunc("bpf_wq_set_callback_impl")->callback, CallbackKind::Workqueue);
  EXPECT_EQ(find_kfunc("bpf_no_such_kfunc"), nullptr);
}

class TracePrintk : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.trace_sink = [this](std::string_view line) { lines_ += line; };
    run_.env = &env_;
    saved_ = current_run();
    current_run() = &run_;
  }
  void TearDown() override { current_run() = saved_; }
  int64_t printk(const char* fmt, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0) {
    return static_cast<int64_t>(impl::trace_printk(reinterpret_cast<uint64_t>(fmt),
                                                   std::strlen(fmt) + 1, a1, a2, a3));
  }
  HelperEnv env_;
  RunContext run_;
  RunContext* saved_ = nullptr;
  std::string lines_;
};

TEST_F(TracePrintk, FormatsTheKernelsConversions) {
  EXPECT_EQ(printk("%d %u %x\n", static_cast<uint32_t>(-5), 7, 255), 8);
  EXPECT_EQ(printk("%lld %llx %c%%\n", static_cast<uint64_t>(-1), 0xabcdefull, 'z'), 13);
  const char* word = "timer";
  EXPECT_GT(printk("%s!\n", reinterpret_cast<uint64_t>(word)), 0);
  EXPECT_EQ(lines_, "-5 7 ff\n-1 abcdef z%\ntimer!\n");
}

TEST_F(TracePrintk, RejectsWhatTheKernelRejects) {
  EXPECT_EQ(printk("%d %d %d %d\n", 1, 2, 3), -EINVAL);  // four conversions, three arguments
  EXPECT_EQ(printk("%q\n"), -EINVAL);
  EXPECT_EQ(printk("trailing %"), -EINVAL);
  const char unterminated[4] = {'a', 'b', 'c', 'd'};
  EXPECT_EQ(static_cast<int64_t>(impl::trace_printk(reinterpret_cast<uint64_t>(unterminated), 4, 0, 0, 0)),
            -EINVAL);
  EXPECT_EQ(lines_, "");
}

uint64_t count_calls(const CallbackTarget*, uint64_t index, uint64_t ctx, uint64_t, uint64_t, uint64_t) {
  auto* calls = reinterpret_cast<uint64_t*>(ctx);
  ++*calls;
  return index == 4 ? 1 : 0;  // stop after the fifth iteration
}

TEST(Loop, RunsUntilTheCallbackStopsAndChecksArguments) {
  CallbackTarget target;
  target.invoke = count_calls;
  uint64_t calls = 0;
  EXPECT_EQ(impl::loop(100, reinterpret_cast<uint64_t>(&target), reinterpret_cast<uint64_t>(&calls), 0, 0), 5u);
  EXPECT_EQ(calls, 5u);
  calls = 0;
  EXPECT_EQ(impl::loop(3, reinterpret_cast<uint64_t>(&target), reinterpret_cast<uint64_t>(&calls), 0, 0), 3u);
  EXPECT_EQ(static_cast<int64_t>(impl::loop(3, reinterpret_cast<uint64_t>(&target), 0, 1, 0)), -EINVAL);
  EXPECT_EQ(static_cast<int64_t>(impl::loop((1u << 23) + 1, reinterpret_cast<uint64_t>(&target), 0, 0, 0)), -E2BIG);
}

TEST(MiscHelpers, ClocksCpuAndRandom) {
  uint64_t t1 = impl::ktime_get_ns(0, 0, 0, 0, 0);
  uint64_t t2 = impl::ktime_get_ns(0, 0, 0, 0, 0);
  EXPECT_LE(t1, t2);
  EXPECT_GE(impl::ktime_get_boot_ns(0, 0, 0, 0, 0), t1);  // boottime includes suspend
  EXPECT_GT(impl::ktime_get_tai_ns(0, 0, 0, 0, 0), impl::ktime_get_ns(0, 0, 0, 0, 0));
  EXPECT_NEAR(static_cast<double>(impl::jiffies64(0, 0, 0, 0, 0)), static_cast<double>(t2 / 4'000'000), 1000.0);
  set_current_vcpu(3);
  EXPECT_EQ(impl::get_smp_processor_id(0, 0, 0, 0, 0), 3u);
  set_current_vcpu(0);
  EXPECT_EQ(impl::get_current_pid_tgid(0, 0, 0, 0, 0) >> 32, static_cast<uint64_t>(getpid()));
  std::set<uint64_t> values;
  for (int i = 0; i < 1000; ++i) {
    uint64_t v = impl::get_prandom_u32(0, 0, 0, 0, 0);
    EXPECT_LE(v, 0xffffffffull);
    values.insert(v);
  }
  EXPECT_GT(values.size(), 990u);  // 32-bit values: collisions in 1000 draws are rare
}

TEST(SpinLock, LockAndUnlockTheWord) {
  uint32_t word = 0;
  impl::spin_lock(reinterpret_cast<uint64_t>(&word), 0, 0, 0, 0);
  EXPECT_EQ(word, 1u);
  impl::spin_unlock(reinterpret_cast<uint64_t>(&word), 0, 0, 0, 0);
  EXPECT_EQ(word, 0u);
}

}  // namespace
}  // namespace hourglass::helpers
