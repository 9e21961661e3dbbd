// The host kernel as a second verifier: load an object's program (libbpf) or a raw instruction
// vector (bpf_prog_load) into the running kernel and report its verdict and log, so the
// differential tests can compare it with Hourglass's verify().
//
// Everything here runs on the test's one thread; the libbpf print hook writes into a buffer that
// only that thread reads (see differential_kernel.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/insn.h"

namespace hourglass::verifier::differential {

// Whether bpf() can load a trivial socket filter here (root, syscall not filtered). On false,
// `why` says what failed, for GTEST_SKIP.
bool kernel_can_load(std::string* why);

struct KernelVerdict {
  bool loaded = false;
  int error = 0;             // positive errno when !loaded
  bool verifier_ran = false;  // the kernel's verifier log has content
  std::string log;           // the kernel's verifier log (level 1 | stats)
  std::string libbpf_log;    // what libbpf printed (warnings), for failures before the verifier
  uint32_t processed = 0;    // "processed N insns"
  // The verifier accepted the program but loading the object failed afterwards (libbpf's
  // reason); `loaded` is true then.
  std::string after_verifier;
};

// Opens `path` with libbpf, loads only `program` (every other program's autoload off).
KernelVerdict kernel_load_object_program(const std::string& path, const std::string& program);

// BTF func_info for a raw load (the kernel wants it for programs with callbacks): pairs of
// (first instruction, FUNC type id in the BTF object `btf_fd`), sorted by instruction.
struct RawFuncInfo {
  int btf_fd = -1;
  std::vector<uint32_t> insn_and_type;  // flattened {insn_off, type_id}, the kernel's layout
};

// Loads raw instructions of `prog_type` (kernel numbering) with the GPL license. ld_imm64 map
// references must already hold file descriptors.
KernelVerdict kernel_load_insns(uint32_t prog_type, const std::vector<isa::Insn>& insns,
                                uint32_t log_level = 1 | 4, uint32_t prog_flags = 0,
                                const RawFuncInfo* func_info = nullptr);

// "processed N insns" from a kernel verifier log, 0 when absent.
uint32_t processed_insns_in(const std::string& log);
// The last non-empty line of a log: the kernel's reason for a rejection.
std::string last_line(const std::string& log);

// ---- comparison and report, shared by the object and corpus tables
// Known: Hourglass accepts, the kernel rejects, analysed and listed by the caller.
enum class Agreement { BothAccept, BothReject, NotComparable, Bug, Gap, Known };
const char* agreement_name(Agreement agreement);

struct Row {
  std::string object;     // object file, or corpus part
  std::string program;
  std::string type;
  std::string hourglass;  // "accept" or the reason
  std::string kernel;     // "accept" or the reason
  Agreement agreement = Agreement::NotComparable;
  std::string note;       // why not comparable
  std::string details;    // whole logs, when asked for (HG_DIFF_VERBOSE)
};

// The reason part of an Hourglass verifier error: after the "insn N (...): " prefix.
std::string hourglass_reason(const std::string& message);

// The kernel's reason for a failed load: the verifier's last line, or libbpf's when the verifier
// never ran.
std::string kernel_reason(const KernelVerdict& kernel);

// Fills row.agreement / row.note from both verdicts. A kernel rejection is "not comparable" when
// its reason is about the environment (attach targets, kernel BTF, kfuncs Hourglass defines
// itself, helpers this kernel lacks) or the kernel's verifier never ran.
void classify(bool hourglass_ok, const KernelVerdict& kernel, Row* row);

// Prints the table and the counts (stdout, markdown).
void print_table(const std::vector<Row>& rows);

}  // namespace hourglass::verifier::differential
