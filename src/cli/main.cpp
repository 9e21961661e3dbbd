// The hourglass command. bpftool's words where they fit: prog list|run, map list|dump|lookup|
// update|delete, disasm, timer list, verify; plus `test` (deterministic scenarios, docs/cli.md).
// Exceptions stop here: every error becomes one line on stderr and exit status 1.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>

#include "cli/btf_json.h"
#include "cli/cli.h"
#include "cli/commands.h"

using namespace hourglass;
using namespace hourglass::cli;

namespace {

// The global options before the command, for `test` and `timer list`, which bypass CLI11 (their
// steps are ordered). Throws CliError for a missing or bad value; stops at the first non-option.
// Returns the index of the command word (argc if there is none).
int parse_leading_globals(int argc, char** argv, GlobalOptions& options) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] != '-') break;
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    auto value = [&]() -> std::string {
      if (eq != std::string::npos) return arg.substr(eq + 1);
      if (i + 1 >= argc) throw CliError(fmt::format("{} needs a value", name));
      return argv[++i];
    };
    if (name == "--json") {
      options.json = true;
    } else if (name == "--dangerously-skip-verification") {
      options.skip_verification = true;
    } else if (name == "--precision-timers") {
      options.precision_timers = true;
    } else if (name == "--no-realtime-timers") {
      options.no_realtime_timers = true;
    } else if (name == "--engine") {
      options.engine = value();
      if (options.engine != "jit" && options.engine != "interpreter")
        throw CliError(fmt::format("--engine: '{}' is not interpreter or jit", options.engine));
    } else if (name == "--cpus") {
      const std::string text = value();
      char* end = nullptr;
      const unsigned long cpus = std::strtoul(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || cpus > 4096)
        throw CliError(fmt::format("--cpus: '{}' is not a CPU count", text));
      options.cpus = static_cast<uint32_t>(cpus);
    } else {
      return argc;  // an option CLI11 knows (--help) or an unknown one: CLI11 reports it
    }
  }
  return i;
}

bool is_word(int argc, char** argv, int i, const char* word) {
  return i < argc && std::string(argv[i]) == word;
}

}  // namespace

int main(int argc, char** argv) {
  // `test` takes ordered steps (--run, --wait, ...) that CLI11 would reorder: hand it the rest.
  {
    GlobalOptions options;
    int command = argc;
    try {
      command = parse_leading_globals(argc, argv, options);
    } catch (const CliError& e) {
      std::fprintf(stderr, "hourglass: %s (see --help)\n", e.what());
      return 2;
    }
    const bool timer_list = is_word(argc, argv, command, "timer") &&
                            is_word(argc, argv, command + 1, "list");
    if (is_word(argc, argv, command, "test") || timer_list) {
      std::vector<std::string> rest(argv + command + (timer_list ? 2 : 1), argv + argc);
      try {
        return timer_list ? run_timer_list_command(rest, options) : run_test_command(rest, options);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hourglass %s: %s\n", timer_list ? "timer list" : "test", e.what());
        return 1;
      }
    }
  }

  CLI::App app{"hourglass: a userspace eBPF runtime with the kernel's BPF timer semantics"};
  app.require_subcommand(1);
  GlobalOptions options;
  app.add_flag("--json", options.json, "Print JSON instead of tables");
  app.add_option("--cpus", options.cpus, "Virtual CPUs (default: the machine's)");
  app.add_option("--engine", options.engine, "interpreter | jit")->check(CLI::IsMember({"interpreter", "jit"}));
  app.add_flag("--precision-timers", options.precision_timers,
               "Timer workers spin the last stretch before a near expiry (lowest lateness)");
  app.add_flag("--no-realtime-timers", options.no_realtime_timers,
               "Keep timer workers at SCHED_OTHER instead of SCHED_FIFO 1");
  app.add_flag("--dangerously-skip-verification", options.skip_verification,
               "Load programs WITHOUT verifying them (debugging only; can crash the process)");
  app.add_subcommand("test", "Run a deterministic scenario (see docs/cli.md)");
  app.add_subcommand("timer", "timer list OBJ [--virtual-time] STEP...: armed timers after the steps");
  register_prog_commands(app, options);
  register_map_commands(app, options);
  register_misc_commands(app, options);
  register_run_command(app, options);
  // Name the unknown command instead of CLI11's generic "a subcommand is required".
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.empty() && arg[0] == '-') {
      if (arg == "--cpus" || arg == "--engine") ++i;  // skip the option's value
      continue;
    }
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->get_name() == arg;
    if (!known) {
      std::fprintf(stderr, "hourglass: unknown command '%s' (see --help)\n", arg.c_str());
      return 2;
    }
    break;
  }
  try {
    app.parse(argc, argv);
    return run_selected_command(app, options);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "hourglass: %s (see --help)\n", e.what());
    return 2;
  } catch (const CliError& e) {
    std::fprintf(stderr, "hourglass: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hourglass: %s\n", e.what());
    return 1;
  }
}
