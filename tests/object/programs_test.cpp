// Programs as parsed from real clang objects: sections, types, subprogram appending, call and
// function pointer rewriting, map/global/kfunc relocations, func_info and line_info.
#include <bpf/btf.h>

#include <set>
#include <utility>

#include "object_test_util.h"

namespace hourglass::object::testing {
namespace {

using helpers::ProgType;

TEST(ObjectPrograms, EverySectionKindBecomesProgramsInSectionOrder) {
  ObjectSpec spec = load_ok("obj_sections");
  struct Expected {
    const char* name;
    const char* section;
    ProgType type;
    const char* target;
    bool sleepable;
  };
  const Expected expected[] = {
      {"xdp_first", "xdp", ProgType::Xdp, "", false},
      {"xdp_second", "xdp", ProgType::Xdp, "", false},
      {"xdp_local_call", "xdp", ProgType::Xdp, "", false},
      {"tc_prog", "tc", ProgType::SchedCls, "", false},
      {"classifier_prog", "classifier", ProgType::SchedCls, "", false},
      {"syscall_prog", "syscall", ProgType::Syscall, "", false},
      {"socket_prog", "socket", ProgType::SocketFilter, "", false},
      {"tp_long", "tracepoint/syscalls/sys_enter_openat", ProgType::Tracepoint,
       "syscalls/sys_enter_openat", false},
      {"tp_short", "tp/sched/sched_switch", ProgType::Tracepoint, "sched/sched_switch", false},
      {"kprobe_prog", "kprobe/do_nanosleep", ProgType::Kprobe, "do_nanosleep", false},
      {"kretprobe_prog", "kretprobe/do_nanosleep", ProgType::Kprobe, "do_nanosleep", false},
      {"fentry_prog", "fentry/do_nanosleep", ProgType::Tracing, "do_nanosleep", false},
      {"fexit_prog", "fexit/do_nanosleep", ProgType::Tracing, "do_nanosleep", false},
      {"fentry_sleepable", "fentry.s/do_nanosleep", ProgType::Tracing, "do_nanosleep", true},
      {"raw_tp_prog", "raw_tp/sched_switch", ProgType::RawTracepoint, "sched_switch", false},
      {"raw_tracepoint_prog", "raw_tracepoint/sched_wakeup", ProgType::RawTracepoint,
       "sched_wakeup", false},
      {"perf_prog", "perf_event", ProgType::PerfEvent, "", false},
  };
  ASSERT_EQ(spec.programs.size(), std::size(expected));
  for (size_t i = 0; i < std::size(expected); ++i) {
    const ProgramSpec& program = spec.programs[i];
    SCOPED_TRACE(expected[i].name);
    EXPECT_EQ(program.name, expected[i].name);
    EXPECT_EQ(program.section, expected[i].section);
    EXPECT_EQ(program.type, expected[i].type);
    EXPECT_EQ(program.attach_target, expected[i].target);
    EXPECT_EQ(program.sleepable, expected[i].sleepable);
    EXPECT_FALSE(program.insns.empty());
    EXPECT_EQ(isa::insn_class(program.insns.back()), isa::kClassJmp);
  }
  EXPECT_EQ(spec.license, "GPL");
  EXPECT_TRUE(spec.maps.empty());
  EXPECT_NE(spec.btf, nullptr);
}

// Names of the functions each bpf-to-bpf call of `program` lands on (at a function start).
std::vector<std::string> call_targets(const ProgramSpec& program) {
  std::vector<std::string> names;
  for (size_t i = 0; i < program.insns.size(); ++i) {
    const isa::Insn& insn = program.insns[i];
    if (insn.opcode != isa::kOpCall || insn.src != isa::kPseudoCall) continue;
    const int64_t target = static_cast<int64_t>(i) + 1 + insn.imm;
    EXPECT_GE(target, 0);
    EXPECT_LT(target, static_cast<int64_t>(program.insns.size()));
    names.push_back(function_at(program, static_cast<uint32_t>(target)));
  }
  return names;
}

std::vector<std::string> func_info_names(const ProgramSpec& program) {
  std::vector<std::string> names;
  for (const FuncInfo& info : program.func_info) names.push_back(info.name);
  return names;
}

TEST(ObjectPrograms, TextSubprogramsAreAppendedTransitivelyOnce) {
  ObjectSpec spec = load_ok("obj_sections");
  const ProgramSpec* first = find_program(spec, "xdp_first");
  ASSERT_NE(first, nullptr);
  // xdp_first -> sub_mid -> sub_leaf (twice): each appended once, in first-use order.
  EXPECT_EQ(func_info_names(*first),
            (std::vector<std::string>{"xdp_first", "sub_mid", "sub_leaf"}));
  EXPECT_EQ(call_targets(*first), (std::vector<std::string>{"sub_mid", "sub_leaf", "sub_leaf"}));
  EXPECT_EQ(first->func_info.front().insn_index, 0u);

  const ProgramSpec* second = find_program(spec, "xdp_second");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(func_info_names(*second), (std::vector<std::string>{"xdp_second", "sub_leaf"}));
  EXPECT_EQ(call_targets(*second), (std::vector<std::string>{"sub_leaf"}));

  const ProgramSpec* syscall = find_program(spec, "syscall_prog");
  ASSERT_NE(syscall, nullptr);
  EXPECT_EQ(func_info_names(*syscall),
            (std::vector<std::string>{"syscall_prog", "sub_mid", "sub_leaf"}));

  for (const ProgramSpec& program : spec.programs) {
    for (const FuncInfo& info : program.func_info) EXPECT_NE(info.name, "sub_unused");
  }
}

TEST(ObjectPrograms, StaticTextFunctionIsCalledThroughSectionSymbol) {
  ObjectSpec spec = load_ok("obj_sections");
  const ProgramSpec* tc = find_program(spec, "tc_prog");
  ASSERT_NE(tc, nullptr);
  EXPECT_EQ(func_info_names(*tc), (std::vector<std::string>{"tc_prog", "text_static"}));
  EXPECT_EQ(call_targets(*tc), (std::vector<std::string>{"text_static"}));
}

TEST(ObjectPrograms, StaticFunctionOfTheSameSectionIsAppended) {
  ObjectSpec spec = load_ok("obj_sections");
  const ProgramSpec* program = find_program(spec, "xdp_local_call");
  ASSERT_NE(program, nullptr);
  EXPECT_EQ(find_program(spec, "local_double"), nullptr);  // static: not a program
  EXPECT_EQ(call_targets(*program), (std::vector<std::string>{"local_double", "sub_leaf"}));
}

TEST(ObjectPrograms, MapAndGlobalDataReferencesAreRewritten) {
  ObjectSpec spec = load_ok("obj_maps");
  const ProgramSpec* program = find_program(spec, "use_maps");
  ASSERT_NE(program, nullptr);
  std::set<int32_t> map_refs;
  std::set<std::pair<std::string, int32_t>> value_refs;
  for (size_t i = 0; i + 1 < program->insns.size(); ++i) {
    const isa::Insn& insn = program->insns[i];
    if (!isa::is_ld_imm64(insn)) continue;
    if (insn.src == isa::kPseudoMapFd) map_refs.insert(insn.imm);
    if (insn.src == isa::kPseudoMapValue) {
      ASSERT_GE(insn.imm, 0);
      ASSERT_LT(static_cast<size_t>(insn.imm), spec.maps.size());
      value_refs.emplace(spec.maps[insn.imm].name, program->insns[i + 1].imm);
    }
    ++i;
  }
  EXPECT_EQ(map_refs, (std::set<int32_t>{map_index(spec, "timer_hash"),
                                         map_index(spec, "jump_table"), map_index(spec, "lru")}));
  const std::pair<std::string, int32_t> expected[] = {
      {".data", 0},   // data_counter
      {".data", 8},   // data_second
      {".rodata", 0}, // ro_limit
      {".bss", 0},    // bss_hits
      {".bss", 8},    // bss_more
      {".rodata.str1.1", 0},
  };
  for (const auto& ref : expected) {
    EXPECT_TRUE(value_refs.count(ref)) << ref.first << " + " << ref.second;
  }
}

// Relocations inside an appended .text subprogram are applied in every program that uses it.
TEST(ObjectPrograms, SharedSubprogramKeepsItsOwnRelocations) {
  ObjectSpec spec = load_ok("obj_maps");
  for (const char* name : {"use_maps", "use_kfunc"}) {
    SCOPED_TRACE(name);
    const ProgramSpec* program = find_program(spec, name);
    ASSERT_NE(program, nullptr);
    uint32_t start = 0;
    for (const FuncInfo& info : program->func_info) {
      if (info.name == "bump_hits") start = info.insn_index;
    }
    ASSERT_GT(start, 0u);
    bool saw_lru = false;
    bool saw_bss = false;
    for (size_t i = start; i + 1 < program->insns.size(); ++i) {
      const isa::Insn& insn = program->insns[i];
      if (insn.opcode == isa::kOpExit) break;
      if (!isa::is_ld_imm64(insn)) continue;
      saw_lru |= insn.src == isa::kPseudoMapFd && insn.imm == map_index(spec, "lru");
      saw_bss |= insn.src == isa::kPseudoMapValue && insn.imm == map_index(spec, ".bss") &&
                 program->insns[i + 1].imm == 0;
      ++i;
    }
    EXPECT_TRUE(saw_lru);
    EXPECT_TRUE(saw_bss);
  }
}

TEST(ObjectPrograms, FunctionPointersBecomePseudoFuncToAppendedCallbacks) {
  ObjectSpec spec = load_ok("obj_maps");
  const ProgramSpec* program = find_program(spec, "use_maps");
  ASSERT_NE(program, nullptr);
  std::vector<std::string> callbacks;
  for (size_t i = 0; i + 1 < program->insns.size(); ++i) {
    const isa::Insn& insn = program->insns[i];
    if (!isa::is_ld_imm64(insn)) continue;
    if (insn.src == isa::kPseudoFunc) {
      EXPECT_EQ(program->insns[i + 1].imm, 0);
      callbacks.push_back(function_at(*program, static_cast<uint32_t>(i + 1 + insn.imm)));
    }
    ++i;
  }
  EXPECT_EQ(callbacks, (std::vector<std::string>{"timer_fired", "loop_step"}));
  EXPECT_EQ(func_info_names(*program),
            (std::vector<std::string>{"use_maps", "timer_fired", "loop_step", "bump_hits"}));
}

TEST(ObjectPrograms, KfuncCallsIndexTheObjectsKfuncs) {
  ObjectSpec spec = load_ok("obj_maps");
  ASSERT_EQ(spec.kfuncs.size(), 2u);
  EXPECT_EQ(spec.kfuncs[0].name, "bpf_wq_init");
  EXPECT_EQ(spec.kfuncs[1].name, "bpf_wq_start");
  ASSERT_NE(spec.btf, nullptr);
  for (const KfuncSpec& kfunc : spec.kfuncs) {
    const btf_type* type = btf__type_by_id(spec.btf->btf, kfunc.btf_type_id);
    ASSERT_NE(type, nullptr) << kfunc.name;
    EXPECT_TRUE(btf_is_func(type));
    EXPECT_STREQ(btf__name_by_offset(spec.btf->btf, type->name_off), kfunc.name.c_str());
  }
  const ProgramSpec* program = find_program(spec, "use_kfunc");
  ASSERT_NE(program, nullptr);
  std::vector<int32_t> kfunc_calls;
  for (const isa::Insn& insn : program->insns) {
    if (insn.opcode == isa::kOpCall && insn.src == isa::kPseudoKfuncCall) {
      kfunc_calls.push_back(insn.imm);
    }
  }
  EXPECT_EQ(kfunc_calls, (std::vector<int32_t>{0, 1}));
}

TEST(ObjectPrograms, LineInfoIsRemappedWithSourceText) {
  ObjectSpec spec = load_ok("obj_maps");
  const ProgramSpec* program = find_program(spec, "use_maps");
  ASSERT_NE(program, nullptr);
  ASSERT_FALSE(program->line_info.empty());
  EXPECT_EQ(program->line_info.front().insn_index, 0u);
  bool saw_lookup = false;
  bool saw_callback_body = false;
  uint32_t loop_step_start = 0;
  for (const FuncInfo& info : program->func_info) {
    if (info.name == "loop_step") loop_step_start = info.insn_index;
  }
  ASSERT_GT(loop_step_start, 0u);
  for (size_t i = 0; i < program->line_info.size(); ++i) {
    const LineInfo& line = program->line_info[i];
    if (i > 0) {
      EXPECT_LE(program->line_info[i - 1].insn_index, line.insn_index);
    }
    EXPECT_LT(line.insn_index, program->insns.size());
    EXPECT_NE(line.file.find("obj_maps.bpf.c"), std::string::npos) << line.file;
    if (line.line_text.find("bpf_map_lookup_elem(&timer_hash") != std::string::npos) {
      saw_lookup = true;
      EXPECT_GT(line.line, 0u);
    }
    if (line.line_text.find("lc->sum += index") != std::string::npos) {
      saw_callback_body = true;
      EXPECT_GE(line.insn_index, loop_step_start);  // remapped into the appended callback
    }
  }
  EXPECT_TRUE(saw_lookup);
  EXPECT_TRUE(saw_callback_body);
}

}  // namespace
}  // namespace hourglass::object::testing
