// Build-time tool: turns the committed text seeds into the binary seed corpora the fuzzers and
// their smoke tests read, and adds the test objects built at test time to `object`'s corpus.
// Usage: fuzz_make_seeds OUT_DIR HEX_SEEDS_DIR OBJECT.bpf.o...
//   HEX_SEEDS_DIR/<target>/<name>.hex -> OUT_DIR/<target>/<name>   (format: seed_hex.h)
//   OBJECT.bpf.o                      -> OUT_DIR/object/<name>.bpf.o
// Each OUT_DIR/<target> is emptied first, so a seed deleted from the tree leaves the corpus too.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "seed_hex.h"

namespace fs = std::filesystem;

namespace {

constexpr const char* kTargets[] = {"object", "verify_run", "maps"};

bool write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

bool copy_object(const fs::path& object_path, const fs::path& out_dir) {
  std::error_code error;
  fs::copy_file(object_path, out_dir / object_path.filename(), fs::copy_options::overwrite_existing,
                error);
  if (error) std::fprintf(stderr, "%s: %s\n", object_path.c_str(), error.message().c_str());
  return !error;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT_DIR HEX_SEEDS_DIR OBJECT.bpf.o...\n", argv[0]);
    return 2;
  }
  const fs::path out_dir = argv[1];
  const fs::path hex_dir = argv[2];
  for (const char* target : kTargets) {
    fs::remove_all(out_dir / target);
    fs::create_directories(out_dir / target);
    for (const fs::path& hex_path : hourglass::fuzz::list_hex_seeds(hex_dir, target)) {
      auto seed = hourglass::fuzz::read_hex_seed(hex_path);
      if (!seed.ok()) {
        std::fprintf(stderr, "%s\n", seed.error().message.c_str());
        return 1;
      }
      if (!write_file(out_dir / target / hex_path.stem(), seed->bytes)) return 1;
    }
  }
  for (int i = 3; i < argc; ++i)
    if (!copy_object(argv[i], out_dir / "object")) return 1;
  return 0;
}
