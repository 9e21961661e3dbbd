#include "runtime/verify.h"

#include "verifier/verifier.h"

namespace hourglass {

namespace {

verifier::MapDesc describe(const object::ObjectSpec& spec, size_t index, const maps::Map* map) {
  verifier::MapDesc desc;
  desc.name = spec.maps[index].name;
  // The live map's attributes when it exists (inner_template filled in by the runtime),
  // otherwise the spec's (inner-map templates are never referenced by instructions).
  desc.attr = map ? map->attr() : spec.maps[index].attr;
  return desc;
}

}  // namespace

Result<VerifierReport> verify_program(const object::ObjectSpec& spec,
                                      const object::ProgramSpec& prog,
                                      const std::vector<maps::Map*>& maps,
                                      const std::vector<const helpers::HelperProto*>& kfuncs,
                                      Runtime& runtime) {
  VerifierReport report;
  if (runtime.options().dangerously_skip_verification) return report;
  verifier::VerifyInput input;
  input.prog_name = prog.name;
  input.type = prog.type;
  input.insns = &prog.insns;
  for (size_t i = 0; i < spec.maps.size(); ++i) input.maps.push_back(describe(spec, i, maps[i]));
  for (const auto& func : prog.func_info) input.subprog_names.emplace_back(func.insn_index, func.name);
  input.line_info = prog.line_info;
  input.kfuncs = kfuncs;
  input.verbose_log = runtime.options().verbose_verifier_log;
  auto verified = verifier::verify(input);
  if (!verified.ok()) return verified.take_error();
  report.verified = true;
  report.insns_processed = verified->stats.insns_processed;
  report.states = verified->stats.states;
  report.max_stack_depth = verified->stats.max_stack_depth;
  report.zeroed_frames = verifier::zeroed_frames(*verified);
  report.log = std::move(verified->log);
  return report;
}

}  // namespace hourglass
