// Shared by the object/ tests: loading the test objects and finding things in parsed specs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "object/object.h"

namespace hourglass::object::testing {

inline std::string prog_path(const std::string& name) {
  return std::string(HG_TEST_PROGS_DIR) + "/" + name + ".bpf.o";
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(file)),
                              std::istreambuf_iterator<char>());
}

// Parses tests/progs/<name>.bpf.o, failing the test (with the loader's message) on error.
inline ObjectSpec load_ok(const std::string& name) {
  Result<ObjectSpec> spec = parse_object_file(prog_path(name));
  if (!spec) {
    ADD_FAILURE() << spec.error().message;
    return ObjectSpec{};
  }
  return std::move(spec).value();
}

inline const ProgramSpec* find_program(const ObjectSpec& spec, const std::string& name) {
  auto it = std::find_if(spec.programs.begin(), spec.programs.end(),
                         [&](const ProgramSpec& p) { return p.name == name; });
  return it == spec.programs.end() ? nullptr : &*it;
}

inline int map_index(const ObjectSpec& spec, const std::string& name) {
  for (size_t i = 0; i < spec.maps.size(); ++i) {
    if (spec.maps[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// Name of the function (func_info) starting at image index `insn`, or "".
inline std::string function_at(const ProgramSpec& program, uint32_t insn) {
  for (const FuncInfo& info : program.func_info) {
    if (info.insn_index == insn) return info.name;
  }
  return "";
}

}  // namespace hourglass::object::testing
