// vm-private: code the JIT emits in place of a helper call (jit_x86_inline.cpp), kept apart from
// the general emitter (jit_x86_compiler.cpp).
#pragma once

#if defined(__x86_64__)
#define XBYAK_NO_EXCEPTION
#include <xbyak/xbyak.h>

namespace hourglass::vm {

// True if a call of `helper_fn` is bpf_map_lookup_elem, which has an inline fast path.
bool has_inline_map_lookup(const void* helper_fn);

// Emits the inline part of bpf_map_lookup_elem(R1 = map, R2 = key): for a map whose
// InlineLookup descriptor (maps/map.h) says kArray, R0 = the value's address or 0, then a jump
// to `done`; for any other map it falls through, and the caller emits the helper call after it.
// Clobbers only registers a helper call clobbers anyway (R0-R5 are dead after a call).
void emit_inline_map_lookup(Xbyak::CodeGenerator& code, Xbyak::Label& done);

}  // namespace hourglass::vm
#endif
