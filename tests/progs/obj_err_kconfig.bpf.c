// object/ tests: a non-weak __kconfig extern without a known value must be refused by name.
#include "hg_bpf.h"

extern int CONFIG_HG_NOT_A_REAL_OPTION __kconfig;

SEC("syscall")
int reads_kconfig(void *ctx) { return CONFIG_HG_NOT_A_REAL_OPTION; }
