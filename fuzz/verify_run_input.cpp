#include "verify_run_input.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "timers/timers.h"

namespace hourglass::fuzz {
namespace {

// After an exit or an unconditional jump the appended tail would be unreachable, which the
// verifier rejects ("unreachable insn"): whole programs (committed seeds, mutations that keep
// the final exit) would never get past that check.
bool falls_off_the_end(const isa::Insn& last) {
  const bool is_exit = last.opcode == isa::kOpExit;
  const bool is_ja = last.opcode == (isa::kClassJmp | isa::kJmpJa) ||
                     last.opcode == (isa::kClassJmp32 | isa::kJmpJa);
  return !is_exit && !is_ja;
}

}  // namespace

std::optional<VerifyRunInput> decode_verify_run(const uint8_t* data, size_t size) {
  if (size < 1) return std::nullopt;
  VerifyRunInput input;
  input.type = kVerifyRunTypes[data[0] % std::size(kVerifyRunTypes)];
  input.insns.resize(std::min((size - 1) / 8, kMaxInsns));
  if (!input.insns.empty()) std::memcpy(input.insns.data(), data + 1, input.insns.size() * 8);
  if (!input.insns.empty() && !falls_off_the_end(input.insns.back())) return input;
  input.insns.push_back(isa::make_insn(isa::kClassAlu64 | isa::kAluMov | isa::kSrcK, 0, 0, 0, 0));
  input.insns.push_back(isa::make_insn(isa::kOpExit, 0, 0, 0, 0));
  return input;
}

Result<verifier::VerifyOutput> verify_input(const VerifyRunInput& input) {
  verifier::VerifyInput verify;
  verify.prog_name = "fuzz";
  verify.type = input.type;
  verify.insns = &input.insns;
  // A tenth of the kernel's limit: a loop the verifier walks to 1M instructions took 8 s under
  // ASan and up to a minute inside the fuzzer, past the smoke runs' per-input timeout.
  verify.complexity_limit = 100'000;
  return verifier::verify(verify);
}

const HelperEnv& fuzz_helper_env() {
  static const HelperEnv* env = [] {
    timers::EngineOptions options;
    options.ncpus = 1;
    options.virtual_time = true;
    static auto engine = timers::TimerEngine::create(options);
    auto* made = new HelperEnv;
    made->timers = engine.get();
    made->ncpus = 1;
    made->trace_sink = [](std::string_view) {};
    made->prandom_seed = 1;
    return made;
  }();
  return *env;
}

Result<vm::Program*> create_program(const VerifyRunInput& input,
                                    const verifier::VerifyOutput& verified, vm::Engine engine) {
  vm::ImageInput image;
  image.name = "fuzz";
  image.type = input.type;
  image.insns = input.insns;
  for (const auto& subprog : verified.subprogs)
    image.subprog_names.emplace_back(subprog.entry, subprog.name);
  image.zeroed_frames = verifier::zeroed_frames(verified);
  image.env = &fuzz_helper_env();
  image.engine = engine;
  return vm::Program::create(std::move(image));
}

bool calls_helpers(const std::vector<isa::Insn>& insns) {
  return std::any_of(insns.begin(), insns.end(), [](const isa::Insn& insn) {
    return insn.opcode == isa::kOpCall && insn.src != isa::kPseudoCall;
  });
}

}  // namespace hourglass::fuzz
