// Temporary: every entry point defined so dependants link; the engine lands next.
#include <cerrno>

#include "timers/timers.h"

namespace hourglass::timers {

struct TimerEngine::Impl {};

std::unique_ptr<TimerEngine> TimerEngine::create(const EngineOptions&) {
  return std::unique_ptr<TimerEngine>(new TimerEngine(std::make_unique<Impl>()));
}
TimerEngine::TimerEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TimerEngine::~TimerEngine() = default;
uint64_t TimerEngine::now(uint32_t) const { return 0; }
long TimerEngine::timer_init(void*, maps::Map*, uint64_t) { return -EOPNOTSUPP; }
long TimerEngine::timer_set_callback(void*, const CallbackTarget*, ProgramRef*) { return -EOPNOTSUPP; }
long TimerEngine::timer_start(void*, uint64_t, uint64_t) { return -EOPNOTSUPP; }
long TimerEngine::timer_cancel(void*) { return -EOPNOTSUPP; }
long TimerEngine::wq_init(void*, maps::Map*, uint64_t) { return -EOPNOTSUPP; }
long TimerEngine::wq_set_callback(void*, const CallbackTarget*, uint64_t, ProgramRef*) { return -EOPNOTSUPP; }
long TimerEngine::wq_start(void*, uint64_t) { return -EOPNOTSUPP; }
void TimerEngine::free_special_fields(maps::Map&, void*) noexcept {}
Status TimerEngine::advance(uint64_t) { return make_error(ENOSYS, "not yet"); }
Status TimerEngine::advance_to(uint64_t) { return make_error(ENOSYS, "not yet"); }
void TimerEngine::quiesce() {}
std::vector<TimerInfo> TimerEngine::list_timers() const { return {}; }
uint64_t TimerEngine::fired_total() const { return 0; }
uint64_t TimerEngine::armed_count() const { return 0; }
void TimerEngine::shutdown() {}

}  // namespace hourglass::timers
