// SEC() names to program types, after libbpf's section table: an entry written "name+" matches
// the name alone or the name followed by '/' and an attach target; other entries match exactly.
#include "object/program_sections.h"

#include <array>
#include <string_view>

namespace hourglass::object {
namespace {

using helpers::ProgType;

struct SectionRule {
  std::string_view prefix;
  bool takes_target;  // libbpf's '+': "prefix" or "prefix/<target>"
  ProgType type;
  bool sleepable;
};

// Only program types helpers::ProgType names; others (lsm, freplace, cgroup/..., sk_*...) come
// out Unspec and the runtime refuses them by name.
constexpr std::array kSectionRules = {
    SectionRule{"socket", false, ProgType::SocketFilter, false},
    SectionRule{"kprobe", true, ProgType::Kprobe, false},
    SectionRule{"kretprobe", true, ProgType::Kprobe, false},
    SectionRule{"kprobe.multi", true, ProgType::Kprobe, false},
    SectionRule{"kretprobe.multi", true, ProgType::Kprobe, false},
    SectionRule{"ksyscall", true, ProgType::Kprobe, false},
    SectionRule{"kretsyscall", true, ProgType::Kprobe, false},
    SectionRule{"uprobe", true, ProgType::Kprobe, false},
    SectionRule{"uprobe.s", true, ProgType::Kprobe, true},
    SectionRule{"uretprobe", true, ProgType::Kprobe, false},
    SectionRule{"uretprobe.s", true, ProgType::Kprobe, true},
    SectionRule{"usdt", true, ProgType::Kprobe, false},
    SectionRule{"tc", false, ProgType::SchedCls, false},
    SectionRule{"classifier", false, ProgType::SchedCls, false},
    SectionRule{"action", false, ProgType::SchedAct, false},
    SectionRule{"tracepoint", true, ProgType::Tracepoint, false},
    SectionRule{"tp", true, ProgType::Tracepoint, false},
    SectionRule{"raw_tracepoint", true, ProgType::RawTracepoint, false},
    SectionRule{"raw_tp", true, ProgType::RawTracepoint, false},
    SectionRule{"tp_btf", true, ProgType::Tracing, false},
    SectionRule{"fentry", true, ProgType::Tracing, false},
    SectionRule{"fmod_ret", true, ProgType::Tracing, false},
    SectionRule{"fexit", true, ProgType::Tracing, false},
    SectionRule{"fentry.s", true, ProgType::Tracing, true},
    SectionRule{"fmod_ret.s", true, ProgType::Tracing, true},
    SectionRule{"fexit.s", true, ProgType::Tracing, true},
    SectionRule{"iter", true, ProgType::Tracing, false},
    SectionRule{"iter.s", true, ProgType::Tracing, true},
    SectionRule{"syscall", false, ProgType::Syscall, false},
    SectionRule{"xdp.frags/devmap", false, ProgType::Xdp, false},
    SectionRule{"xdp/devmap", false, ProgType::Xdp, false},
    SectionRule{"xdp.frags/cpumap", false, ProgType::Xdp, false},
    SectionRule{"xdp/cpumap", false, ProgType::Xdp, false},
    SectionRule{"xdp.frags", false, ProgType::Xdp, false},
    SectionRule{"xdp", false, ProgType::Xdp, false},
    SectionRule{"perf_event", false, ProgType::PerfEvent, false},
};

const SectionRule* find_rule(std::string_view section) {
  for (const SectionRule& rule : kSectionRules) {
    if (section == rule.prefix) return &rule;
    if (rule.takes_target && section.size() > rule.prefix.size() &&
        section.substr(0, rule.prefix.size()) == rule.prefix &&
        section[rule.prefix.size()] == '/') {
      return &rule;
    }
  }
  return nullptr;
}

}  // namespace

helpers::ProgType prog_type_from_section(const std::string& section) {
  const SectionRule* rule = find_rule(section);
  return rule != nullptr ? rule->type : ProgType::Unspec;
}

namespace detail {

bool section_is_sleepable(const std::string& section) {
  const SectionRule* rule = find_rule(section);
  return rule != nullptr && rule->sleepable;
}

std::string section_attach_target(const std::string& section) {
  const size_t slash = section.find('/');
  return slash == std::string::npos ? std::string() : section.substr(slash + 1);
}

}  // namespace detail
}  // namespace hourglass::object
