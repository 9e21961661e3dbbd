#include "runtime/verify.h"

namespace hourglass {

// The verifier part is not wired in yet: every program is accepted as is.
Status verify_program(const object::ObjectSpec&, const object::ProgramSpec&,
                      const std::vector<maps::Map*>&, const std::vector<const helpers::HelperProto*>&,
                      Runtime&) {
  return {};
}

}  // namespace hourglass
