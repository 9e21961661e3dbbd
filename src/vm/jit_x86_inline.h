// vm-private: code the JIT emits in place of a helper call (jit_x86_inline.cpp), kept apart from
// the general emitter (jit_x86_compiler.cpp).
#pragma once

#if defined(__x86_64__)
#define XBYAK_NO_EXCEPTION
#include <xbyak/xbyak.h>

#include <vector>

#include "vm/image.h"

namespace hourglass::vm {

// True if a call of `helper_fn` is bpf_map_lookup_elem, which has an inline fast path.
bool has_inline_map_lookup(const void* helper_fn);

// Emits the inline part of bpf_map_lookup_elem(R1 = map, R2 = key): for a map whose
// InlineLookup descriptor (maps/map.h) says kArray, R0 = the value's address or 0, then a jump
// to `done`; for any other map it falls through, and the caller emits the helper call after it.
// Clobbers only registers a helper call clobbers anyway (R0-R5 are dead after a call).
void emit_inline_map_lookup(Xbyak::CodeGenerator& code, Xbyak::Label& done);

// True if a call of `helper_fn` is bpf_loop and `image` lets the JIT inline it: a program image
// (not run_raw's) with callbacks and without tail calls (see emit_inline_loop).
bool can_inline_loop(const void* helper_fn, const Program::Impl& image, bool has_tail_calls);

// Upper bound of the bytes emit_inline_loop emits for `image` (the code buffer is sized with it).
size_t inline_loop_bytes(const Program::Impl& image);

// Emits bpf_loop(R1 = nr_loops, R2 = callback, R3 = ctx, R4 = flags) as a native loop that calls
// the callback's JITed function directly (what the kernel's verifier does in inline_bpf_loop),
// then a jump to `done` with R0 = the iterations run. Falls through (the caller emits the helper
// call after it) when R4 is not 0, R1 is above BPF_MAX_LOOPS, R2 is no callback of `image`, the
// run context is not the image's, or runs nest too deep: the helper then gives the answer.
// `function_labels[insn]` labels the native entry of the function starting at insn; `abort`
// is the image's abort stub (a pending abort after the loop ends the run).
void emit_inline_loop(Xbyak::CodeGenerator& code, const Program::Impl& image,
                      const std::vector<Xbyak::Label>& function_labels, Xbyak::Label& abort,
                      Xbyak::Label& done);

}  // namespace hourglass::vm
#endif
