// The face of object/: parses a clang-built BPF ELF object (libelf) and its BTF (libbpf btf.h)
// into plain specs. Nothing here creates maps or runs code; runtime/ does that from the specs.
//
// Program instructions come out in the kernel's post-libbpf form, with map indices where libbpf
// would put fds: ld_imm64 src=kPseudoMapFd imm=<map index>, src=kPseudoMapValue imm=<map index>
// (next slot imm = offset), src=kPseudoFunc imm=<relative target>, call src=kPseudoCall
// imm=<relative target>, call src=kPseudoKfuncCall imm=<kfunc index>. Used .text subprograms are
// appended after the entry function, as libbpf does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "helpers/proto.h"
#include "hourglass/result.h"
#include "isa/insn.h"
#include "maps/map.h"

struct btf;  // libbpf

namespace hourglass::object {

// Owns a parsed struct btf (freed with btf__free).
struct BtfHandle {
  explicit BtfHandle(struct btf* b = nullptr) : btf(b) {}
  ~BtfHandle();
  BtfHandle(const BtfHandle&) = delete;
  BtfHandle& operator=(const BtfHandle&) = delete;
  struct btf* btf;
};

enum class MapKind { Defined, Data, Rodata, Bss, Kconfig };

struct MapSpec {
  std::string name;    // ".maps" symbol name, or the section name (".data", ".rodata.str1.1")
  MapKind kind = MapKind::Defined;
  maps::MapAttr attr;  // type, sizes, flags, record (hooks/ncpus filled in by runtime)
  uint32_t key_type_id = 0;    // BTF type ids (0 = none)
  uint32_t value_type_id = 0;
  std::vector<uint8_t> initial_data;  // global data sections: the section bytes (zeros for .bss)
  // map-in-map: index of the inner template spec in ObjectSpec::maps, and static initialisers
  // (`.values = { [i] = &inner }`) as (slot, map index) pairs. Same shape for prog_array
  // initialisers, with program indices.
  int inner_map_index = -1;
  std::vector<std::pair<uint32_t, uint32_t>> initial_slots;
  bool is_inner_template = false;  // synthesised from __array(values, ...), not a real map
  uint32_t pinning = 0;            // LIBBPF_PIN_BY_NAME = 1
};

struct FuncInfo {
  uint32_t insn_index;
  uint32_t btf_type_id;
  std::string name;
};

struct LineInfo {
  uint32_t insn_index;
  std::string file;
  std::string line_text;
  uint32_t line;
  uint32_t column;
};

struct KfuncSpec {
  std::string name;  // e.g. "bpf_wq_init"
  uint32_t btf_type_id = 0;  // FUNC in the object's BTF (the extern declaration)
};

struct ProgramSpec {
  std::string name;          // function symbol name
  std::string section;       // "xdp", "tracepoint/syscalls/sys_enter_open", ...
  helpers::ProgType type = helpers::ProgType::Unspec;
  std::string attach_target; // part after the first '/', if any
  std::vector<isa::Insn> insns;
  std::vector<FuncInfo> func_info;  // entry + every appended subprogram, sorted by insn
  std::vector<LineInfo> line_info;  // sorted by insn
  bool sleepable = false;            // ".s" section suffix
};

struct ObjectSpec {
  std::string path;
  std::string license;
  std::vector<ProgramSpec> programs;
  std::vector<MapSpec> maps;
  std::vector<KfuncSpec> kfuncs;
  std::shared_ptr<BtfHandle> btf;  // may be null when the object has no .BTF
};

// Parses an object from memory / a file. Errors name the section, instruction index and
// relocation type where relevant, e.g.
// "section 'xdp': instruction 12: unsupported relocation type 10 against symbol 'foo'".
Result<ObjectSpec> parse_object(const uint8_t* data, size_t size, std::string path = "<memory>");
Result<ObjectSpec> parse_object_file(const std::string& path);

// Maps a SEC() name to a program type (libbpf's table, prefix rules); Unspec if unknown.
helpers::ProgType prog_type_from_section(const std::string& section);

}  // namespace hourglass::object
