// object/ tests: CO-RE field relocations (preserve_access_index) are refused with a clear message.
#include "hg_bpf.h"

struct task_like {
  int pid;
  int tgid;
} __attribute__((preserve_access_index));

SEC("raw_tp/sched_switch")
int reads_core(struct task_like *task) { return task->tgid; }
