// prog list | prog run | disasm
#include <fmt/format.h>

#include <iostream>

#include "cli/btf_json.h"
#include "cli/commands.h"

namespace hourglass::cli {

std::function<int()>& selected_command() {
  static std::function<int()> command;
  return command;
}

int run_selected_command(CLI::App&, const GlobalOptions&) {
  if (!selected_command()) throw CliError("no command given (see --help)");
  return selected_command()();
}

namespace {

struct ProgArgs {
  std::string object;
  std::string prog;
  uint32_t repeat = 1;
  std::string data_file;
  std::string ctx_file;
  uint32_t cpu = 0;
};

const ProgramHandle& find_program(const Object& object, const std::string& name) {
  const ProgramHandle* prog = object.program(name);
  if (!prog) {
    std::string known;
    for (const auto& p : object.programs()) known += (known.empty() ? "" : ", ") + p.name();
    throw CliError(fmt::format("no program '{}' in {} (programs: {})", name, object.path(), known));
  }
  return *prog;
}

int prog_list(const ProgArgs& args, const GlobalOptions& options) {
  auto runtime = make_runtime(options);
  Object object = load_or_throw(*runtime, args.object);
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& prog : object.programs())
      out.push_back({{"name", prog.name()}, {"section", prog.section()}, {"type", prog.type_name()},
                     {"insns", prog.insn_count()}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& prog : object.programs())
    rows.push_back({prog.name(), prog.section(), prog.type_name(), std::to_string(prog.insn_count())});
  std::cout << format_table({"NAME", "SECTION", "TYPE", "INSNS"}, rows);
  return 0;
}

int prog_run(const ProgArgs& args, const GlobalOptions& options) {
  auto runtime = make_runtime(options);
  Object object = load_or_throw(*runtime, args.object);
  const ProgramHandle& prog = find_program(object, args.prog);
  TestRunOptions run;
  run.repeat = args.repeat;
  run.cpu = args.cpu;
  if (!args.data_file.empty()) run.data_in = read_file_or_throw(args.data_file);
  else if (prog.type_name() == std::string("xdp") || prog.type_name() == std::string("sched_cls"))
    run.data_in.assign(64, 0);  // a zeroed minimum Ethernet frame, as `hourglass test` uses
  if (!args.ctx_file.empty()) run.ctx_in = read_file_or_throw(args.ctx_file);
  auto result = prog.test_run(run);
  if (!result.ok()) throw CliError(result.error().message);
  if (options.json) {
    std::cout << nlohmann::json{{"prog", prog.name()},
                                {"retval", result->retval},
                                {"repeat", args.repeat},
                                {"duration_ns", result->duration_ns},
                                {"data_out", hex_bytes(result->data_out.data(), result->data_out.size())}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << fmt::format("prog {}: retval {} (0x{:x}), {} run(s), {} ns/run\n", prog.name(),
                           static_cast<int64_t>(result->retval), result->retval, args.repeat,
                           result->duration_ns);
  return 0;
}

int disasm(const ProgArgs& args, const GlobalOptions& options) {
  auto runtime = make_runtime(options);
  Object object = load_or_throw(*runtime, args.object);
  if (!args.prog.empty()) find_program(object, args.prog);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& prog : object.programs()) {
    if (!args.prog.empty() && prog.name() != args.prog) continue;
    auto lines = prog.disassemble();
    if (options.json) {
      out[prog.name()] = lines;
      continue;
    }
    std::cout << fmt::format("{} (section {}, {}):\n", prog.name(), prog.section(), prog.type_name());
    for (size_t i = 0; i < lines.size(); ++i)
      if (!lines[i].empty()) std::cout << fmt::format("{:5}: {}\n", i, lines[i]);
    std::cout << "\n";
  }
  if (options.json) std::cout << out.dump(2) << "\n";
  return 0;
}

int verify(const ProgArgs& args, const GlobalOptions& options, bool log) {
  GlobalOptions verify_options = options;
  verify_options.skip_verification = false;
  RuntimeOptions runtime_options;
  runtime_options.ncpus = options.cpus;
  runtime_options.verbose_verifier_log = log;
  auto runtime = Runtime::create(runtime_options);
  if (!runtime.ok()) throw CliError(runtime.error().message);
  auto object = (*runtime)->load_file(args.object);
  if (!object.ok()) {
    const std::string& message = object.error().message;
    auto newline = message.find('\n');
    std::fprintf(stderr, "hourglass: %s\n", message.substr(0, newline).c_str());
    if (log && newline != std::string::npos) std::fprintf(stderr, "%s\n", message.substr(newline + 1).c_str());
    return 1;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& prog : object->programs()) {
    if (!args.prog.empty() && prog.name() != args.prog) continue;
    const VerifierReport& report = prog.verifier_report();
    out.push_back({{"prog", prog.name()}, {"verified", report.verified},
                   {"insns_processed", report.insns_processed}, {"states", report.states},
                   {"max_stack_depth", report.max_stack_depth}});
    if (options.json) continue;
    std::cout << fmt::format("{}: verified ({} insns processed, {} states, stack depth {} bytes)\n",
                             prog.name(), report.insns_processed, report.states, report.max_stack_depth);
    if (log && !report.log.empty()) std::cout << report.log << "\n";
  }
  if (options.json) std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

void register_prog_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<ProgArgs>();
  CLI::App* prog = app.add_subcommand("prog", "Programs of an object")->require_subcommand(1);
  CLI::App* list = prog->add_subcommand("list", "List the programs of OBJ");
  list->add_option("object", args->object, "BPF object (.bpf.o)")->required()->check(CLI::ExistingFile);
  list->callback([args, &options] { selected_command() = [args, &options] { return prog_list(*args, options); }; });

  CLI::App* run = prog->add_subcommand("run", "Test-run one program (BPF_PROG_TEST_RUN)");
  run->add_option("object", args->object, "BPF object (.bpf.o)")->required()->check(CLI::ExistingFile);
  run->add_option("--prog", args->prog, "Program name")->required();
  run->add_option("--repeat", args->repeat, "Runs (mean duration is reported)")->check(CLI::Range(1u, 100000000u));
  run->add_option("--data", args->data_file, "Packet bytes for xdp/tc/socket programs")->check(CLI::ExistingFile);
  run->add_option("--ctx", args->ctx_file, "Context bytes (syscall buffer, fentry args)")->check(CLI::ExistingFile);
  run->add_option("--cpu", args->cpu, "Virtual CPU to run on");
  run->callback([args, &options] { selected_command() = [args, &options] { return prog_run(*args, options); }; });

  auto verify_log = std::make_shared<bool>(false);
  CLI::App* ver = app.add_subcommand("verify", "Verify every program of OBJ and print the verdict");
  ver->add_option("object", args->object, "BPF object (.bpf.o)")->required()->check(CLI::ExistingFile);
  ver->add_option("--prog", args->prog, "Only report this program");
  ver->add_flag("--log", *verify_log, "Print the verifier's log (register state along the path)");
  ver->callback([args, &options, verify_log] {
    selected_command() = [args, &options, verify_log] { return verify(*args, options, *verify_log); };
  });

  CLI::App* dis = app.add_subcommand("disasm", "Disassemble the programs of OBJ");
  dis->add_option("object", args->object, "BPF object (.bpf.o)")->required()->check(CLI::ExistingFile);
  dis->add_option("--prog", args->prog, "Only this program");
  dis->callback([args, &options] { selected_command() = [args, &options] { return disasm(*args, options); }; });
}

}  // namespace hourglass::cli
