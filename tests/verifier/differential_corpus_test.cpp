// Differential harness, hand-assembled corpus: every case of tests/verifier's corpus (imported
// from the corpus files, see differential_corpus_import.h) is verified by Hourglass and loaded
// raw into the host kernel (bpf_prog_load), with the corpus's standard maps created in the kernel
// (bpf_map_create, value BTF built with libbpf's btf__add_* for the timer / wq / spin-lock maps)
// and kfunc calls pointed at vmlinux's BTF ids. Verdicts are compared and printed as a table.
// Skipped when bpf() cannot load programs.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <set>

#include "asm.h"
#include "differential_kernel.h"

// Defined in differential_corpus_{memory,control,helpers,encoding,uninit_stack}.cpp (differential_corpus_import.h,
// which must not be included here: it disarms TEST).
namespace hourglass::verifier::test {
std::vector<Case> imported_memory_cases();
std::vector<Case> imported_control_cases();
std::vector<Case> imported_helper_cases();
std::vector<Case> imported_encoding_cases();
std::vector<Case> imported_uninit_stack_cases();
}  // namespace hourglass::verifier::test

namespace hourglass::verifier::differential {
namespace {

using test::Case;

// The corpus's standard maps (asm.h standard_maps()) in the kernel, by the same indices, and
// nothing for kfuncs (see translate()). Owns every descriptor.
class KernelCorpusEnv {
 public:
  ~KernelCorpusEnv() {
    for (int fd : map_fds_)
      if (fd >= 0) close(fd);
    btf__free(btf_);
  }

  // Empty string on success, else what failed.
  std::string create() {
    btf_ = btf__new_empty();
    const int int_id = btf__add_int(btf_, "int", 4, BTF_INT_SIGNED);
    const int u64_id = btf__add_int(btf_, "unsigned long long", 8, 0);
    const int timer_id = btf__add_struct(btf_, "bpf_timer", 16);
    btf__add_field(btf_, "a", u64_id, 0, 0);
    btf__add_field(btf_, "b", u64_id, 64, 0);
    const int lock_id = btf__add_struct(btf_, "bpf_spin_lock", 4);
    btf__add_field(btf_, "val", int_id, 0, 0);
    const int wq_id = btf__add_struct(btf_, "bpf_wq", 16);
    btf__add_field(btf_, "a", u64_id, 0, 0);
    btf__add_field(btf_, "b", u64_id, 64, 0);
    const int tval_id = btf__add_struct(btf_, "tval", 32);  // {int; pad; timer @8; lock @24}
    btf__add_field(btf_, "a", int_id, 0, 0);
    btf__add_field(btf_, "t", timer_id, 64, 0);
    btf__add_field(btf_, "l", lock_id, 192, 0);
    const int wval_id = btf__add_struct(btf_, "wval", 24);  // {u64; wq @8}
    btf__add_field(btf_, "a", u64_id, 0, 0);
    btf__add_field(btf_, "w", wq_id, 64, 0);
    const int lval_id = btf__add_struct(btf_, "lval", 16);  // {int; lock @4; u64 @8}
    btf__add_field(btf_, "a", int_id, 0, 0);
    btf__add_field(btf_, "l", lock_id, 32, 0);
    btf__add_field(btf_, "b", u64_id, 64, 0);
    // Every subprogram gets the same static `int f(void)`: the kernel checks static
    // subprograms' arguments by their use, not by BTF, and wants func_info for callbacks.
    const int proto_id = btf__add_func_proto(btf_, int_id);
    func_id_ = btf__add_func(btf_, "corpus_fn", BTF_FUNC_STATIC, proto_id);
    if (btf__load_into_kernel(btf_) != 0) return "loading the corpus BTF failed";
    const int btf_fd = btf__fd(btf_);

    auto with_btf = [&](int value_id) {
      LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = static_cast<__u32>(btf_fd),
                  .btf_key_type_id = static_cast<__u32>(int_id),
                  .btf_value_type_id = static_cast<__u32>(value_id));
      return opts;
    };
    auto plain = [](uint32_t flags = 0) {
      LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
      return opts;
    };
    bpf_map_create_opts opts = plain();
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_HASH, "hmap", 4, 8, 16, &opts));
    opts = plain();
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_ARRAY, "arr", 4, 48, 4, &opts));
    opts = with_btf(tval_id);
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_HASH, "tmap", 4, 32, 16, &opts));
    opts = plain();
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_HASH, "tmap_nobtf", 4, 32, 16, &opts));
    opts = plain();
    opts.inner_map_fd = static_cast<__u32>(map_fds_[2]);
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "outer", 4, 4, 4, &opts));
    opts = plain(BPF_F_RDONLY_PROG);
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_ARRAY, "ro", 4, 16, 1, &opts));
    opts = with_btf(wval_id);
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_ARRAY, "wqmap", 4, 24, 2, &opts));
    opts = plain();
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "progs", 4, 4, 4, &opts));
    opts = plain();
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_QUEUE, "queue", 0, 8, 4, &opts));
    opts = with_btf(lval_id);
    map_fds_.push_back(bpf_map_create(BPF_MAP_TYPE_ARRAY, "locks", 4, 16, 2, &opts));
    for (size_t i = 0; i < map_fds_.size(); ++i)
      if (map_fds_[i] < 0) return "creating corpus map " + std::to_string(i) + " failed";

    return {};
  }

  // The case's instructions with map indices replaced by descriptors; null, or why the case
  // cannot be sent to the kernel.
  // func_info for every subprogram entry: instruction 0 and each target of a bpf-to-bpf call or
  // of a callback address (ld_imm64 BPF_PSEUDO_FUNC).
  RawFuncInfo func_info(const std::vector<isa::Insn>& insns) const {
    std::set<uint32_t> entries = {0};
    for (size_t i = 0; i < insns.size(); ++i) {
      const isa::Insn& insn = insns[i];
      const bool call = insn.opcode == isa::kOpCall && insn.src == isa::kPseudoCall;
      const bool func = insn.opcode == isa::kOpLdImm64 && insn.src == isa::kPseudoFunc;
      const int64_t target = static_cast<int64_t>(i) + insn.imm + 1;
      if ((call || func) && target >= 0 && target < static_cast<int64_t>(insns.size()))
        entries.insert(static_cast<uint32_t>(target));
    }
    RawFuncInfo info;
    info.btf_fd = btf__fd(btf_);
    for (uint32_t entry : entries) {
      info.insn_and_type.push_back(entry);
      info.insn_and_type.push_back(static_cast<uint32_t>(func_id_));
    }
    return info;
  }

  const char* translate(std::vector<isa::Insn>* insns) const {
    for (size_t i = 0; i < insns->size(); ++i) {
      isa::Insn& insn = (*insns)[i];
      if (insn.opcode == isa::kOpLdImm64) {
        if (insn.src == isa::kPseudoMapIdx) insn.src = isa::kPseudoMapFd;
        if (insn.src == isa::kPseudoMapIdxValue) insn.src = isa::kPseudoMapValue;
        if (insn.src == isa::kPseudoMapFd || insn.src == isa::kPseudoMapValue) {
          if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= map_fds_.size())
            return "map index outside the standard maps";
          insn.imm = map_fds_[static_cast<size_t>(insn.imm)];
        }
        ++i;  // the second half carries no reference
      } else if (insn.opcode == isa::kOpCall && insn.src == isa::kPseudoKfuncCall) {
        // Never sent: a raw kfunc call in a program without BTF made this host's kernel
        // (6.18.44) oops in check_kfunc_call (NULL dereference) while this harness was written.
        return "calls a kfunc: raw kfunc calls without program BTF oops this kernel (not sent)";
      }
    }
    return nullptr;
  }

 private:
  btf* btf_ = nullptr;  // owned; its kernel fd lives as long as the maps need it
  std::vector<int> map_fds_;
  int func_id_ = 0;  // the one FUNC type every func_info entry names
};

