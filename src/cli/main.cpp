// The hourglass command. bpftool's words where they fit: prog list|run, map list|dump|lookup|
// update|delete, disasm, timer list, verify; plus `test` (deterministic scenarios, docs/cli.md).
// Exceptions stop here: every error becomes one line on stderr and exit status 1.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>

#include "cli/btf_json.h"
#include "cli/cli.h"
#include "cli/commands.h"

using namespace hourglass;
using namespace hourglass::cli;

int main(int argc, char** argv) {
  // `test` takes ordered steps (--run, --wait, ...) that CLI11 would reorder: hand it the rest.
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const bool timer_list = arg == "timer" && i + 1 < argc && std::string(argv[i + 1]) == "list";
    if (arg == "test" || timer_list) {
      GlobalOptions options;
      for (int j = 1; j < i; ++j) options.json = options.json || std::string(argv[j]) == "--json";
      std::vector<std::string> rest(argv + i + (timer_list ? 2 : 1), argv + argc);
      try {
        return timer_list ? run_timer_list_command(rest, options) : run_test_command(rest, options);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hourglass %s: %s\n", timer_list ? "timer list" : "test", e.what());
        return 1;
      }
    }
    if (arg.empty() || arg[0] != '-') break;
  }

  CLI::App app{"hourglass: a userspace eBPF runtime with the kernel's BPF timer semantics"};
  app.require_subcommand(1);
  GlobalOptions options;
  app.add_flag("--json", options.json, "Print JSON instead of tables");
  app.add_option("--cpus", options.cpus, "Virtual CPUs (default: the machine's)");
  app.add_option("--engine", options.engine, "interpreter | jit")->check(CLI::IsMember({"interpreter", "jit"}));
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
