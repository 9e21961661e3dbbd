// Issue 2 features end to end through the public API: every relocation kind (map references,
// global data in .data/.rodata/.bss/.data.*, bpf-to-bpf calls, function pointers), the helpers,
// tail calls with the kernel's limit, map-in-map and prog_array static initialisers.
#include <cstring>
#include <mutex>
#include <thread>

#include "maps/map.h"
#include "vm/vm.h"
#include "test_support.h"

namespace hourglass::testing {
namespace {

class RuntimeFeatures : public ::testing::Test {
 protected:
  void SetUp() override {
    RuntimeOptions options;
    options.ncpus = 4;
    options.engine = test_engine();
    options.trace_sink = [this](std::string_view line) {
      std::lock_guard lock(trace_mutex_);
      trace_ += line;
    };
    auto runtime = Runtime::create(options);
    ASSERT_TRUE(runtime.ok());
    runtime_ = std::move(*runtime);
    object_ = load(*runtime_, "runtime_features");
    ASSERT_FALSE(object_.programs().empty());
  }
  std::unique_ptr<Runtime> runtime_;
  Object object_;
  std::mutex trace_mutex_;
  std::string trace_;
};

std::vector<uint8_t> ether_frame(uint16_t proto) {
  std::vector<uint8_t> frame(64, 0);
  frame[12] = proto >> 8;
  frame[13] = proto & 0xff;
  return frame;
}

TEST_F(RuntimeFeatures, XdpCountsPacketsAndReturnsVerdicts) {
  const ProgramHandle* prog = object_.program("count_protocols");
  ASSERT_NE(prog, nullptr);
  EXPECT_EQ(prog->type_name(), std::string("xdp"));
  TestRunOptions run;
  run.data_in = ether_frame(0x0800);
  run.repeat = 3;
  auto result = prog->test_run(run);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->retval, 2u);  // XDP_PASS
  EXPECT_EQ(result->data_out, run.data_in);
  run.data_in = ether_frame(0x86dd);
  run.repeat = 1;
  EXPECT_EQ(prog->test_run(run)->retval, 1u);  // XDP_DROP
  run.data_in.resize(10);
  EXPECT_EQ(prog->test_run(run)->retval, 0u);  // XDP_ABORTED: too short

  MapHandle counts = object_.map("proto_count");
  uint32_t ipv4 = 0x0800, ipv6 = 0x86dd;
  auto v4 = counts.lookup(&ipv4);
  ASSERT_TRUE(v4.ok());
  uint64_t n;
  std::memcpy(&n, v4->data(), 8);
  EXPECT_EQ(n, 3u);
  std::memcpy(&n, counts.lookup(&ipv6)->data(), 8);
  EXPECT_EQ(n, 1u);
}

TEST_F(RuntimeFeatures, UninitialisedStackReadsAsZeros) {
  // lookup_padded passes a key whose 7 padding bytes it never wrote (clang leaves them so). The
  // verifier accepts it, as the kernel does for a privileged loader, and flags the function;
  // its frame then starts zeroed, so the key matches the application's zero-padded one even
  // right after dirty_stack filled this thread's stack with ones.
  Object object = load(*runtime_, "uninit_stack");
  const ProgramHandle* lookup = object.program("lookup_padded");
  const ProgramHandle* dirty = object.program("dirty_stack");
  ASSERT_NE(lookup, nullptr);
  ASSERT_NE(dirty, nullptr);
  ASSERT_EQ(lookup->verifier_report().zeroed_frames.size(), 1u);
  EXPECT_EQ(lookup->verifier_report().zeroed_frames[0].first, 0u);
  EXPECT_GE(lookup->verifier_report().zeroed_frames[0].second, 16u);
  EXPECT_TRUE(dirty->verifier_report().zeroed_frames.empty());
  struct Key {
    uint8_t tag;
    uint8_t padding[7];
    uint64_t id;
  } key{1, {}, 42};
  const uint64_t value = 7;
  ASSERT_TRUE(object.map("by_key").update(&key, &value).ok());
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(run(object, "dirty_stack"), -1);
    EXPECT_EQ(run(object, "lookup_padded"), 7) << round;
  }
}

TEST_F(RuntimeFeatures, GlobalsInEveryDataSectionAndSubprogramCalls) {
  EXPECT_EQ(run(object_, "globals"), 0);
  EXPECT_EQ(global<uint64_t>(object_, "bss_var"), 107u);
  EXPECT_EQ(global<uint64_t>(object_, "data_var"), 101u);
  EXPECT_EQ(global<uint64_t>(object_, "custom_var"), 10u);
  EXPECT_EQ(global<uint64_t>(object_, "rodata_constant"), 7u);
  uint64_t seven = 70;
  ASSERT_TRUE(object_.write_global("data_var", &seven, sizeof seven).ok());
  EXPECT_EQ(run(object_, "globals"), 0);
  EXPECT_EQ(global<uint64_t>(object_, "bss_var"), 77u);
}

