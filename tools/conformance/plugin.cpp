// hourglass-conformance-plugin: the plugin side of the conformance contract
// (/work/shared/conformance/README.md, section 1):
//   PLUGIN [MEMORY] [--interpret | --jit] [--elf]  < program as hex text
// MEMORY is argv[1] unless it starts with "--" (empty arguments from double spaces in the
// runner's --plugin_options are ignored). Success: r0 in hex on stdout, exit 0. Failure: one line
// on stdout, exit 1.
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "data_file.h"
#include "test_elf.h"
#include "vm/vm.h"

namespace {

using hourglass::conformance::decode_program;
using hourglass::conformance::extract_main;
using hourglass::conformance::from_hex_text;

int fail(const std::string& message) {
  std::printf("%s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string memory_text;
  if (!args.empty() && args[0].rfind("--", 0) != 0) {
    memory_text = args[0];
    args.erase(args.begin());
  }
  bool use_elf = false, use_jit = false;
  for (const std::string& option : args) {
    if (option.empty() || option == "--interpret") continue;
    if (option == "--jit") use_jit = true;
    else if (option == "--elf") use_elf = true;
    else return fail("unknown option " + option);
  }

  std::string program_text;
  std::getline(std::cin, program_text);
  auto bytes = from_hex_text(program_text);
  if (!bytes.ok()) return fail(bytes.error().message);
  if (use_elf) {
    auto code = extract_main(*bytes);
    if (!code.ok()) return fail(code.error().message);
    bytes = std::move(*code);
  }
  auto program = decode_program(*bytes);
  if (!program.ok()) return fail(program.error().message);
  auto memory = from_hex_text(memory_text);
  if (!memory.ok()) return fail(memory.error().message);

  void* memory_base = memory->empty() ? nullptr : memory->data();
  const auto engine = use_jit ? hourglass::vm::Engine::Jit : hourglass::vm::Engine::Interpreter;
  auto r0 = hourglass::vm::run_raw(*program, memory_base, memory->size(), engine);
  if (!r0.ok()) return fail(r0.error().message);
  std::printf("%" PRIx64 "\n", *r0);
  return 0;
}
