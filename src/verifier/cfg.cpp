// Structural checks before any state is simulated (kernel check_subprogs + check_cfg): opcode
// encodings, subprogram boundaries, jump ranges, reachability, recursion in the static call graph,
// map references, and which instructions are prune points.
#include <algorithm>
#include <functional>
#include <fmt/format.h>

#include "verifier/internal.h"

namespace hourglass::verifier {

using namespace isa;

namespace {

bool is_jump(const Insn& insn) {
  const uint8_t cls = insn_class(insn);
  if (cls != kClassJmp && cls != kClassJmp32) return false;
  const uint8_t op = insn.opcode & 0xf0;
  return op != kJmpCall && op != kJmpExit;
}

bool is_cond_jump(const Insn& insn) { return is_jump(insn) && (insn.opcode & 0xf0) != kJmpJa; }

int64_t jump_target(const Insn& insn, uint32_t pc) {
  // JMP32|JA is "gotol": the 32-bit offset sits in imm.
  if (insn_class(insn) == kClassJmp32 && (insn.opcode & 0xf0) == kJmpJa)
    return static_cast<int64_t>(pc) + insn.imm + 1;
  return static_cast<int64_t>(pc) + insn.off + 1;
}

bool is_pseudo_call(const Insn& insn) { return insn.opcode == kOpCall && insn.src == kPseudoCall; }
bool is_pseudo_func(const Insn& insn) { return is_ld_imm64(insn) && insn.src == kPseudoFunc; }

bool known_opcode(const Insn& insn) {
  const uint8_t cls = insn_class(insn), op = insn.opcode & 0xf0;
  switch (cls) {
    case kClassAlu:
    case kClassAlu64:
      return op <= kAluEnd;
    case kClassJmp:
      return op != 0xe0 && op != 0xf0 && !(op == kJmpExit && (insn.opcode & kSrcX)) &&
             !(op == kJmpJa && (insn.opcode & kSrcX));
    case kClassJmp32:
      return op != 0xe0 && op != 0xf0 && op != kJmpCall && op != kJmpExit &&
             !(op == kJmpJa && (insn.opcode & kSrcX));
    case kClassLd: {
      const uint8_t mode = insn.opcode & 0xe0, size = insn.opcode & 0x18;
      if (mode == kModeImm) return size == kSizeDW;
      return (mode == kModeAbs || mode == kModeInd) && size != kSizeDW;
    }
    case kClassLdx: {
      const uint8_t mode = insn.opcode & 0xe0;
      return mode == kModeMem || (mode == kModeMemSx && (insn.opcode & 0x18) != kSizeDW);
    }
    case kClassSt:
      return (insn.opcode & 0xe0) == kModeMem;
    case kClassStx: {
      const uint8_t mode = insn.opcode & 0xe0, size = insn.opcode & 0x18;
      return mode == kModeMem || (mode == kModeAtomic && (size == kSizeW || size == kSizeDW));
    }
  }
  return false;
}

bool is_tracing_type(helpers::ProgType type) {
  using helpers::ProgType;
  return type == ProgType::Kprobe || type == ProgType::Tracepoint ||
         type == ProgType::PerfEvent || type == ProgType::RawTracepoint;
}

}  // namespace

int Env::subprog_of(uint32_t insn) const {
  for (size_t i = subprogs.size(); i-- > 0;)
    if (subprogs[i].entry <= insn) return static_cast<int>(i);
  return 0;
}

bool Env::check_cfg() {
  const uint32_t n = static_cast<uint32_t>(insns.size());
  if (n == 0) return fail(0, EINVAL, "empty program");
  std::vector<uint8_t> imm_slot(n, 0);
  std::vector<uint32_t> entries{0};
  for (uint32_t pc = 0; pc < n; ++pc) {
    const Insn& insn = insns[pc];
    if (imm_slot[pc]) continue;
    if (!known_opcode(insn)) return fail(pc, EINVAL, fmt::format("unknown opcode {:02x}", insn.opcode));
    if (!check_insn_fields(pc)) return false;
    // The VM's own decoder must accept whatever passed (one definition of the encodings).
    if (!isa::is_known_opcode(insn))
      return fail(pc, EINVAL, fmt::format("unknown opcode {:02x}", insn.opcode));
    if (is_ld_imm64(insn)) {
      imm_slot[pc + 1] = 1;
      const uint8_t src = insn.src;
      if (src == kPseudoMapFd || src == kPseudoMapValue || src == kPseudoMapIdx ||
          src == kPseudoMapIdxValue) {
        const MapDesc& desc = in.maps[static_cast<size_t>(insn.imm)];
        if (is_tracing_type(in.type) && desc.attr.record.timer_off >= 0)
          return fail(pc, EINVAL, "tracing progs cannot use bpf_timer yet");
        if (is_tracing_type(in.type) && desc.attr.record.wq_off >= 0)
          return fail(pc, EINVAL, "tracing progs cannot use bpf_wq yet");
      } else if (src == kPseudoFunc) {
        const int64_t target = static_cast<int64_t>(pc) + insn.imm + 1;
        if (target == 0) return fail(pc, EINVAL, "callback function cannot be the main program");
        if (target < 0 || target >= n)
          return fail(pc, EINVAL, fmt::format("call to invalid destination"));
        entries.push_back(static_cast<uint32_t>(target));
      }
    } else if (is_pseudo_call(insn)) {
      const int64_t target = static_cast<int64_t>(pc) + insn.imm + 1;
      if (target < 0 || target >= n) return fail(pc, EINVAL, "call to invalid destination");
      entries.push_back(static_cast<uint32_t>(target));
    }
  }
  for (const auto& [entry, name] : in.subprog_names)
    if (entry < n && entry != 0) entries.push_back(entry);
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  for (size_t i = 0; i < entries.size(); ++i) {
    Subprog sp;
    sp.entry = entries[i];
    sp.end = i + 1 < entries.size() ? entries[i + 1] : n;
    sp.name = i == 0 ? in.prog_name : fmt::format("func#{}", i);
    for (const auto& [entry, name] : in.subprog_names)
      if (entry == sp.entry && !name.empty()) sp.name = name;
    subprogs.push_back(sp);
  }

  // Jumps stay inside their subprogram; each subprogram ends in exit or an unconditional jump.
  prune_point.assign(n, 0);
  // A call whose helper runs a callback synchronously is where every callback iteration comes
  // back to (calls.cpp): a prune point, so that iterations converge.
  sync_callback_call.assign(n, 0);
  for (uint32_t pc = 0; pc < n; ++pc) {
    if (imm_slot[pc] || insns[pc].opcode != kOpCall || insns[pc].src != 0) continue;
    const helpers::HelperProto* proto = helpers::find_helper(static_cast<uint32_t>(insns[pc].imm));
    if (proto && (proto->callback == helpers::CallbackKind::Loop ||
                  proto->callback == helpers::CallbackKind::ForEachMapElem))
      sync_callback_call[pc] = prune_point[pc] = 1;
  }
  for (const Subprog& sp : subprogs) {
    for (uint32_t pc = sp.entry; pc < sp.end; ++pc) {
      const Insn& insn = insns[pc];
      if (imm_slot[pc] || !is_jump(insn)) continue;
      const int64_t target = jump_target(insn, pc);
      if (target < sp.entry || target >= sp.end)
        return fail(pc, EINVAL, fmt::format("jump out of range from insn {} to {}", pc, target));
      if (imm_slot[static_cast<size_t>(target)])
        return fail(pc, EINVAL, fmt::format("jump into the middle of ldimm64 insn {}", target - 1));
      prune_point[static_cast<size_t>(target)] = 1;
      if (is_cond_jump(insn) && pc + 1 < sp.end) prune_point[pc + 1] = 1;
    }
    uint32_t last = sp.end - 1;
    if (imm_slot[last] && last > sp.entry) --last;
    const Insn& tail = insns[last];
    const bool ends = tail.opcode == kOpExit ||
                      (is_jump(tail) && (tail.opcode & 0xf0) == kJmpJa);
    if (!ends) return fail(last, EINVAL, "last insn is not an exit or jmp");
  }

  // Reachability from the entry, following calls and callback references.
  std::vector<uint8_t> seen(n, 0);
  std::vector<uint32_t> work{0};
  auto push = [&](int64_t pc) {
    if (pc >= 0 && pc < n && !seen[static_cast<size_t>(pc)]) {
      seen[static_cast<size_t>(pc)] = 1;
      work.push_back(static_cast<uint32_t>(pc));
    }
  };
  seen[0] = 1;
  while (!work.empty()) {
    const uint32_t pc = work.back();
    work.pop_back();
    const Insn& insn = insns[pc];
    if (insn.opcode == kOpExit) continue;
    if (is_ld_imm64(insn)) {
      if (is_pseudo_func(insn)) push(static_cast<int64_t>(pc) + insn.imm + 1);
      push(pc + 2);
      continue;
    }
    if (is_pseudo_call(insn)) push(static_cast<int64_t>(pc) + insn.imm + 1);
    if (is_jump(insn)) {
      push(jump_target(insn, pc));
      if (is_cond_jump(insn)) push(pc + 1);
      continue;
    }
    push(pc + 1);
  }
  for (uint32_t pc = 0; pc < n; ++pc)
    if (!seen[pc] && !imm_slot[pc]) return fail(pc, EINVAL, fmt::format("unreachable insn {}", pc));

  // Recursion: a cycle of direct bpf-to-bpf calls (a callback naming itself through
  // BPF_PSEUDO_FUNC is not a call and is allowed: timers re-arm with themselves).
  const size_t count = subprogs.size();
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> callees(count);  // (callee, call insn)
  for (uint32_t pc = 0; pc < n; ++pc)
    if (!imm_slot[pc] && is_pseudo_call(insns[pc])) {
      const uint32_t target = static_cast<uint32_t>(pc + insns[pc].imm + 1);
      callees[static_cast<size_t>(subprog_of(pc))].push_back(
          {static_cast<uint32_t>(subprog_of(target)), pc});
      prune_point[target] = 1;
    }
  std::vector<uint8_t> color(count, 0);  // 0 new, 1 on the DFS path, 2 done
  std::function<bool(size_t)> dfs = [&](size_t sp) -> bool {
    color[sp] = 1;
    for (auto [callee, call_pc] : callees[sp]) {
      if (color[callee] == 1)
        return fail(call_pc, EINVAL,
                    fmt::format("recursive call from {}() to {}()", subprogs[sp].name,
                                subprogs[callee].name));
      if (color[callee] == 0 && !dfs(callee)) return false;
    }
    color[sp] = 2;
    return true;
  };
  for (size_t sp = 0; sp < count; ++sp)
    if (color[sp] == 0 && !dfs(sp)) return false;
  return true;
}

}  // namespace hourglass::verifier
