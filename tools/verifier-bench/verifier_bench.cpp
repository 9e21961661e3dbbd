// hourglass-verifier-bench: verification time of generated programs of about 1k, 10k and 100k
// instructions, Hourglass's verifier beside the host kernel's (bpf_prog_load of the very same
// instructions, the kernel's own "processed N insns" / "verification time" stats line).
//
// The generated program is straight-line XDP code made of identical-shaped blocks: an array map
// lookup with a null check, a load from the value, arithmetic, a data-dependent branch and a store
// back. Every branch joins again at the end of its block with the branch-local registers dead, so
// state pruning must keep the work linear in the program size (issue 4, "Performance").
//
// Usage: hourglass-verifier-bench [--quick] [--no-kernel] [--rounds N]
// Timing is reported, never asserted; CTest verifier_bench.quick only checks that it runs.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "isa/insn.h"
#include "verifier/verifier.h"

namespace {

using hourglass::isa::Insn;
namespace isa = hourglass::isa;
namespace verifier = hourglass::verifier;

constexpr uint32_t kValueSize = 32;
constexpr uint32_t kEntries = 64;

Insn make(uint8_t opcode, int dst, int src, int16_t off, int32_t imm) {
  return isa::make_insn(opcode, static_cast<uint8_t>(dst), static_cast<uint8_t>(src), off, imm);
}

// One block (20 instructions); `i` varies the key, the value offset and the constants. Every
// block has the null-check branch; every 8th also a data-dependent one. The kernel explores the
// fall-through first and keeps each other side pending until it reaches exit, and refuses more
// than 8192 pending branches ("The sequence of 8193 jumps is too complex"), so the 100k program
// must stay below that many branches.
void append_block(std::vector<Insn>& code, uint32_t i) {
  using namespace isa;
  const int32_t key = static_cast<int32_t>(i % kEntries);
  const int16_t slot = static_cast<int16_t>(8 * (i % (kValueSize / 8)));
  code.push_back(make(kClassSt | kSizeW | kModeMem, 10, 0, -4, key));   // *(u32*)(fp-4) = key
  code.push_back(make(kClassAlu64 | kAluMov | kSrcX, 2, 10, 0, 0));     // r2 = fp
  code.push_back(make(kClassAlu64 | kAluAdd | kSrcK, 2, 0, 0, -4));     // r2 += -4
  code.push_back(make(kOpLdImm64, 1, kPseudoMapFd, 0, 0));              // r1 = map 0
  code.push_back(make(0, 0, 0, 0, 0));
  code.push_back(make(kOpCall, 0, 0, 0, 1));                            // bpf_map_lookup_elem
  code.push_back(make(kClassJmp | kJmpJeq | kSrcK, 0, 0, 12, 0));       // if !r0 goto end
  code.push_back(make(kClassLdx | kSizeDW | kModeMem, 1, 0, slot, 0));  // r1 = value[slot]
  code.push_back(make(kClassAlu64 | kAluAdd | kSrcX, 6, 1, 0, 0));      // r6 += r1
  code.push_back(make(kClassAlu64 | kAluAnd | kSrcK, 1, 0, 0, 0xff));   // r1 &= 0xff
  if (i % 8 == 0)
    code.push_back(make(kClassJmp | kJmpJgt | kSrcK, 1, 0, 2, 100));    // if r1 > 100 skip 2
  else
    code.push_back(make(kClassAlu64 | kAluOr | kSrcK, 1, 0, 0, 1));     // r1 |= 1
  code.push_back(make(kClassAlu64 | kAluXor | kSrcK, 6, 0, 0, static_cast<int32_t>(i)));
  code.push_back(make(kClassAlu64 | kAluAdd | kSrcK, 6, 0, 0, 3));
  code.push_back(make(kClassAlu64 | kAluMul | kSrcK, 1, 0, 0, 7));      // r1 *= 7
  code.push_back(make(kClassAlu64 | kAluLsh | kSrcK, 1, 0, 0, 3));      // r1 <<= 3
  code.push_back(make(kClassAlu | kAluAdd | kSrcK, 1, 0, 0, 11));       // w1 += 11
  code.push_back(make(kClassAlu64 | kAluXor | kSrcX, 1, 6, 0, 0));      // r1 ^= r6
  code.push_back(make(kClassAlu64 | kAluAdd | kSrcX, 6, 1, 0, 0));      // r6 += r1
  code.push_back(make(kClassStx | kSizeDW | kModeMem, 0, 6, slot, 0));  // value[slot] = r6
  code.push_back(make(kClassAlu64 | kAluRsh | kSrcK, 6, 0, 0, 1));      // end: r6 >>= 1
}

std::vector<Insn> generate(uint32_t target_insns) {
  using namespace isa;
  std::vector<Insn> code;
  code.push_back(make(kClassAlu64 | kAluMov | kSrcK, 6, 0, 0, 0));  // r6 = 0
  for (uint32_t i = 0; code.size() + 20 + 3 <= target_insns; ++i) append_block(code, i);
  code.push_back(make(kClassAlu64 | kAluMov | kSrcK, 0, 0, 0, 2));  // return XDP_PASS
  code.push_back(make(kOpExit, 0, 0, 0, 0));
  return code;
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

struct HourglassRun {
  bool ok = false;
  std::string error;
  double ms = 0;  // best of the rounds
  uint32_t processed = 0, states = 0, pruned = 0;
};

HourglassRun run_hourglass(const std::vector<Insn>& code, int rounds) {
  verifier::VerifyInput input;
  input.prog_name = "bench";
  input.type = hourglass::helpers::ProgType::Xdp;
  input.insns = &code;
  verifier::MapDesc map;
  map.name = map.attr.name = "values";
  map.attr.type = hourglass::maps::MapType::Array;
  map.attr.key_size = 4;
  map.attr.value_size = kValueSize;
  map.attr.max_entries = kEntries;
  input.maps.push_back(map);
  HourglassRun run;
  run.ms = 1e18;
  for (int round = 0; round < rounds; ++round) {
    const double start = now_ms();
    auto result = verifier::verify(input);
    const double elapsed = now_ms() - start;
    if (!result.ok()) {
      run.error = result.error().message;
      return run;
    }
    run.ok = true;
    run.ms = std::min(run.ms, elapsed);
    run.processed = result->stats.insns_processed;
    run.states = result->stats.states;
    run.pruned = result->stats.pruned;
  }
  return run;
}

struct KernelRun {
  bool ok = false;
  std::string error;
  double load_ms = 0;     // bpf_prog_load wall time (verifier + JIT), best of the rounds
  double verify_ms = 0;   // the kernel's "verification time N usec", best of the rounds
  uint32_t processed = 0, states = 0;
};

uint32_t number_after(const std::string& log, const char* label) {
  const size_t at = log.find(label);
  return at == std::string::npos ? 0
                                 : static_cast<uint32_t>(std::strtoul(log.c_str() + at + std::strlen(label), nullptr, 10));
}

KernelRun run_kernel(std::vector<Insn> code, int map_fd, int rounds) {
  for (Insn& insn : code)
    if (insn.opcode == isa::kOpLdImm64 && insn.src == isa::kPseudoMapFd) insn.imm = map_fd;
  KernelRun run;
  run.load_ms = run.verify_ms = 1e18;
  std::string log(1 << 16, '\0');
  for (int round = 0; round < rounds; ++round) {
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    opts.log_level = 4;  // BPF_LOG_STATS: the stats lines only, so the log costs nothing
    opts.log_buf = log.data();
    opts.log_size = static_cast<uint32_t>(log.size());
    log.assign(log.size(), '\0');
    const double start = now_ms();
    const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "hg_vbench", "GPL",
                                 reinterpret_cast<const bpf_insn*>(code.data()), code.size(), &opts);
    const double elapsed = now_ms() - start;
    const std::string text(log.c_str());
    if (fd < 0) {
      run.error = std::string(std::strerror(errno)) + ": " + text.substr(0, 200);
      return run;
    }
    close(fd);
    run.ok = true;
    run.load_ms = std::min(run.load_ms, elapsed);
    run.verify_ms = std::min(run.verify_ms, number_after(text, "verification time ") / 1000.0);
    run.processed = number_after(text, "processed ");
    run.states = number_after(text, "total_states ");
  }
  return run;
}

struct Options {
  bool quick = false;
  bool kernel = true;
  int rounds = 3;
};

bool parse(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") options->quick = true;
    else if (arg == "--no-kernel") options->kernel = false;
    else if (arg == "--rounds" && i + 1 < argc) options->rounds = std::max(1, std::atoi(argv[++i]));
    else return false;
  }
  if (options->quick) options->rounds = 1;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, &options)) {
    std::fprintf(stderr, "usage: %s [--quick] [--no-kernel] [--rounds N]\n", argv[0]);
    return 2;
  }
  libbpf_set_print(nullptr);
  int map_fd = -1;
  if (options.kernel) {
    map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "hg_vbench", 4, kValueSize, kEntries, nullptr);
    if (map_fd < 0)
      std::printf("kernel: bpf_map_create failed (%s); kernel columns n/a\n", std::strerror(errno));
  }
  const std::vector<uint32_t> sizes =
      options.quick ? std::vector<uint32_t>{1000, 10000} : std::vector<uint32_t>{1000, 10000, 100000};

  std::printf("| insns | Hourglass ms | processed | states | pruned | kernel load ms | kernel verif ms"
              " | kernel processed | kernel states | ratio (HG / kernel verif) |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  int failures = 0;
  for (uint32_t size : sizes) {
    const std::vector<Insn> code = generate(size);
    const HourglassRun ours = run_hourglass(code, options.rounds);
    if (!ours.ok) {
      std::printf("| %zu | rejected: %s |\n", code.size(), ours.error.c_str());
      ++failures;
      continue;
    }
    KernelRun kernel;
    if (map_fd >= 0) kernel = run_kernel(code, map_fd, options.rounds);
    if (kernel.ok) {
      std::printf("| %zu | %.2f | %u | %u | %u | %.2f | %.2f | %u | %u | %.2f |\n", code.size(),
                  ours.ms, ours.processed, ours.states, ours.pruned, kernel.load_ms,
                  kernel.verify_ms, kernel.processed, kernel.states,
                  kernel.verify_ms > 0 ? ours.ms / kernel.verify_ms : 0.0);
    } else {
      std::printf("| %zu | %.2f | %u | %u | %u | n/a | n/a | n/a | n/a | n/a |\n", code.size(),
                  ours.ms, ours.processed, ours.states, ours.pruned);
      if (!kernel.error.empty()) std::printf("kernel: %s\n", kernel.error.c_str());
    }
  }
  if (map_fd >= 0) close(map_fd);
  std::printf("hourglass-verifier-bench: %s\n", failures ? "FAILED" : "done");
  return failures ? 1 : 0;
}
