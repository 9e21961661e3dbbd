// BPF_PROG_TEST_RUN in userspace: builds the program type's context around the caller's data,
// runs the program `repeat` times on a chosen virtual CPU, reports retval, data/ctx out and the
// mean duration per run.
//
// Packet contexts (xdp_md, __sk_buff) carry 32-bit data/data_end fields that programs load and
// use as pointers. The kernel rewrites those loads; we instead place packets below 2 GiB
// (MAP_32BIT) so the 32-bit values are the real addresses and the programs' code runs unchanged.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include "common/run_context.h"
#include "helpers/proto.h"
#include "hourglass/runtime.h"
#include "vm/vm.h"

namespace hourglass {

namespace {

constexpr size_t kPacketHeadroom = 256;  // XDP_PACKET_HEADROOM
constexpr size_t kMaxPacket = 65535;

// A packet buffer below 2 GiB, reused by the thread.
class LowPacketBuffer {
 public:
  static LowPacketBuffer& for_this_thread() {
    thread_local LowPacketBuffer buffer;
    return buffer;
  }
  ~LowPacketBuffer() {
    if (base_) munmap(base_, kSize);
  }
  uint8_t* data() {
    if (!base_) {
      void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                     -1, 0);
      base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    }
    return base_ ? base_ + kPacketHeadroom : nullptr;
  }

 private:
  static constexpr size_t kSize = kPacketHeadroom + kMaxPacket + 4096;
  uint8_t* base_ = nullptr;
};

uint32_t low32(const void* p) { return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p)); }

// Restores the caller's virtual CPU when the run ends.
class VcpuScope {
 public:
  explicit VcpuScope(uint32_t vcpu) : saved_(current_vcpu()) { set_current_vcpu(vcpu); }
  ~VcpuScope() { set_current_vcpu(saved_); }

 private:
  uint32_t saved_;
};

// The clock a test-run's duration is read from. The kernel's test-run loop stops its clock while
// it reschedules (bpf_test_timer_continue), so its duration counts the time the program ran, not
// the time other tasks had the CPU: this thread's CPU time gives the same on a loaded machine
// (and equals wall time on an idle one; programs do not sleep in a test-run). Reading it is a
// real system call (about 1 us under KVM, against tens of ns for the vDSO's monotonic clock), so
// short loops, where a preemption is unlikely and two such calls would dominate, read the
// monotonic clock instead.
constexpr uint32_t kCpuClockMinRuns = 1024;

uint64_t clock_ns(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

// Largest context offset the verifier allows per program type (src/verifier/memory.cpp).
size_t max_ctx_size(helpers::ProgType type) {
  switch (type) {
    case helpers::ProgType::Syscall: return 65536;
    case helpers::ProgType::Tracepoint: return 2048;
    default: return 256;
  }
}

struct PreparedContext {
  std::vector<uint8_t> ctx;       // the context bytes R1 points to
  size_t ctx_out_size = 0;        // bytes of ctx reported back (0: all)
  uint8_t* packet = nullptr;      // packet start (packet programs)
  size_t packet_len = 0;
};

Result<PreparedContext> prepare_context(helpers::ProgType type, const TestRunOptions& options) {
  PreparedContext prepared;
  const bool packet_prog = type == helpers::ProgType::Xdp || type == helpers::ProgType::SchedCls ||
                           type == helpers::ProgType::SchedAct ||
                           type == helpers::ProgType::SocketFilter;
  if (packet_prog) {
    if (options.data_in.size() > kMaxPacket)
      return make_error(E2BIG, "test_run: packet larger than 65535 bytes");
    uint8_t* packet = LowPacketBuffer::for_this_thread().data();
    if (!packet) return make_error(ENOMEM, "test_run: cannot map a packet buffer below 2 GiB");
    std::memcpy(packet, options.data_in.data(), options.data_in.size());
    prepared.packet = packet;
    prepared.packet_len = options.data_in.size();
  }
  switch (type) {
    case helpers::ProgType::Xdp: {
      xdp_md md{};
      if (!options.ctx_in.empty()) std::memcpy(&md, options.ctx_in.data(), std::min(sizeof md, options.ctx_in.size()));
      md.data = low32(prepared.packet);
      md.data_meta = md.data;
      md.data_end = low32(prepared.packet + prepared.packet_len);
      prepared.ctx.assign(reinterpret_cast<uint8_t*>(&md), reinterpret_cast<uint8_t*>(&md) + sizeof md);
      break;
    }
    case helpers::ProgType::SchedCls:
    case helpers::ProgType::SchedAct:
    case helpers::ProgType::SocketFilter: {
      __sk_buff skb{};
      if (!options.ctx_in.empty()) std::memcpy(&skb, options.ctx_in.data(), std::min(sizeof skb, options.ctx_in.size()));
      skb.len = static_cast<uint32_t>(prepared.packet_len);
      skb.wire_len = skb.len;
      if (prepared.packet_len >= ETH_HLEN)
        skb.protocol = static_cast<uint32_t>(prepared.packet[12]) | (prepared.packet[13] << 8);
      skb.data = low32(prepared.packet);
      skb.data_meta = skb.data;
      skb.data_end = low32(prepared.packet + prepared.packet_len);
      prepared.ctx.assign(reinterpret_cast<uint8_t*>(&skb), reinterpret_cast<uint8_t*>(&skb) + sizeof skb);
      break;
    }
    default: {
      // syscall: the user buffer; fentry: the u64 argument array; tracepoints: raw bytes. The
      // buffer is as large as any offset the verifier lets this program type read or write
      // (zeros past what the caller gave), so a verified program never runs off its end.
      prepared.ctx_out_size = options.ctx_in.empty() ? 64 : options.ctx_in.size();
      prepared.ctx = options.ctx_in;
      prepared.ctx.resize(std::max(prepared.ctx.size(), max_ctx_size(type)));
      break;
    }
  }
  return prepared;
}

}  // namespace

Result<TestRunResult> ProgramHandle::test_run(const TestRunOptions& options) const {
  if (!prog_) return make_error(EBADF, "test_run: invalid program handle");
  if (runtime_ && options.cpu >= runtime_->ncpus())
    return make_error(EINVAL, "test_run: cpu " + std::to_string(options.cpu) + " out of range");
  auto prepared = prepare_context(prog_->type(), options);
  if (!prepared.ok()) return prepared.take_error();
  PreparedContext& context = *prepared;
  const uint32_t repeat = std::max(1u, options.repeat);

  VcpuScope vcpu(options.cpu);
  TestRunResult result;
  const clockid_t clock = repeat >= kCpuClockMinRuns ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
  const uint64_t start_ns = clock_ns(clock);
  // The timed loop is the vm's (one run context and epoch guard per batch, as the kernel times
  // its loop inside the syscall), so the mean per run is the program plus the engine's entry.
  auto ran = prog_->run_repeated(reinterpret_cast<uint64_t>(context.ctx.data()), repeat);
  if (!ran.ok()) return make_error(ran.error().code, "program '" + name() + "': " + ran.error().message);
  result.retval = *ran;
  result.duration_ns = (clock_ns(clock) - start_ns) / repeat;
  if (context.packet) result.data_out.assign(context.packet, context.packet + context.packet_len);
  // Only the reported bytes are copied: a syscall context is padded to 64 KiB (max_ctx_size).
  const size_t ctx_out_size = context.ctx_out_size ? std::min(context.ctx_out_size, context.ctx.size())
                                                   : context.ctx.size();
  result.ctx_out.assign(context.ctx.begin(), context.ctx.begin() + static_cast<ptrdiff_t>(ctx_out_size));
  return result;
}

}  // namespace hourglass
