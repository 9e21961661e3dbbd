// Programs that read stack bytes they never wrote, as clang emits them: a struct key whose
// padding is left uninitialised, looked up in a hash map. The kernel lets a privileged loader do
// that (the bytes are whatever the stack held); Hourglass's verifier accepts it too and its vm
// starts such a function with a zeroed frame (tests/runtime/runtime_features_test.cpp,
// UninitialisedStackReadsAsZeros).
#include "hg_bpf.h"

struct padded_key {
  __u8 tag;  // 7 bytes of padding follow: never written below
  __u64 id;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, struct padded_key);
  __type(value, __u64);
} by_key SEC(".maps");

// Fills its whole frame with ones, so that a later run on this thread finds dirty stack.
SEC("syscall")
int dirty_stack(void *ctx) {
  volatile __u64 junk[60];
#pragma clang loop unroll(disable)
  for (int i = 0; i < 60; i++) junk[i] = ~0ull;
  return (int)junk[7];
}

SEC("syscall")
int lookup_padded(void *ctx) {
  struct padded_key key;
  key.tag = 1;
  key.id = 42;
  __u64 *value = bpf_map_lookup_elem(&by_key, &key);
  return value ? (int)*value : -1;
}

char LICENSE[] SEC("license") = "GPL";