TEST_F(RuntimeFeatures, LoopAndForEachCallbacks) {
  EXPECT_EQ(run(object_, "callbacks"), 10);
  EXPECT_EQ(global<uint64_t>(object_, "loop_sum"), 45u);              // 0..9
  EXPECT_EQ(global<uint64_t>(object_, "foreach_sum"), 280u);          // 0+10+..+70
}

TEST_F(RuntimeFeatures, TailCallsStopAtTheKernelLimit) {
  // Without slot 1 the chain is entry -> target once.
  EXPECT_EQ(run(object_, "tail_entry"), 1);
  EXPECT_EQ(global<int>(object_, "tail_count"), 1);
  // Point slot 1 at tail_target itself: it tail-calls itself until the limit of 33 tail calls.
  const ProgramHandle* target = object_.program("tail_target");
  ASSERT_NE(target, nullptr);
  uint32_t one = 1;
  ASSERT_EQ(object_.map("jump_table").raw()->update_program(&one, target->raw(), 0), 0);
  int zero = 0;
  ASSERT_TRUE(object_.write_global("tail_count", &zero, sizeof zero).ok());
  EXPECT_EQ(run(object_, "tail_entry"), 1);
  EXPECT_EQ(global<int>(object_, "tail_count"), 33);
}

TEST_F(RuntimeFeatures, PerCpuSlotsAndClocks) {
  for (uint32_t cpu = 0; cpu < 4; ++cpu) EXPECT_EQ(run(object_, "percpu_and_time", cpu), 0);
  EXPECT_EQ(run(object_, "percpu_and_time", 2), 0);
  uint32_t zero = 0;
  auto all = object_.map("per_cpu").lookup(&zero);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u * 8u);  // one 8-byte slot per virtual CPU
  uint64_t slots[4];
  std::memcpy(slots, all->data(), sizeof slots);
  EXPECT_EQ(slots[0], 1u);
  EXPECT_EQ(slots[1], 2u);
  EXPECT_EQ(slots[2], 6u);  // twice on cpu 2
  EXPECT_EQ(slots[3], 4u);
}

TEST_F(RuntimeFeatures, QueuePushPeekPop) {
  EXPECT_EQ(run(object_, "queue_ops"), 0);
  EXPECT_EQ(global<uint64_t>(object_, "pops"), 4u);
}

TEST_F(RuntimeFeatures, SpinLockFromManyThreads) {
  const ProgramHandle* prog = object_.program("spin_lock_add");
  ASSERT_NE(prog, nullptr);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([prog, t] {
      TestRunOptions run;
      run.repeat = 2000;
      run.cpu = t;
      EXPECT_TRUE(prog->test_run(run).ok());
    });
  }
  for (auto& thread : threads) thread.join();
  uint32_t zero = 0;
  auto value = object_.map("locked_map").lookup(&zero);
  ASSERT_TRUE(value.ok());
  uint64_t total;
  std::memcpy(&total, value->data() + 8, 8);
  EXPECT_EQ(total, 8000u);
}

TEST_F(RuntimeFeatures, MapInMapStaticInitialisers) {
  EXPECT_EQ(run(object_, "map_in_map"), 0);
  uint32_t zero = 0;
  auto value = object_.map("inner_b").lookup(&zero);
  ASSERT_TRUE(value.ok());
  uint64_t v;
  std::memcpy(&v, value->data(), 8);
  EXPECT_EQ(v, 77u);
  uint32_t one = 1;
  auto inner_id = object_.map("outer").lookup(&one);
  ASSERT_TRUE(inner_id.ok());
  uint32_t id;
  std::memcpy(&id, inner_id->data(), 4);
  EXPECT_EQ(id, object_.map("inner_b").id());
}

TEST_F(RuntimeFeatures, TracePrintkGoesToTheSink) {
  EXPECT_EQ(run(object_, "print"), static_cast<int64_t>(std::strlen("hello 42 timers\n")));
  std::lock_guard lock(trace_mutex_);
  EXPECT_EQ(trace_, "hello 42 timers\n");
}

TEST_F(RuntimeFeatures, SyscallContextCoversEveryOffsetTheVerifierAllows) {
  const ProgramHandle* prog = object_.program("far_ctx");
  ASSERT_NE(prog, nullptr);
  TestRunOptions options;
  options.ctx_in.assign(16, 7);
  auto result = prog->test_run(options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->retval, 1u);            // zeros past the caller's 16 bytes
  EXPECT_EQ(result->ctx_out.size(), 16u);   // ctx_out as large as ctx_in
}

TEST_F(RuntimeFeatures, LoadErrorsLeaveNothingLoaded) {
  auto missing = runtime_->load_file(prog_path("does_not_exist"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("does_not_exist"), std::string::npos);
  const uint8_t garbage[] = {0x7f, 'E', 'L', 'F', 1, 2, 3};
  EXPECT_FALSE(runtime_->load_memory(garbage, sizeof garbage).ok());
}

}  // namespace
}  // namespace hourglass::testing
