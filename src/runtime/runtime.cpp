// Runtime: owns the helper environment and the timer engine every loaded program uses.
#include <cstdio>
#include <thread>

#include "hourglass/runtime.h"
#include "runtime/runtime_impl.h"

namespace hourglass {

namespace {
// Fixed seed for virtual-time runs so bpf_get_prandom_u32 repeats across runs.
constexpr uint64_t kVirtualTimeSeed = 0x686f7572676c6173ull;  // "hourglas"
}  // namespace

Runtime::Runtime(RuntimeOptions options) : options_(std::move(options)), impl_(new Impl) {}

Result<std::unique_ptr<Runtime>> Runtime::create(RuntimeOptions options) {
  if (options.ncpus == 0) options.ncpus = std::max(1u, std::thread::hardware_concurrency());
  if (options.ncpus > 1024) return make_error(EINVAL, "ncpus must be at most 1024");
  if (options.virtual_time && options.prandom_seed == 0) options.prandom_seed = kVirtualTimeSeed;
  std::unique_ptr<Runtime> runtime(new Runtime(options));
  Impl& impl = *runtime->impl_;
  timers::EngineOptions engine_options;
  engine_options.ncpus = options.ncpus;
  engine_options.virtual_time = options.virtual_time;
  engine_options.precision = options.precision_timers;
  engine_options.realtime_workers = options.realtime_timer_workers;
  impl.engine = timers::TimerEngine::create(engine_options);
  if (!impl.engine) return make_error(ENOMEM, "cannot start the timer engine");
  impl.env.timers = impl.engine.get();
  impl.env.ncpus = options.ncpus;
  impl.env.prandom_seed = options.prandom_seed;
  impl.env.trace_sink = options.trace_sink;
  if (!impl.env.trace_sink) {
    impl.env.trace_sink = [](std::string_view line) {
      std::fprintf(stderr, "%.*s", static_cast<int>(line.size()), line.data());
    };
  }
  return runtime;
}

Runtime::~Runtime() {
  {
    std::lock_guard lock(impl_->pins_mutex);
    impl_->pins.clear();
  }
  if (impl_->engine) impl_->engine->shutdown();
}

Status Runtime::pin_map(const std::string& path, const MapHandle& map) {
  if (!map.valid()) return make_error(EBADF, "pin: invalid map handle");
  if (path.empty()) return make_error(EINVAL, "pin: empty path");
  std::lock_guard lock(impl_->pins_mutex);
  if (!impl_->pins.emplace(path, map).second) return make_error(EEXIST, "pin: " + path + " exists");
  return {};
}

Result<MapHandle> Runtime::get_pinned_map(const std::string& path) const {
  std::lock_guard lock(impl_->pins_mutex);
  auto it = impl_->pins.find(path);
  if (it == impl_->pins.end()) return make_error(ENOENT, "no pin at " + path);
  return it->second;
}

Status Runtime::unpin(const std::string& path) {
  MapHandle dropped;  // released after the lock: dropping a user ref may cancel timers
  {
    std::lock_guard lock(impl_->pins_mutex);
    auto it = impl_->pins.find(path);
    if (it == impl_->pins.end()) return make_error(ENOENT, "no pin at " + path);
    dropped = std::move(it->second);
    impl_->pins.erase(it);
  }
  return {};
}

uint64_t Runtime::now_ns(uint32_t clock_id) const { return impl_->engine->now(clock_id); }
Status Runtime::advance(uint64_t ns) { return impl_->engine->advance(ns); }
Status Runtime::advance_to(uint64_t t_ns) { return impl_->engine->advance_to(t_ns); }
void Runtime::quiesce_timers() { impl_->engine->quiesce(); }
uint64_t Runtime::timers_fired() const { return impl_->engine->fired_total(); }

std::vector<TimerView> Runtime::timers() const {
  std::vector<TimerView> views;
  for (auto& info : impl_->engine->list_timers()) {
    views.push_back(TimerView{info.map_id, info.map_name, info.key, info.clock_id,
                              info.expires_ns, info.callback, info.program, info.fire_count,
                              info.cpu});
  }
  return views;
}

}  // namespace hourglass
