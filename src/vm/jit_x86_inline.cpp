// Inline fast paths the JIT emits instead of a helper call. The kernel's JIT knows from the
// verifier which map each bpf_map_lookup_elem call site uses and emits array_map_gen_lookup
// there (bounds check, index * element size + base, no call). Our JIT does not track which map
// R1 holds, so the generated code reads the map's InlineLookup descriptor (maps/map.h) and
// decides at run time: the check costs a compare and a branch the CPU predicts per call site.
#if defined(__x86_64__)
#include "vm/jit_x86_inline.h"

#include <cstddef>

#include "helpers/proto.h"
#include "maps/map.h"

namespace hourglass::vm {

namespace {
constexpr uint32_t kHelperMapLookupElem = 1;

int descriptor_field(size_t field_offset) {
  return static_cast<int>(maps::Map::inline_lookup_offset() + field_offset);
}
}  // namespace

bool has_inline_map_lookup(const void* helper_fn) {
  const helpers::HelperProto* lookup = helpers::find_helper(kHelperMapLookupElem);
  return lookup != nullptr && reinterpret_cast<const void*>(lookup->fn) == helper_fn;
}

// R1 = rdi (Map*), R2 = rsi (pointer to the u32 key), R0 = rax. Same result as
// ArrayMap::lookup: index < max_entries ? values + index * value_stride : null.
void emit_inline_map_lookup(Xbyak::CodeGenerator& code, Xbyak::Label& done) {
  using namespace Xbyak::util;
  using maps::InlineLookup;
  Xbyak::Label not_array, out_of_range;
  code.cmp(dword[rdi + descriptor_field(offsetof(InlineLookup, kind))], InlineLookup::kArray);
  code.jne(not_array, code.T_NEAR);
  code.mov(eax, dword[rsi]);  // zero-extends the index into rax
  code.cmp(eax, dword[rdi + descriptor_field(offsetof(InlineLookup, max_entries))]);
  code.jae(out_of_range, code.T_NEAR);
  code.imul(rax, qword[rdi + descriptor_field(offsetof(InlineLookup, value_stride))]);
  code.add(rax, qword[rdi + descriptor_field(offsetof(InlineLookup, values))]);
  code.jmp(done, code.T_NEAR);
  code.L(out_of_range);
  code.xor_(eax, eax);
  code.jmp(done, code.T_NEAR);
  code.L(not_array);
}

}  // namespace hourglass::vm
#endif  // __x86_64__
