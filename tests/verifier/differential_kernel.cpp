// Kernel-side loading for the differential tests (see differential_kernel.h).
#include "differential_kernel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <iostream>
#include <memory>
#include <string_view>

namespace hourglass::verifier::differential {
namespace {

// Large enough for the level-1 log of every test program; the kernel's log is rotating (6.4+),
// so a longer log would lose its start, never fail the load.
constexpr size_t kLogSize = 8u << 20;

// libbpf's print hook has no user pointer: it appends to this buffer, which only the test thread
// touches (captured around one load at a time).
std::string g_libbpf_output;

int capture_libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  const int n = vsnprintf(line, sizeof(line), format, args);
  if (n > 0) g_libbpf_output.append(line, std::min<size_t>(static_cast<size_t>(n), sizeof(line) - 1));
  return 0;
}

struct ObjectCloser {
  void operator()(bpf_object* object) const { bpf_object__close(object); }
};

// Kernel rejections that are about the environment, not the program's safety: an attach target,
// kernel BTF for kfuncs/fentry, or features of the load attributes libbpf fills from the
// section name. The phrase is matched in the kernel's reason (or libbpf's output when the
// verifier never ran).
struct NonSafetyReason {
  const char* phrase;
  const char* note;
};
constexpr NonSafetyReason kNonSafetyReasons[] = {
    {"attach_btf_id", "needs an attach target (fentry/fexit)"},
    {"Tracing programs must provide btf_id", "needs an attach target (fentry/fexit)"},
    {"failed to find kernel BTF type ID", "attach target not in vmlinux BTF"},
    {"extern (func ksym)", "kfunc not in the kernel (defined by Hourglass)"},
    {"failed to resolve", "kfunc/ksym resolution in libbpf"},
    {"calling kernel function", "kfunc not allowed for this type in the kernel"},
    {"kernel function", "kfunc BTF differs from the kernel's"},
    {"unknown func", "helper not in this kernel or not for this program type"},
};

const char* non_safety_note(const std::string& text) {
  for (const NonSafetyReason& reason : kNonSafetyReasons)
    if (text.find(reason.phrase) != std::string::npos) return reason.note;
  return nullptr;
}


}  // namespace

uint32_t processed_insns_in(const std::string& log) {
  const size_t at = log.rfind("processed ");
  if (at == std::string::npos) return 0;
  return static_cast<uint32_t>(std::strtoul(log.c_str() + at + 10, nullptr, 10));
}

std::string last_line(const std::string& log) {
  size_t end = log.size();
  while (end > 0) {
    while (end > 0 && (log[end - 1] == '\n' || log[end - 1] == ' ')) --end;
    const size_t start = log.rfind('\n', end == 0 ? 0 : end - 1);
    const size_t begin = start == std::string::npos ? 0 : start + 1;
    std::string line = log.substr(begin, end - begin);
    // The stats lines the kernel appends after the reason are not the reason.
    if (!line.starts_with("processed ") && !line.starts_with("verification time") &&
        !line.starts_with("stack depth") && !line.starts_with("cur state:") &&
        !line.starts_with("old state:") && !line.starts_with("libbpf: failed to load object") &&
        !line.empty())
      return line;
    if (begin == 0) break;
    end = begin;
  }
  return {};
}

bool kernel_can_load(std::string* why) {
  const std::vector<isa::Insn> trivial = {
      isa::Insn{isa::kClassAlu64 | isa::kAluMov | isa::kSrcK, 0, 0, 0, 0},
      isa::Insn{isa::kOpExit, 0, 0, 0, 0}};
  KernelVerdict verdict = kernel_load_insns(1 /* socket filter */, trivial, 0);
  if (!verdict.loaded) *why = std::string("bpf(BPF_PROG_LOAD) failed: ") + std::strerror(verdict.error);
  return verdict.loaded;
}

KernelVerdict kernel_load_insns(uint32_t prog_type, const std::vector<isa::Insn>& insns,
                                uint32_t log_level, uint32_t prog_flags,
                                const RawFuncInfo* func_info) {
  static_assert(sizeof(isa::Insn) == sizeof(bpf_insn));
  KernelVerdict verdict;
  std::string log(log_level ? kLogSize : 0, '\0');
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.prog_flags = prog_flags;
  if (func_info && func_info->btf_fd >= 0 && !func_info->insn_and_type.empty()) {
    static_assert(sizeof(bpf_func_info) == 2 * sizeof(uint32_t));
    opts.prog_btf_fd = static_cast<uint32_t>(func_info->btf_fd);
    opts.func_info = func_info->insn_and_type.data();
    opts.func_info_cnt = static_cast<uint32_t>(func_info->insn_and_type.size() / 2);
    opts.func_info_rec_size = sizeof(bpf_func_info);
  }
  if (log_level) {
    opts.log_level = log_level;
    opts.log_buf = log.data();
    opts.log_size = static_cast<uint32_t>(log.size());
  }
  const int fd = bpf_prog_load(static_cast<bpf_prog_type>(prog_type), "hg_diff", "GPL",
                               reinterpret_cast<const bpf_insn*>(insns.data()), insns.size(), &opts);
  verdict.loaded = fd >= 0;
  verdict.error = fd >= 0 ? 0 : errno;
  if (fd >= 0) close(fd);
  log.resize(strnlen(log.data(), log.size()));
  verdict.log = std::move(log);
  verdict.verifier_ran = !verdict.log.empty();
  verdict.processed = processed_insns_in(verdict.log);
  return verdict;
}

