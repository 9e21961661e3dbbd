// `hourglass test OBJ [--virtual-time] STEP...`: a deterministic scenario from the command line,
// printed as one JSON document. The contract is in docs/cli.md; keep it stable.
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/btf_json.h"
#include "cli/cli.h"

namespace hourglass::cli {

namespace {

// "50us", "3ms", "2s", "100ns", "100" (ns).
uint64_t parse_duration_ns(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) throw CliError("bad duration '" + text + "' (use e.g. 50us, 3ms, 2s)");
  uint64_t value = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  uint64_t scale = 0;
  if (unit.empty() || unit == "ns") scale = 1;
  else if (unit == "us") scale = 1'000;
  else if (unit == "ms") scale = 1'000'000;
  else if (unit == "s") scale = 1'000'000'000;
  else if (unit == "m") scale = 60'000'000'000;
  else throw CliError("bad duration unit in '" + text + "' (ns, us, ms, s, m)");
  if (value > UINT64_MAX / scale) throw CliError("duration '" + text + "' is too large");
  return value * scale;
}

struct Step {
  std::string kind;  // run, data, wait, release
  std::string arg;
};

struct Scenario {
  std::string object;
  GlobalOptions options;
  std::vector<Step> steps;
};

Scenario parse_scenario(const std::vector<std::string>& args, GlobalOptions options) {
  Scenario scenario;
  scenario.options = options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw CliError(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << "usage: hourglass test OBJ [--virtual-time] [--cpus N] [--precision-timers]\n"
                   "                      [--no-realtime-timers] STEP...\n"
                   "steps (run in order):\n"
                   "  --run PROG[:REPEAT]   test-run a program, recording its return value\n"
                   "  --data FILE           packet/context bytes for the following runs\n"
                   "  --wait DURATION       sleep (real time) or advance the virtual clock (50us, 3ms, 2s)\n"
                   "  --release MAP|all     drop the application's references to a map or all maps\n"
                   "prints {\"runs\", \"globals\", \"maps\", \"timers\"} as JSON (docs/cli.md)\n";
      std::exit(0);
    } else if (arg == "--virtual-time") {
      scenario.options.virtual_time = true;
    } else if (arg == "--cpus") {
      scenario.options.cpus = static_cast<uint32_t>(std::stoul(value()));
    } else if (arg == "--dangerously-skip-verification") {
      scenario.options.skip_verification = true;
    } else if (arg == "--engine") {
      scenario.options.engine = value();
    } else if (arg == "--precision-timers") {
      scenario.options.precision_timers = true;
    } else if (arg == "--no-realtime-timers") {
      scenario.options.no_realtime_timers = true;
    } else if (arg == "--run" || arg == "--data" || arg == "--wait" || arg == "--release") {
      scenario.steps.push_back({arg.substr(2), value()});
    } else if (!arg.empty() && arg[0] == '-') {
      throw CliError("unknown option '" + arg + "' (see hourglass test --help)");
    } else if (scenario.object.empty()) {
      scenario.object = arg;
    } else {
      throw CliError("unexpected argument '" + arg + "'");
    }
  }
  if (scenario.object.empty()) throw CliError("no object given (hourglass test OBJ STEP...)");
  return scenario;
}

nlohmann::json timers_json(const Runtime& runtime) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : runtime.timers()) {
    out.push_back({{"map", t.map_name}, {"key", hex_bytes(t.key.data(), t.key.size())},
                   {"clock", t.clock_id}, {"expires_ns", t.expires_ns}, {"callback", t.callback},
                   {"prog", t.program}, {"fired", t.fire_count}, {"cpu", t.cpu}});
  }
  return out;
}

