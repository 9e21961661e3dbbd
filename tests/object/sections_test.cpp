// prog_type_from_section(): libbpf's section table, exact names vs "name/<target>" forms.
#include "object_test_util.h"

namespace hourglass::object::testing {
namespace {

using helpers::ProgType;

TEST(ObjectSections, KnownNamesMapToProgramTypes) {
  const std::pair<const char*, ProgType> cases[] = {
      {"xdp", ProgType::Xdp},
      {"xdp.frags", ProgType::Xdp},
      {"xdp/devmap", ProgType::Xdp},
      {"tc", ProgType::SchedCls},
      {"classifier", ProgType::SchedCls},
      {"action", ProgType::SchedAct},
      {"syscall", ProgType::Syscall},
      {"socket", ProgType::SocketFilter},
      {"tracepoint/syscalls/sys_enter_write", ProgType::Tracepoint},
      {"tp/sched/sched_switch", ProgType::Tracepoint},
      {"kprobe/do_sys_open", ProgType::Kprobe},
      {"kretprobe/do_sys_open", ProgType::Kprobe},
      {"kprobe.multi/do_*", ProgType::Kprobe},
      {"uprobe.s/bin:func", ProgType::Kprobe},
      {"fentry/do_nanosleep", ProgType::Tracing},
      {"fexit/do_nanosleep", ProgType::Tracing},
      {"fentry.s/do_nanosleep", ProgType::Tracing},
      {"fmod_ret/x", ProgType::Tracing},
      {"tp_btf/sched_switch", ProgType::Tracing},
      {"raw_tp/sched_switch", ProgType::RawTracepoint},
      {"raw_tracepoint/sched_switch", ProgType::RawTracepoint},
      {"perf_event", ProgType::PerfEvent},
      {"kprobe", ProgType::Kprobe},  // '+' entries also match the bare name
  };
  for (const auto& [section, type] : cases) {
    EXPECT_EQ(prog_type_from_section(section), type) << section;
  }
}

TEST(ObjectSections, UnknownOrMalformedNamesAreUnspec) {
  for (const char* section : {"", "xdp/foo", "xdpx", "tcx", "kprobes/x", "tracepointx/a",
                              "lsm/file_open", "cgroup_skb/ingress", ".text", "socket/1"}) {
    EXPECT_EQ(prog_type_from_section(section), ProgType::Unspec) << section;
  }
}

}  // namespace
}  // namespace hourglass::object::testing
