// Stub: the parser lands shortly.
#include "object/object.h"

#include <bpf/btf.h>

namespace hourglass::object {

BtfHandle::~BtfHandle() { btf__free(btf); }

Result<ObjectSpec> parse_object(const uint8_t*, size_t, std::string path) {
  return make_error(ENOSYS, path + ": object parsing not implemented yet");
}

Result<ObjectSpec> parse_object_file(const std::string& path) {
  return make_error(ENOSYS, path + ": object parsing not implemented yet");
}

helpers::ProgType prog_type_from_section(const std::string&) { return helpers::ProgType::Unspec; }

}  // namespace hourglass::object
