// A program every verifier must refuse, built on purpose as obj_err_*.bpf.c are for the loader:
// the CLI's error-path tests load it (tests/cli). A stack table indexed by `x % 48`, which clang
// lowers to x - (x / 48) * 48: a subtraction whose range neither the kernel's verifier nor
// Hourglass's can bound ("invalid unbounded variable-offset read from stack").
// tests/verifier/objects_test.cpp expects exactly that rejection.
#include "hg_bpf.h"

struct reject_input {
  __u8 data[16];
  __u32 len;
};

SEC("syscall")
int verif_reject_modulo(struct reject_input *in) {
  __u8 data[16];
  __builtin_memcpy(data, in->data, sizeof(data));
  __u32 table[48];
  for (int i = 0; i < 48; i++) table[i] = (__u32)i * 77;
  __u32 acc = 0;
  for (__u32 i = 0; i < 16; i++) {
    __u32 slot = (data[i] * 13u + i) % 48;
    acc += table[slot];
  }
  return (int)acc;
}
