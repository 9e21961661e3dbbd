// The runtime's bridge to verifier/: builds the verifier's view of a program (its maps'
// attributes, kfunc prototypes, line info) and runs it unless verification is switched off.
#pragma once

#include <vector>

#include "helpers/proto.h"
#include "hourglass/runtime.h"
#include "maps/map.h"
#include "object/object.h"

namespace hourglass {

Result<VerifierReport> verify_program(const object::ObjectSpec& spec, const object::ProgramSpec& prog,
                      const std::vector<maps::Map*>& maps,
                      const std::vector<const helpers::HelperProto*>& kfuncs, Runtime& runtime);

}  // namespace hourglass