Row compare_case(const KernelCorpusEnv& env, const char* part, const Case& c) {
  Row row;
  row.object = part;
  row.program = c.name;
  row.type = helpers::prog_type_name(c.type);
  auto ours = test::run_case(c);
  row.hourglass = ours.ok() ? "accept" : hourglass_reason(ours.error().message);
  if (!c.error != ours.ok()) row.hourglass += " (corpus expects the opposite)";

  if (c.type == helpers::ProgType::Tracing) {
    row.kernel = "-";
    row.note = "fentry/fexit needs an attach target";
    return row;
  }
  std::vector<isa::Insn> insns = c.insns;
  if (const char* why = env.translate(&insns)) {
    row.kernel = "-";
    row.note = why;
    return row;
  }
  const RawFuncInfo info = env.func_info(insns);
  // The kernel only takes sleepable BPF_PROG_TYPE_SYSCALL programs.
  const uint32_t flags = c.type == helpers::ProgType::Syscall ? BPF_F_SLEEPABLE : 0;
  // HG_DIFF_TRACE=1: name each case before the kernel sees it (to find a case that hurts it).
  if (std::getenv("HG_DIFF_TRACE")) std::cerr << "kernel <- " << part << "/" << c.name << std::endl;
  const KernelVerdict kernel =
      kernel_load_insns(static_cast<uint32_t>(c.type), insns, 1 | 4, flags, &info);
  classify(ours.ok(), kernel, &row);
  return row;
}

TEST(DifferentialCorpus, VerdictsAgainstKernel) {
  std::string why;
  if (!kernel_can_load(&why)) GTEST_SKIP() << "host kernel unavailable: " << why;
  KernelCorpusEnv env;
  const std::string failed = env.create();
  if (!failed.empty()) GTEST_SKIP() << failed;

  std::vector<Row> rows;
  const std::pair<const char*, std::vector<Case>> parts[] = {
      {"memory", test::imported_memory_cases()},
      {"control", test::imported_control_cases()},
      {"helpers", test::imported_helper_cases()},
      {"encoding", test::imported_encoding_cases()},
      {"uninit_stack", test::imported_uninit_stack_cases()}};
  for (const auto& [part, cases] : parts)
    for (const Case& c : cases) rows.push_back(compare_case(env, part, c));
  EXPECT_GT(rows.size(), 150u);
  print_table(rows);

  size_t agree = 0;
  for (const Row& row : rows) {
    agree += row.agreement == Agreement::BothAccept || row.agreement == Agreement::BothReject;
    if (row.agreement == Agreement::Bug)
      ADD_FAILURE() << row.object << "/" << row.program
                    << ": Hourglass accepts, the kernel rejects: " << row.kernel;
  }
  EXPECT_GT(agree, rows.size() / 2);
}

}  // namespace
}  // namespace hourglass::verifier::differential
