#include "cli/cli.h"

namespace hourglass::cli {

int run_test_command(const std::vector<std::string>&, const GlobalOptions&) {
  throw CliError("not implemented yet");
}

}  // namespace hourglass::cli
