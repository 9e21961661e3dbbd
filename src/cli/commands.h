#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli.h"

namespace hourglass::cli {

void register_prog_commands(CLI::App& app, GlobalOptions& options);
void register_map_commands(CLI::App& app, GlobalOptions& options);
void register_misc_commands(CLI::App& app, GlobalOptions& options);
void register_run_command(CLI::App& app, GlobalOptions& options);
// Runs whichever command the parse selected (each registers a callback that sets it).
int run_selected_command(CLI::App& app, const GlobalOptions& options);

}  // namespace hourglass::cli
