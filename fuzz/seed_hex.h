// The committed seed format (docs/fuzzing.md): text files fuzz/seeds/<target>/<name>.hex holding
// hex bytes, any whitespace between them, `#` to the end of a line a comment. A comment line of
// the form `# key: value` at the start of a line is a directive the seed test reads (`expect`,
// `returns`); the fuzzers see only the bytes. The build converts each file into the binary seed
// the fuzzer reads (fuzz_make_seeds); seed_test.cpp parses it the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hourglass/result.h"

namespace hourglass::fuzz {

struct HexSeed {
  std::vector<uint8_t> bytes;
  std::map<std::string, std::string> directives;  // "expect" -> "accept", ...
};

// Errors name the line: "line 4: odd number of hex digits in 'b70'".
Result<HexSeed> parse_hex_seed(std::string_view text);
Result<HexSeed> read_hex_seed(const std::filesystem::path& path);

// The committed seeds of one target (`<seeds_dir>/<target>/*.hex`), sorted by name.
std::vector<std::filesystem::path> list_hex_seeds(const std::filesystem::path& seeds_dir,
                                                  const std::string& target);

}  // namespace hourglass::fuzz
