// Shared pieces of the hourglass command: options every command takes, loading, output.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "hourglass/runtime.h"

namespace hourglass::cli {

// The one exception type: thrown by commands, caught in main, printed as one line on stderr.
struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct GlobalOptions {
  bool json = false;
  uint32_t cpus = 0;
  bool skip_verification = false;
  bool virtual_time = false;
  std::string engine = "jit";
  bool precision_timers = false;      // RuntimeOptions::precision_timers
  bool no_realtime_timers = false;    // RuntimeOptions::realtime_timer_workers = false
};

std::unique_ptr<Runtime> make_runtime(const GlobalOptions& options);
Object load_or_throw(Runtime& runtime, const std::string& path);
std::vector<uint8_t> read_file_or_throw(const std::string& path);

// A plain text table: header row, then rows, columns padded to their widest cell.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// Map contents as JSON: [{"key": ..., "value": ...}, ...] decoded with the object's BTF.
nlohmann::json dump_map_json(const Object& object, const MapHandle& map);
// Every global variable of .bss/.data/.rodata sections by its BTF name.
nlohmann::json globals_json(const Object& object);
// A map's BTF key/value type ids from the object's spec (0 when absent).
std::pair<uint32_t, uint32_t> map_btf_types(const Object& object, const std::string& map_name);

int run_test_command(const std::vector<std::string>& args, const GlobalOptions& options);
int run_timer_list_command(const std::vector<std::string>& args, const GlobalOptions& options);

}  // namespace hourglass::cli
