#include "common/run_context.h"

namespace hourglass {

namespace {
thread_local RunContext* tls_run = nullptr;
thread_local uint32_t tls_vcpu = 0;
}  // namespace

RunContext*& current_run() noexcept { return tls_run; }
uint32_t current_vcpu() noexcept { return tls_vcpu; }
void set_current_vcpu(uint32_t vcpu) noexcept { tls_vcpu = vcpu; }

}  // namespace hourglass
