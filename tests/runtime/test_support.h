// Helpers for runtime-level tests: load test objects, run programs, read globals, and wait for
// timer effects in either virtual time (advance) or real time (poll until a deadline).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "hourglass/runtime.h"

namespace hourglass::testing {

inline std::string prog_path(const std::string& name) {
  return std::string(HG_TEST_PROGS_DIR) + "/" + name + ".bpf.o";
}

// The engine these tests run programs on: the runtime's default (the JIT), or the one the
// environment variable HG_TEST_ENGINE names ("interpreter" or "jit"). CTest runs the suites once
// per engine (tests/runtime/CMakeLists.txt); an unknown name fails the test rather than silently
// running the default.
inline ExecEngine test_engine() {
  const char* name = std::getenv("HG_TEST_ENGINE");
  if (!name || !*name) return RuntimeOptions{}.engine;
  if (std::string(name) == "interpreter") return ExecEngine::Interpreter;
  EXPECT_EQ(std::string(name), "jit") << "HG_TEST_ENGINE must be interpreter or jit";
  return ExecEngine::Jit;
}

inline std::unique_ptr<Runtime> make_runtime(bool virtual_time, uint32_t ncpus = 2) {
  RuntimeOptions options;
  options.engine = test_engine();
  options.ncpus = ncpus;
  options.virtual_time = virtual_time;
  auto runtime = Runtime::create(options);
  EXPECT_TRUE(runtime.ok()) << (runtime.ok() ? "" : runtime.error().message);
  return runtime.ok() ? std::move(*runtime) : nullptr;
}

inline Object load(Runtime& runtime, const std::string& name) {
  auto object = runtime.load_file(prog_path(name));
  EXPECT_TRUE(object.ok()) << (object.ok() ? "" : object.error().message);
  return object.ok() ? std::move(*object) : Object{};
}

inline int64_t run(const Object& object, const std::string& prog, uint32_t cpu = 0) {
  const ProgramHandle* handle = object.program(prog);
  EXPECT_NE(handle, nullptr) << "no program " << prog;
  if (!handle) return -1;
  TestRunOptions options;
  options.cpu = cpu;
  if (handle->type_name() == std::string("xdp") || handle->type_name() == std::string("sched_cls"))
    options.data_in.assign(64, 0);
  auto result = handle->test_run(options);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return result.ok() ? static_cast<int32_t>(result->retval) : -1;
}

template <class T>
T global(const Object& object, const std::string& name) {
  auto value = object.global<T>(name);
  EXPECT_TRUE(value.ok()) << name << ": " << (value.ok() ? "" : value.error().message);
  return value.ok() ? *value : T{};
}

// Lets timers run for `ns` of (virtual or real) time, then until `done` holds or 10 s of real
// time pass (a generous bound for loaded CI machines; the assertion is on `done`, not time).
inline bool let_timers_run(Runtime& runtime, uint64_t ns, const std::function<bool()>& done = nullptr) {
  if (runtime.options().virtual_time) {
    EXPECT_TRUE(runtime.advance(ns).ok());
    return !done || done();
  }
  std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done && !done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Quiesce only when nothing is awaited: a self-re-arming 1 us timer is never quiet.
  if (!done) runtime.quiesce_timers();
  return !done || done();
}

}  // namespace hourglass::testing
