// object/ tests: __kconfig externs become a ".kconfig" map: LINUX_KERNEL_VERSION is the kernel
// we follow (6.18), weak unknown options read as zero.
#include "hg_bpf.h"

extern int LINUX_KERNEL_VERSION __kconfig;
extern _Bool CONFIG_HG_WEAK_FLAG __kconfig __weak;
extern unsigned long CONFIG_HG_WEAK_NUMBER __kconfig __weak;

SEC("syscall")
int reads_kconfig(void *ctx) {
  return LINUX_KERNEL_VERSION + CONFIG_HG_WEAK_FLAG + (int)CONFIG_HG_WEAK_NUMBER;
}
