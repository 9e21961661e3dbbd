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
#include "vm/jit_x86.h"

namespace hourglass::vm {

namespace {
constexpr uint32_t kHelperMapLookupElem = 1;
constexpr uint32_t kHelperLoop = 181;
// BPF_MAX_LOOPS: larger counts go to the helper, which rejects them with -E2BIG.
constexpr int32_t kMaxLoops = 1 << 23;
// Images with more callbacks than this call the helper (the inline loop tests R2 against each).
constexpr size_t kMaxInlineLoopCallbacks = 8;

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

bool can_inline_loop(const void* helper_fn, const Program::Impl& image, bool has_tail_calls) {
  const helpers::HelperProto* loop = helpers::find_helper(kHelperLoop);
  return loop != nullptr && reinterpret_cast<const void*>(loop->fn) == helper_fn &&
         image.self != nullptr && !has_tail_calls && !image.callbacks.empty() &&
         image.callbacks.size() <= kMaxInlineLoopCallbacks;
}

size_t inline_loop_bytes(const Program::Impl& image) {
  return 256 + 32 * image.callbacks.size();
}

// The loop keeps its variables in a 48-byte block it pushes below the calling function's frame
// (rsp stays 16-byte aligned for the calls): the callback may use every register but r12, rbp
// and the host registers of R6-R9, which hold the calling function's values.
//
// Semantics as with the helper: the callback runs as a fresh run would (call depth from 0, the
// enclosing depth restored afterwards; images with tail calls are not inlined, so the current
// program and tail-call count cannot change) and the number of runs nested on the thread is
// counted against the same bound (JitRunState::nested_runs). One difference: an error inside
// the callback (call depth, an abort) ends the whole run at once through the error exit, with
// the callback's message, where the helper would finish its remaining iterations first and the
// run would then stop with the same message.
void emit_inline_loop(Xbyak::CodeGenerator& code, const Program::Impl& image,
                      const std::vector<Xbyak::Label>& function_labels, Xbyak::Label& abort,
                      Xbyak::Label& done) {
  using namespace Xbyak::util;
  auto state = [](size_t field_offset) { return r12 + static_cast<int>(field_offset); };
  constexpr int kEntry = 0, kCount = 8, kContext = 16, kIndex = 24, kDepth = 32, kNested = 40;
  constexpr int kBlockBytes = 48;
  Xbyak::Label not_inlined, found, next_iteration, check, finished;

  // Guards: anything unusual takes the helper.
  code.test(rcx, rcx);
  code.jnz(not_inlined, code.T_NEAR);
  code.cmp(rdi, kMaxLoops);
  code.ja(not_inlined, code.T_NEAR);
  code.mov(r11, qword[state(offsetof(JitRunState, run))]);
  code.mov(r10, reinterpret_cast<uint64_t>(static_cast<ProgramRef*>(image.self)));
  code.cmp(qword[r11 + static_cast<int>(offsetof(RunContext, program))], r10);
  code.jne(not_inlined, code.T_NEAR);
  if (image.env != nullptr) {  // a nested RunScope would install the image's env
    code.mov(r10, reinterpret_cast<uint64_t>(image.env));
    code.cmp(qword[r11 + static_cast<int>(offsetof(RunContext, env))], r10);
    code.jne(not_inlined, code.T_NEAR);
  }
  code.mov(r11, qword[state(offsetof(JitRunState, nested_runs))]);
  code.cmp(dword[r11], kMaxNestedJitRuns);
  code.jae(not_inlined, code.T_NEAR);
  for (const CallbackTarget& target : image.callbacks) {
    Xbyak::Label other;
    code.mov(r10, reinterpret_cast<uint64_t>(&target));
    code.cmp(rsi, r10);
    code.jne(other, code.T_NEAR);
    code.lea(r10, ptr[rip + function_labels[target.entry_insn]]);
    code.jmp(found, code.T_NEAR);
    code.L(other);
  }
  code.jmp(not_inlined, code.T_NEAR);

  code.L(found);  // r10 = the callback's native entry, r11 = &nested runs
  code.add(dword[r11], 1);
  code.sub(rsp, kBlockBytes);
  code.mov(qword[rsp + kEntry], r10);
  code.mov(qword[rsp + kCount], rdi);
  code.mov(qword[rsp + kContext], rdx);
  code.mov(qword[rsp + kIndex], 0);
  code.mov(eax, dword[state(offsetof(JitRunState, depth))]);
  code.mov(qword[rsp + kDepth], rax);
  code.mov(dword[state(offsetof(JitRunState, depth))], 0);
  code.mov(qword[rsp + kNested], r11);
  code.jmp(check, code.T_NEAR);

  code.L(next_iteration);  // callback(index, ctx, 0, 0, 0), as the helper calls it
  code.mov(rdi, qword[rsp + kIndex]);
  code.mov(rsi, qword[rsp + kContext]);
  code.xor_(edx, edx);
  code.xor_(ecx, ecx);
  code.xor_(r8d, r8d);
  code.call(qword[rsp + kEntry]);
  code.add(qword[rsp + kIndex], 1);
  code.test(rax, rax);  // non-zero: stop
  code.jnz(finished, code.T_NEAR);
  code.L(check);
  code.mov(rax, qword[rsp + kIndex]);
  code.cmp(rax, qword[rsp + kCount]);
  code.jb(next_iteration, code.T_NEAR);

  code.L(finished);
  code.mov(rax, qword[rsp + kIndex]);
  code.mov(r11, qword[rsp + kDepth]);
  code.mov(dword[state(offsetof(JitRunState, depth))], r11d);
  code.mov(r11, qword[rsp + kNested]);
  code.sub(dword[r11], 1);
  code.add(rsp, kBlockBytes);
  code.cmp(byte[state(offsetof(JitRunState, abort_pending))], 0);
  code.jne(abort, code.T_NEAR);
  code.jmp(done, code.T_NEAR);
  code.L(not_inlined);
}

}  // namespace hourglass::vm
#endif  // __x86_64__