KernelVerdict kernel_load_object_program(const std::string& path, const std::string& program) {
  KernelVerdict verdict;
  g_libbpf_output.clear();
  libbpf_print_fn_t previous = libbpf_set_print(capture_libbpf_print);
  std::string log(kLogSize, '\0');
  std::unique_ptr<bpf_object, ObjectCloser> object(bpf_object__open_file(path.c_str(), nullptr));
  if (!object) {
    verdict.error = errno;
  } else {
    // No pinning: the harness must leave no trace in bpffs (LIBBPF_PIN_BY_NAME maps).
    bpf_map* map;
    bpf_object__for_each_map(map, object.get()) bpf_map__set_pin_path(map, nullptr);
    bpf_program* prog;
    bool found = false;
    bpf_object__for_each_program(prog, object.get()) {
      const bool wanted = program == bpf_program__name(prog);
      found |= wanted;
      bpf_program__set_autoload(prog, wanted);
      if (wanted) {
        bpf_program__set_log_buf(prog, log.data(), log.size());
        bpf_program__set_log_level(prog, 1 | 4);
      }
    }
    if (!found) {
      verdict.error = ENOENT;
    } else {
      const int rc = bpf_object__load(object.get());
      verdict.loaded = rc == 0;
      verdict.error = rc == 0 ? 0 : -rc;
      // libbpf names the program when the kernel refused it; a failure without that, after the
      // verifier's stats line, came later (e.g. a prog_array slot naming a program that is not
      // loaded in this one-program run): the kernel's verifier accepted the program.
      const std::string refused = "prog '" + program + "': BPF program load failed";
      if (rc != 0 && g_libbpf_output.find(refused) == std::string::npos &&
          std::string_view(log.c_str()).find("processed ") != std::string_view::npos) {
        verdict.loaded = true;
        verdict.after_verifier = last_line(g_libbpf_output);
      }
    }
  }
  libbpf_set_print(previous);
  log.resize(strnlen(log.data(), log.size()));
  verdict.log = std::move(log);
  verdict.verifier_ran = !verdict.log.empty();
  verdict.processed = processed_insns_in(verdict.log);
  verdict.libbpf_log = std::move(g_libbpf_output);
  return verdict;
}

// ---- comparison and report

const char* agreement_name(Agreement agreement) {
  switch (agreement) {
    case Agreement::BothAccept: return "agree (accept)";
    case Agreement::BothReject: return "agree (reject)";
    case Agreement::NotComparable: return "not comparable";
    case Agreement::Bug: return "BUG: kernel rejects";
    case Agreement::Gap: return "gap: kernel accepts";
    case Agreement::Known: return "known difference: kernel rejects";
  }
  return "?";
}

std::string clip(const std::string& text, size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

void print_table(const std::vector<Row>& rows) {
  std::cout << "\n| object | program | type | Hourglass | kernel | agreement |\n"
            << "|---|---|---|---|---|---|\n";
  for (const Row& row : rows) {
    std::cout << "| " << row.object << " | " << row.program << " | " << row.type << " | "
              << clip(row.hourglass, 70) << " | " << clip(row.kernel, 70) << " | "
              << agreement_name(row.agreement) << (row.note.empty() ? "" : "; " + row.note)
              << " |\n";
  }
  size_t counts[6] = {};
  for (const Row& row : rows) ++counts[static_cast<int>(row.agreement)];
  std::cout << "programs " << rows.size() << ": agree " << counts[0] + counts[1]
            << ", not comparable " << counts[2] << ", bugs " << counts[3] << ", gaps "
            << counts[4] << ", known differences " << counts[5] << "\n\n";
}

// The reason part of an Hourglass error: after the "insn N (...): " prefix.
std::string hourglass_reason(const std::string& message) {
  const std::string first = message.substr(0, message.find('\n'));
  const size_t colon = first.rfind("): ");
  if (colon != std::string::npos) return first.substr(colon + 3);
  const size_t insn = first.find(": insn ");
  if (insn != std::string::npos) {
    const size_t after = first.find(": ", insn + 2);
    if (after != std::string::npos) return first.substr(after + 2);
  }
  return first;
}

std::string kernel_reason(const KernelVerdict& kernel) {
  const std::string reason = kernel.verifier_ran ? last_line(kernel.log) : last_line(kernel.libbpf_log);
  return reason.empty() ? std::string("error ") + std::strerror(kernel.error) : reason;
}

void classify(bool hourglass_ok, const KernelVerdict& kernel, Row* row) {
  row->kernel = kernel.loaded ? "accept" : kernel_reason(kernel);
  if (hourglass_ok && kernel.loaded) {
    row->agreement = Agreement::BothAccept;
    if (!kernel.after_verifier.empty()) row->note = "object load failed after: " + kernel.after_verifier;
  } else if (!hourglass_ok && !kernel.loaded) {
    row->agreement = Agreement::BothReject;
  } else if (hourglass_ok) {
    const char* note = non_safety_note(row->kernel);
    if (!note && !kernel.verifier_ran) note = "failed before the kernel's verifier ran";
    row->agreement = note ? Agreement::NotComparable : Agreement::Bug;
    if (note) row->note = note;
  } else {
    row->agreement = Agreement::Gap;
  }
}

}  // namespace hourglass::verifier::differential
