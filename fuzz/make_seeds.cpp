// Build-time tool: writes the fuzzers' seed corpora from the test objects, so that no binary
// seed is committed. Usage: make_seeds OUT_DIR OBJECT.bpf.o...
//   OUT_DIR/object/<name>.bpf.o   the objects themselves (fuzz_object)
//   OUT_DIR/verify_run/<prog>     type byte (Syscall) + each program's instructions (fuzz_verify_run)
//   OUT_DIR/maps/<n>              a few map headers with short operation sequences (fuzz_maps)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "object/object.h"

namespace fs = std::filesystem;

namespace {

bool write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Map seeds: header (type index, key size, value size, +1, max entries, flags index, timer
// choice) as fuzz_maps.cpp reads it, then ops (op, flags, key, value).
std::vector<std::vector<uint8_t>> map_seeds() {
  std::vector<std::vector<uint8_t>> seeds;
  for (uint8_t type = 0; type < 9; ++type) {
    std::vector<uint8_t> seed = {type, 4, 24, 0, 8, 0, 0x80};
    for (uint8_t op = 0; op < 12; ++op) {
      seed.push_back(op);
      seed.push_back(0);
      for (int i = 0; i < 4; ++i) seed.push_back(op % 3);    // key
      for (int i = 0; i < 24; ++i) seed.push_back(op + i);  // value (when the op reads one)
    }
    seeds.push_back(std::move(seed));
  }
  return seeds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR OBJECT.bpf.o...\n", argv[0]);
    return 2;
  }
  const fs::path out_dir = argv[1];
  for (const char* sub : {"object", "verify_run", "maps"}) fs::create_directories(out_dir / sub);
  for (int i = 2; i < argc; ++i) {
    const fs::path object_path = argv[i];
    const std::vector<uint8_t> bytes = read_file(object_path);
    if (!write_file(out_dir / "object" / object_path.filename(), bytes)) return 1;
    auto parsed = hourglass::object::parse_object(bytes.data(), bytes.size(), object_path.string());
    if (!parsed.ok()) continue;  // a seed object the loader refuses still seeds fuzz_object
    for (const auto& program : parsed->programs) {
      std::vector<uint8_t> seed = {0};  // fuzz_verify_run's type byte: Syscall
      const auto* raw = reinterpret_cast<const uint8_t*>(program.insns.data());
      seed.insert(seed.end(), raw, raw + program.insns.size() * 8);
      const std::string name = object_path.stem().stem().string() + "." + program.name;
      if (!write_file(out_dir / "verify_run" / name, seed)) return 1;
    }
  }
  int index = 0;
  for (const auto& seed : map_seeds())
    if (!write_file(out_dir / "maps" / ("seed" + std::to_string(index++)), seed)) return 1;
  return 0;
}
