// Clock, CPU, random, printk, spin lock and loop helpers.
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/program_ref.h"
#include "common/run_context.h"
#include "helpers/helpers.h"
#include "helpers/impl.h"
#include "timers/timers.h"

namespace hourglass::helpers::impl {

namespace {

// Linux clock ids the ktime helpers read.
constexpr uint32_t kClockMonotonic = 1, kClockMonotonicCoarse = 6, kClockBoottime = 7,
                   kClockTai = 11;
// jiffies advance at CONFIG_HZ; Debian's kernels use 250.
constexpr uint64_t kJiffyNs = 1'000'000'000 / 250;
// Largest bpf_loop count the kernel accepts (BPF_MAX_LOOPS).
constexpr uint64_t kMaxLoops = 1u << 23;

uint64_t read_clock(uint32_t clock_id) {
  RunContext* run = current_run();
  if (run && run->env && run->env->timers) return run->env->timers->now(clock_id);
  timespec ts{};
  clock_gettime(static_cast<clockid_t>(clock_id), &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// xorshift64*, one state per thread. Seeded from the environment's seed and the vCPU so that a
// virtual-time scenario sees the same sequence on every run.
uint64_t next_random() {
  thread_local uint64_t state = 0;
  if (state == 0) {
    RunContext* run = current_run();
    uint64_t seed = run && run->env ? run->env->prandom_seed : 0;
    if (seed == 0) seed = static_cast<uint64_t>(read_clock(kClockMonotonic)) | 1;
    state = (seed ^ (0x9e3779b97f4a7c15ull * (current_vcpu() + 1))) | 1;
  }
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dull;
}

}  // namespace

u64 ktime_get_ns(u64, u64, u64, u64, u64) { return read_clock(kClockMonotonic); }
u64 ktime_get_boot_ns(u64, u64, u64, u64, u64) { return read_clock(kClockBoottime); }
u64 ktime_get_coarse_ns(u64, u64, u64, u64, u64) { return read_clock(kClockMonotonicCoarse); }
u64 ktime_get_tai_ns(u64, u64, u64, u64, u64) { return read_clock(kClockTai); }
u64 jiffies64(u64, u64, u64, u64, u64) { return read_clock(kClockMonotonic) / kJiffyNs; }
u64 get_prandom_u32(u64, u64, u64, u64, u64) { return next_random() >> 32; }
u64 get_smp_processor_id(u64, u64, u64, u64, u64) { return current_vcpu(); }
u64 get_numa_node_id(u64, u64, u64, u64, u64) { return 0; }

u64 get_current_pid_tgid(u64, u64, u64, u64, u64) {
  return (static_cast<u64>(getpid()) << 32) | static_cast<u64>(syscall(SYS_gettid));
}

// bpf_spin_lock is a 4-byte word in a map value. Holders never call helpers and never sleep
// (verifier rule), so a test-and-set spin with a pause is what the kernel does too.
u64 spin_lock(u64 lock, u64, u64, u64, u64) {
  auto* word = reinterpret_cast<uint32_t*>(lock);
  while (__atomic_exchange_n(word, 1u, __ATOMIC_ACQUIRE) != 0) {
    while (__atomic_load_n(word, __ATOMIC_RELAXED) != 0) __builtin_ia32_pause();
  }
  return 0;
}

u64 spin_unlock(u64 lock, u64, u64, u64, u64) {
  __atomic_store_n(reinterpret_cast<uint32_t*>(lock), 0u, __ATOMIC_RELEASE);
  return 0;
}

// bpf_loop(nr_loops, callback(index, ctx), ctx, flags): the callback returns 0 to go on, 1 to
// stop; the result is the number of iterations run.
u64 loop(u64 nr_loops, u64 callback, u64 callback_ctx, u64 flags, u64) {
  if (flags != 0) return static_cast<u64>(-EINVAL);
  if (nr_loops > kMaxLoops) return static_cast<u64>(-E2BIG);
  auto* target = reinterpret_cast<const CallbackTarget*>(callback);
  u64 i = 0;
  while (i < nr_loops) {
    u64 ret = target->invoke(target, i, callback_ctx, 0, 0, 0);
    ++i;
    if (ret) break;
  }
  return i;
}

// bpf_trace_printk(fmt, fmt_size, a1, a2, a3): the kernel's subset of printf conversions (%d %i
// %u %x %X %c %s %p %%, with l/ll), at most three arguments; an unsupported conversion is
// -EINVAL as in the kernel. The line goes to the environment's sink.
u64 trace_printk(u64 fmt_ptr, u64 fmt_size, u64 a1, u64 a2, u64 a3) {
  const char* fmt = reinterpret_cast<const char*>(fmt_ptr);
  size_t fmt_len = strnlen(fmt, fmt_size);
  if (fmt_len == fmt_size) return static_cast<u64>(-EINVAL);  // must be NUL-terminated
  const u64 args[3] = {a1, a2, a3};
  int next_arg = 0;
  std::string out;
  for (size_t i = 0; i < fmt_len; ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt_len) return static_cast<u64>(-EINVAL);
    if (fmt[i] == '%') {
      out += '%';
      continue;
    }
    int longs = 0;
    while (i < fmt_len && fmt[i] == 'l' && longs < 2) ++longs, ++i;
    if (i >= fmt_len || next_arg >= 3) return static_cast<u64>(-EINVAL);
    u64 value = args[next_arg++];
    if (longs == 0 && fmt[i] != 'p' && fmt[i] != 's') value &= 0xffffffffull;
    char buf[64];
    switch (fmt[i]) {
      case 'd':
      case 'i':
        snprintf(buf, sizeof buf, "%" PRId64,
                 longs ? static_cast<int64_t>(value) : static_cast<int64_t>(static_cast<int32_t>(value)));
        break;
      case 'u': snprintf(buf, sizeof buf, "%" PRIu64, value); break;
      case 'x': snprintf(buf, sizeof buf, "%" PRIx64, value); break;
      case 'X': snprintf(buf, sizeof buf, "%" PRIX64, value); break;
      case 'c': snprintf(buf, sizeof buf, "%c", static_cast<char>(value)); break;
      case 'p': snprintf(buf, sizeof buf, "0x%" PRIx64, value); break;
      case 's': {
        const char* s = reinterpret_cast<const char*>(value);
        out.append(s ? s : "(null)", s ? strnlen(s, 256) : 6);
        continue;
      }
      default: return static_cast<u64>(-EINVAL);
    }
    out += buf;
  }
  RunContext* run = current_run();
  if (run && run->env && run->env->trace_sink) run->env->trace_sink(out);
  return out.size();
}

}  // namespace hourglass::helpers::impl
