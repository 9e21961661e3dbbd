// Backend on Hourglass's public API: one Runtime per backend, objects loaded into it, programs
// test-run through ProgramHandle::test_run.
#include <cstring>

#include "backend.h"

namespace hourglass::bench {
namespace {

class HourglassObject final : public BenchObject {
 public:
  explicit HourglassObject(Object object) : object_(std::move(object)) {}

  Result<uint64_t> run(const std::string& program, bench_args& args) override {
    const ProgramHandle* handle = object_.program(program);
    if (!handle) return make_error(ENOENT, "no program '" + program + "' in " + object_.path());
    TestRunOptions options;
    const auto* args_bytes = reinterpret_cast<const uint8_t*>(&args);
    options.ctx_in.assign(args_bytes, args_bytes + sizeof args);
    auto ran = handle->test_run(options);
    if (!ran.ok()) return ran.take_error();
    if (ran->ctx_out.size() >= sizeof args) std::memcpy(&args, ran->ctx_out.data(), sizeof args);
    return ran->retval;
  }

  Result<double> run_packet(const std::string& program, const std::vector<uint8_t>& packet,
                            uint32_t repeat) override {
    const ProgramHandle* handle = object_.program(program);
    if (!handle) return make_error(ENOENT, "no program '" + program + "' in " + object_.path());
    TestRunOptions options;
    options.data_in = packet;
    options.repeat = repeat;
    auto ran = handle->test_run(options);
    if (!ran.ok()) return ran.take_error();
    return static_cast<double>(ran->duration_ns);
  }

  Result<std::vector<uint8_t>> lookup(const std::string& map, uint32_t key) override {
    MapHandle handle = object_.map(map);
    if (!handle) return make_error(ENOENT, "no map '" + map + "' in " + object_.path());
    return handle.lookup(&key);
  }

  Status update(const std::string& map, uint32_t key, const std::vector<uint8_t>& value) override {
    MapHandle handle = object_.map(map);
    if (!handle) return make_error(ENOENT, "no map '" + map + "' in " + object_.path());
    return handle.update(&key, value.data());
  }

 private:
  Object object_;
};

class HourglassBackend final : public Backend {
 public:
  explicit HourglassBackend(std::unique_ptr<Runtime> runtime) : runtime_(std::move(runtime)) {}

  Result<std::unique_ptr<BenchObject>> load(const std::string& path) override {
    auto object = runtime_->load_file(path);
    if (!object.ok()) return object.take_error();
    return std::unique_ptr<BenchObject>(std::make_unique<HourglassObject>(std::move(*object)));
  }
  uint64_t memory_bytes() const override { return process_rss_bytes(); }
  void pin_to_cpu0(bool) override {}

 private:
  std::unique_ptr<Runtime> runtime_;  // outlives the objects: sections drop them first
};

}  // namespace

Result<std::unique_ptr<Backend>> make_hourglass_backend(const RuntimeOptions& options) {
  auto runtime = Runtime::create(options);
  if (!runtime.ok()) return runtime.take_error();
  return std::unique_ptr<Backend>(std::make_unique<HourglassBackend>(std::move(*runtime)));
}

}  // namespace hourglass::bench
