// object/ tests: non-weak __ksym kfuncs (found through the .ksyms DATASEC), a custom global data
// section holding a bpf_spin_lock (its record comes from the DATASEC), and a static variable.
#include "hg_bpf.h"

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

// clang 14 lays a section's variables out in order of first use; calls_seen is used first, so
// the lock sits at a non-zero offset the loader can only learn from the ELF symbol (the DATASEC
// says 0 for every variable).
__u64 locked_count SEC(".bss.A");
struct bpf_spin_lock global_lock SEC(".bss.A");
__u64 calls_seen SEC(".bss.A");
static __u32 hidden_state = 3;

SEC("syscall")
int strong_kfuncs(void *ctx) {
  calls_seen++;
  bpf_rcu_read_lock();
  bpf_spin_lock(&global_lock);
  locked_count++;
  bpf_spin_unlock(&global_lock);
  bpf_rcu_read_unlock();
  hidden_state++;
  return 0;
}
