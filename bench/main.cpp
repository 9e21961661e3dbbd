// hourglass-bench: runs the same bench/progs/*.bpf.o on Hourglass and on the host kernel and
// prints one Markdown table per section (see docs/performance.md). Never asserts on timing.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

#include "bench.h"

using namespace hourglass::bench;

namespace {

void print_usage(const std::vector<Section>& sections) {
  std::printf(
      "usage: hourglass-bench [--quick] [--rounds N] [--section ID]... [--no-kernel]\n"
      "                       [--skip-verification] [--progs-dir DIR]\n"
      "  --quick              a few seconds in all (smaller counts and windows, one round)\n"
      "  --rounds N           measure each side N times, alternating; keep the best (default 2)\n"
      "  --section ID         run only this section (repeatable):");
  for (const auto& section : sections) std::printf(" %s", section.id.c_str());
  std::printf(
      "\n  --no-kernel          leave the kernel column n/a\n"
      "  --skip-verification  load into Hourglass without verifying (debugging only)\n"
      "  --progs-dir DIR      where the bench .bpf.o files are (default: the build's)\n");
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

void print_machine(const BenchConfig& config) {
  utsname names{};
  uname(&names);
  std::printf("# hourglass-bench%s, %d round(s)\n\n", config.quick ? " --quick" : "", config.rounds);
  std::printf("machine: %s, %ld CPUs online, Linux %s\n", cpu_model().c_str(),
              sysconf(_SC_NPROCESSORS_ONLN), names.release);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Section> sections = all_sections();
  BenchConfig config;
  config.progs_dir = HG_BENCH_PROGS_DIR;
  std::set<std::string> chosen;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--quick") {
      config.quick = true;
      config.rounds = 1;
    } else if (arg == "--no-kernel") {
      config.kernel = false;
    } else if (arg == "--skip-verification") {
      config.skip_verification = true;
    } else if (arg == "--rounds") {
      const char* value = next();
      config.rounds = value ? std::atoi(value) : 0;
      if (config.rounds < 1) {
        std::fprintf(stderr, "hourglass-bench: --rounds needs a positive count\n");
        return 2;
      }
    } else if (arg == "--section" || arg == "--progs-dir") {
      const char* value = next();
      if (!value) {
        std::fprintf(stderr, "hourglass-bench: %s needs a value\n", arg.c_str());
        return 2;
      }
      if (arg == "--section") chosen.insert(value);
      else config.progs_dir = value;
    } else if (arg == "--help" || arg == "-h") {
      print_usage(sections);
      return 0;
    } else {
      std::fprintf(stderr, "hourglass-bench: unknown argument '%s'\n", arg.c_str());
      print_usage(sections);
      return 2;
    }
  }
  for (const auto& id : chosen) {
    bool known = false;
    for (const auto& section : sections) known = known || section.id == id;
    if (!known) {
      std::fprintf(stderr, "hourglass-bench: unknown section '%s'\n", id.c_str());
      return 2;
    }
  }

  print_machine(config);
  int tables = 0;
  for (const auto& section : sections) {
    if (!chosen.empty() && !chosen.count(section.id)) continue;
    run_section(section, config);
    ++tables;
  }
  // The CTest bench.quick looks for this line: every table was printed and nothing crashed.
  std::printf("\nhourglass-bench: tables printed: %d\n", tables);
  return 0;
}
