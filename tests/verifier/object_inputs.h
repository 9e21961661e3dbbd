// Shared by the object tests (objects_test.cpp) and the kernel differential
// (differential_objects_test.cpp): which objects to verify, and the VerifyInput the runtime would
// build for one of their programs (map attributes from the specs, kfunc prototypes by name, BTF
// func and line info).
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "helpers/proto.h"
#include "object/object.h"
#include "verifier/verifier.h"

namespace hourglass::verifier::test_objects {

// The *.bpf.o files directly in `dir`, sorted; none if `dir` does not exist.
inline std::vector<std::string> objects_in(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().string().ends_with(".bpf.o")) out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

inline VerifyInput input_for(const object::ObjectSpec& spec, const object::ProgramSpec& prog) {
  VerifyInput input;
  input.prog_name = prog.name;
  input.type = prog.type;
  input.insns = &prog.insns;
  for (const object::MapSpec& map : spec.maps) input.maps.push_back(MapDesc{map.attr, map.name});
  for (const object::KfuncSpec& kfunc : spec.kfuncs)
    input.kfuncs.push_back(helpers::find_kfunc(kfunc.name.c_str()));
  for (const object::FuncInfo& func : prog.func_info)
    input.subprog_names.push_back({func.insn_index, func.name});
  input.line_info = prog.line_info;
  return input;
}

}  // namespace hourglass::verifier::test_objects
