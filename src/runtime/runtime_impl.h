// Runtime internals shared by the runtime's files (not part of the public API).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "helpers/helpers.h"
#include "hourglass/runtime.h"
#include "timers/timers.h"

namespace hourglass {

struct Runtime::Impl {
  HelperEnv env;  // read by every program this runtime loads; lives as long as the runtime
  std::unique_ptr<timers::TimerEngine> engine;
  mutable std::mutex pins_mutex;  // protects pins
  std::map<std::string, MapHandle> pins;
};

}  // namespace hourglass
