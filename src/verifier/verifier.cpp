// verify(): the pipeline. check_cfg (structure) -> explore the main program from its entry state
// -> explore every async (timer / wq) callback as its own root -> combined stack depth along every
// call chain from every root. Errors carry the instruction, its source line and the kernel's text.
#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "verifier/internal.h"

namespace hourglass::verifier {

namespace {

constexpr size_t kMaxLogBytes = 16u << 20;

const char* helper_name_of(int32_t id) {
  const helpers::HelperProto* proto = helpers::find_helper(static_cast<uint32_t>(id));
  return proto ? proto->name : nullptr;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Kernel rounding of a frame for the combined stack check (interpreter: 32 bytes, at least one).
uint32_t rounded_depth(uint32_t depth) { return (std::max<uint32_t>(depth, 1) + 31) / 32 * 32; }

}  // namespace

Env::Env(const VerifyInput& input) : in(input), insns(*input.insns), maps_(input.maps) {}

std::string Env::disassemble(const isa::Insn& insn, const isa::Insn* next) const {
  return isa::disassemble(insn, next, helper_name_of);
}

bool Env::fail(uint32_t insn, int code, std::string reason) {
  if (!failure) failure = Failure{insn, code, std::move(reason)};
  return false;
}

void Env::log_line(const std::string& line) {
  if (log.size() > kMaxLogBytes) return;
  log += line;
  log += '\n';
  if (log.size() > kMaxLogBytes) log += "... log truncated\n";
}

namespace {

State entry_state(int32_t frame_subprog) {
  State st;
  st.frames.resize(1);
  Frame& f = st.frames[0];
  f.subprog = static_cast<uint32_t>(frame_subprog);
  f.regs[10] = make_pointer(RegType::Stack);
  return st;
}

}  // namespace

Result<VerifyOutput> Env::run() {
  bool ok = check_cfg();
  if (ok) {
    visited.assign(insns.size(), {});
    compute_liveness();
    State main = entry_state(0);
    main.cur().regs[1] = make_pointer(RegType::Ctx);
    ok = explore_from(std::move(main), 0);
  }
  // Async callbacks found while exploring (the list may grow while they are explored).
  for (size_t i = 0; ok && i < async_roots.size(); ++i) {
    const AsyncRoot root = async_roots[i];
    const Subprog& sp = subprogs[root.subprog];
    if (in.verbose_log) log_line(fmt::format("async callback {} (insn {})", sp.name, sp.entry));
    State st = entry_state(static_cast<int32_t>(root.subprog));
    Frame& f = st.cur();
    f.callback = root.kind;
    f.regs[1] = make_pointer(RegType::ConstMapPtr);
    f.regs[1].map = root.map;
    f.regs[2] = make_pointer(RegType::MapKey);
    f.regs[2].map = root.map;
    f.regs[3] = make_pointer(RegType::MapValue);
    f.regs[3].map = root.map;
    ok = explore_from(std::move(st), sp.entry);
  }
  if (ok) ok = check_stack_depth();
  if (!ok) {
    const Failure& f = failure ? *failure : Failure{0, EFAULT, "verifier failed"};
    std::string where = fmt::format("insn {}", f.insn);
    const object::LineInfo* line = nullptr;
    for (const object::LineInfo& li : in.line_info)
      if (li.insn_index <= f.insn) line = &li;
    if (line)
      where += fmt::format(" ({}:{}: `{}`)", base_name(line->file), line->line, line->line_text);
    std::string message = fmt::format("prog '{}': {}: {}", in.prog_name, where, f.reason);
    if (in.verbose_log) message += "\n" + log;
    return make_error(f.code, std::move(message));
  }
  VerifyOutput out;
  out.log = std::move(log);
  out.stats = stats;
  out.exposes_addresses = exposes_addresses;
  for (const Subprog& sp : subprogs)
    out.subprogs.push_back(
        SubprogInfo{sp.entry, sp.name, sp.stack_depth, sp.is_async_cb, sp.is_cb,
                    sp.reads_uninit_stack});
  return out;
}

// Every chain of calls from a root (main, or an async callback, which runs on its own stack)
// must fit in 512 bytes. Direct calls and sync callbacks add frames; async callbacks do not.
bool Env::check_stack_depth() {
  std::vector<uint32_t> roots{0};
  for (const AsyncRoot& root : async_roots) roots.push_back(root.subprog);
  std::vector<uint8_t> on_path(subprogs.size(), 0);
  std::function<bool(uint32_t, uint32_t, uint32_t, uint32_t)> walk =
      [&](uint32_t sp, uint32_t depth, uint32_t frames, uint32_t at_insn) -> bool {
    depth += rounded_depth(subprogs[sp].stack_depth);
    stats.max_stack_depth = std::max(stats.max_stack_depth, depth);
    if (depth > static_cast<uint32_t>(isa::kStackSize))
      return fail(at_insn, EACCES,
                  fmt::format("combined stack size of {} calls is {}. Too large", frames, depth));
    on_path[sp] = 1;
    for (uint32_t pc = subprogs[sp].entry; pc < subprogs[sp].end; ++pc) {
      const isa::Insn& insn = insns[pc];
      const bool call = insn.opcode == isa::kOpCall && insn.src == isa::kPseudoCall;
      const bool func = isa::is_ld_imm64(insn) && insn.src == isa::kPseudoFunc;
      if (!call && !func) continue;
      const uint32_t target = static_cast<uint32_t>(static_cast<int64_t>(pc) + insn.imm + 1);
      const uint32_t callee = static_cast<uint32_t>(subprog_of(target));
      if (func && subprogs[callee].is_async_cb) continue;
      if (func && !subprogs[callee].is_cb) continue;
      if (on_path[callee]) continue;
      if (!walk(callee, depth, frames + 1, pc)) return false;
    }
    on_path[sp] = 0;
    return true;
  };
  for (uint32_t root : roots)
    if (!walk(root, 0, 1, subprogs[root].entry)) return false;
  return true;
}

Result<VerifyOutput> verify(const VerifyInput& input) {
  if (!input.insns) return make_error(EINVAL, fmt::format("prog '{}': no instructions", input.prog_name));
  Env env(input);
  return env.run();
}

std::vector<std::pair<uint32_t, uint32_t>> zeroed_frames(const VerifyOutput& verified) {
  std::vector<std::pair<uint32_t, uint32_t>> frames;
  for (const SubprogInfo& subprog : verified.subprogs) {
    if (subprog.reads_uninit_stack)
      frames.emplace_back(subprog.entry, (subprog.stack_depth + 7) & ~7u);
  }
  return frames;
}

}  // namespace hourglass::verifier
