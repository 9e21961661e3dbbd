// How lower parts (maps, timers, helpers) see a loaded program without depending on vm/ or
// runtime/: a reference-counted handle they can hold (a timer keeps its callback's program alive)
// and the run-time value of a BPF function pointer (ld_imm64 with BPF_PSEUDO_FUNC).
#pragma once

#include <cstdint>

namespace hourglass {

class ProgramRef {
 public:
  // Reference counting mirrors bpf_prog_inc / bpf_prog_inc_not_zero / bpf_prog_put.
  virtual void acquire() noexcept = 0;
  virtual bool try_acquire() noexcept = 0;  // fails once the count reached zero
  virtual void release() noexcept = 0;
  virtual const char* name() const noexcept = 0;

 protected:
  ~ProgramRef() = default;
};

// What `ld_imm64 rX, BPF_PSEUDO_FUNC` loads at run time: a pointer to one of these, owned by the
// program image, so it stays valid for as long as a reference on `program` is held.
struct CallbackTarget {
  ProgramRef* program = nullptr;  // the program whose image contains the subprogram
  uint32_t entry_insn = 0;        // index of the subprogram's first instruction
  const char* name = "";          // subprogram name (symbol / BTF func), for introspection
  // Runs the subprogram with R1-R5 on the calling thread, setting up the run context (current
  // program, epoch guard) itself. Installed by vm/ when the image is prepared.
  uint64_t (*invoke)(const CallbackTarget* self, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                     uint64_t r5) = nullptr;
  void* engine_data = nullptr;  // vm-private (image pointer, native entry)
  // Prefetches what `invoke` reads first (the image, its native code, the program's maps),
  // for a caller about to invoke after a long idle stretch (a timer worker spinning towards an
  // expiry). Reads only; the caller must keep `program` alive across the call. Installed by vm/.
  void (*warm)(const CallbackTarget* self) = nullptr;
};

}  // namespace hourglass
