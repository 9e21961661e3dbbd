// object/ tests: __kconfig extern variables are not supported and must be refused by name.
#include "hg_bpf.h"

extern int LINUX_KERNEL_VERSION __kconfig;

SEC("syscall")
int reads_kconfig(void *ctx) { return LINUX_KERNEL_VERSION; }
