// Internal to object/: facts derived from a program's SEC() name (prog_type_from_section() is
// in the face).
#pragma once

#include <string>

#include "object/object.h"

namespace hourglass::object::detail {

// True for libbpf's sleepable section forms ("fentry.s/...", "uprobe.s/...", ...).
bool section_is_sleepable(const std::string& section);
// The part after the first '/', or empty.
std::string section_attach_target(const std::string& section);

}  // namespace hourglass::object::detail
