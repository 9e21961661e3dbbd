#include "seed_hex.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace hourglass::fuzz {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// `# key: value` where key is a lower-case word; other comments are prose.
void read_directive(std::string_view comment, std::map<std::string, std::string>& directives) {
  comment = trim(comment);
  const size_t colon = comment.find(':');
  if (colon == std::string_view::npos || colon == 0) return;
  const std::string_view key = comment.substr(0, colon);
  if (!std::all_of(key.begin(), key.end(), [](char c) { return c >= 'a' && c <= 'z'; })) return;
  directives[std::string(key)] = std::string(trim(comment.substr(colon + 1)));
}

// Appends the hex digits of one token ("b7", "b7000000", "7f454c46...") two per byte.
Status append_token(std::string_view token, size_t line_number, std::vector<uint8_t>& bytes) {
  const std::string where = "line " + std::to_string(line_number) + ": ";
  if (token.size() % 2 != 0) {
    return make_error(EINVAL, where + "odd number of hex digits in '" + std::string(token) + "'");
  }
  for (size_t i = 0; i < token.size(); i += 2) {
    const int high = hex_value(token[i]);
    const int low = hex_value(token[i + 1]);
    if (high < 0 || low < 0) {
      return make_error(EINVAL, where + "not hex: '" + std::string(token) + "'");
    }
    bytes.push_back(static_cast<uint8_t>(high << 4 | low));
  }
  return {};
}

}  // namespace

Result<HexSeed> parse_hex_seed(std::string_view text) {
  HexSeed seed;
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    const size_t hash = line.find('#');
    if (hash != std::string_view::npos) {
      if (trim(line.substr(0, hash)).empty()) read_directive(line.substr(hash + 1), seed.directives);
      line = line.substr(0, hash);
    }
    std::istringstream words{std::string(line)};
    std::string token;
    while (words >> token) {
      if (Status added = append_token(token, line_number, seed.bytes); !added.ok()) {
        return added.take_error();
      }
    }
  }
  return seed;
}

Result<HexSeed> read_hex_seed(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(ENOENT, path.string() + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  Result<HexSeed> parsed = parse_hex_seed(text.str());
  if (!parsed.ok()) return make_error(EINVAL, path.string() + ": " + parsed.error().message);
  return parsed;
}

std::vector<std::filesystem::path> list_hex_seeds(const std::filesystem::path& seeds_dir,
                                                  const std::string& target) {
  std::vector<std::filesystem::path> paths;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(seeds_dir / target, ignored)) {
    if (entry.is_regular_file() && entry.path().extension() == ".hex") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace hourglass::fuzz