void run_step(const Step& step, Runtime& runtime, Object& object, std::vector<uint8_t>& data,
              bool& data_given, nlohmann::json& runs) {
  if (step.kind == "data") {
    data = read_file_or_throw(step.arg);
    data_given = true;
  } else if (step.kind == "run") {
    std::string name = step.arg;
    uint32_t repeat = 1;
    if (auto colon = name.find(':'); colon != std::string::npos) {
      repeat = static_cast<uint32_t>(std::stoul(name.substr(colon + 1)));
      name = name.substr(0, colon);
    }
    const ProgramHandle* prog = object.program(name);
    if (!prog) throw CliError("no program '" + name + "' in " + object.path());
    TestRunOptions run;
    run.repeat = repeat;
    const std::string type = prog->type_name();
    const bool packet = type == "xdp" || type == "sched_cls" || type == "sched_act" || type == "socket_filter";
    if (data_given) (packet ? run.data_in : run.ctx_in) = data;
    else if (packet) run.data_in.assign(64, 0);
    auto result = prog->test_run(run);
    if (!result.ok()) throw CliError(result.error().message);
    runs.push_back({{"prog", name}, {"retval", static_cast<int32_t>(result->retval)}});
  } else if (step.kind == "wait") {
    uint64_t ns = parse_duration_ns(step.arg);
    if (runtime.options().virtual_time) {
      if (auto st = runtime.advance(ns); !st.ok()) throw CliError(st.error().message);
    } else {
      std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
    }
  } else if (step.kind == "release") {
    if (step.arg == "all") object.release_all_maps();
    else if (!object.release_map(step.arg)) throw CliError("no map '" + step.arg + "' to release");
  }
}

}  // namespace

namespace {

struct ScenarioResult {
  std::unique_ptr<Runtime> runtime;
  Object object;
  nlohmann::json runs = nlohmann::json::array();
};

ScenarioResult play(const Scenario& scenario) {
  for (const auto& step : scenario.steps)
    if (step.kind == "wait") parse_duration_ns(step.arg);  // reject bad input before loading
  ScenarioResult result;
  result.runtime = make_runtime(scenario.options);
  result.object = load_or_throw(*result.runtime, scenario.object);
  std::vector<uint8_t> data;
  bool data_given = false;
  for (const auto& step : scenario.steps)
    run_step(step, *result.runtime, result.object, data, data_given, result.runs);
  return result;
}

}  // namespace

// `hourglass timer list OBJ [--virtual-time] STEP...`: the same steps as `test`, then the armed
// timers as a table (or JSON with --json).
int run_timer_list_command(const std::vector<std::string>& args, const GlobalOptions& options) {
  std::vector<std::string> rest;
  bool json = options.json;
  for (const auto& arg : args) {
    if (arg == "--json") json = true;
    else rest.push_back(arg);
  }
  Scenario scenario = parse_scenario(rest, options);
  ScenarioResult result = play(scenario);
  nlohmann::json timers = timers_json(*result.runtime);
  if (json) {
    std::cout << timers.dump(2) << std::endl;
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  uint64_t now = result.runtime->now_ns(1);
  for (const auto& t : timers) {
    uint64_t expires = t["expires_ns"].get<uint64_t>();
    rows.push_back({t["map"].get<std::string>(), t["key"].get<std::string>(),
                    std::to_string(t["clock"].get<uint32_t>()),
                    expires > now ? fmt::format("+{}us", (expires - now) / 1000) : "due",
                    t["callback"].get<std::string>(), t["prog"].get<std::string>(),
                    std::to_string(t["fired"].get<uint64_t>()), std::to_string(t["cpu"].get<uint32_t>())});
  }
  std::cout << format_table({"MAP", "KEY", "CLOCK", "EXPIRES", "CALLBACK", "PROG", "FIRED", "CPU"}, rows);
  std::cout << fmt::format("{} timer(s) armed, {} callback(s) run\n", rows.size(), result.runtime->timers_fired());
  return 0;
}

int run_test_command(const std::vector<std::string>& args, const GlobalOptions& options) {
  Scenario scenario = parse_scenario(args, options);
  ScenarioResult played = play(scenario);
  auto& runtime = played.runtime;
  Object& object = played.object;
  nlohmann::json& runs = played.runs;

  nlohmann::json doc;
  doc["runs"] = runs;
  doc["globals"] = globals_json(object);
  nlohmann::json maps = nlohmann::json::object();
  for (const auto& map : object.maps()) {
    if (!map || map.name().rfind(".", 0) == 0) continue;  // global data is under "globals"
    maps[map.name()] = dump_map_json(object, map);
  }
  doc["maps"] = maps;
  doc["timers"] = timers_json(*runtime);
  std::cout << doc.dump(2) << std::endl;
  return 0;
}

}  // namespace hourglass::cli
