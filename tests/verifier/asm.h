// A tiny assembler for hand-written verifier test programs (the spirit of the kernel's
// test_verifier BPF_MOV64_IMM(...) macros, with labels instead of hand-counted offsets), the
// standard map set the corpus uses, and the table-driven test fixture.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "verifier/verifier.h"

namespace hourglass::verifier::test {

using isa::Insn;
using namespace isa;
using helpers::ProgType;

inline constexpr uint8_t B = kSizeB, H = kSizeH, W = kSizeW, DW = kSizeDW;
inline constexpr uint8_t ADD = kAluAdd, SUB = kAluSub, MUL = kAluMul, DIV = kAluDiv, OR = kAluOr,
                         AND = kAluAnd, LSH = kAluLsh, RSH = kAluRsh, NEG = kAluNeg,
                         MOD = kAluMod, XOR = kAluXor, ARSH = kAluArsh;
inline constexpr uint8_t JEQ = kJmpJeq, JNE = kJmpJne, JGT = kJmpJgt, JGE = kJmpJge,
                         JLT = kJmpJlt, JLE = kJmpJle, JSGT = kJmpJsgt, JSGE = kJmpJsge,
                         JSLT = kJmpJslt, JSLE = kJmpJsle, JSET = kJmpJset;

class Asm {
 public:
  Asm& raw(Insn insn) {
    code_.push_back(insn);
    return *this;
  }
  Asm& label(const std::string& name) {
    labels_[name] = static_cast<int>(code_.size());
    return *this;
  }
  // ALU
  Asm& alu64(uint8_t op, int dst, int32_t imm) { return emit(kClassAlu64 | op | kSrcK, dst, 0, 0, imm); }
  Asm& alu64r(uint8_t op, int dst, int src) { return emit(kClassAlu64 | op | kSrcX, dst, src, 0, 0); }
  Asm& alu32(uint8_t op, int dst, int32_t imm) { return emit(kClassAlu | op | kSrcK, dst, 0, 0, imm); }
  Asm& alu32r(uint8_t op, int dst, int src) { return emit(kClassAlu | op | kSrcX, dst, src, 0, 0); }
  Asm& mov(int dst, int32_t imm) { return alu64(kAluMov, dst, imm); }
  Asm& movr(int dst, int src) { return alu64r(kAluMov, dst, src); }
  Asm& mov32(int dst, int32_t imm) { return alu32(kAluMov, dst, imm); }
  Asm& mov32r(int dst, int src) { return alu32r(kAluMov, dst, src); }
  Asm& add(int dst, int32_t imm) { return alu64(kAluAdd, dst, imm); }
  Asm& addr(int dst, int src) { return alu64r(kAluAdd, dst, src); }
  // memory
  Asm& ldx(uint8_t size, int dst, int src, int16_t off) {
    return emit(kClassLdx | size | kModeMem, dst, src, off, 0);
  }
  Asm& stx(uint8_t size, int dst, int src, int16_t off) {
    return emit(kClassStx | size | kModeMem, dst, src, off, 0);
  }
  Asm& st(uint8_t size, int dst, int16_t off, int32_t imm) {
    return emit(kClassSt | size | kModeMem, dst, 0, off, imm);
  }
  Asm& atomic(uint8_t size, int dst, int src, int16_t off, int32_t op) {
    return emit(kClassStx | size | kModeAtomic, dst, src, off, op);
  }
  Asm& ld_imm64(int dst, uint64_t value) {
    emit(kOpLdImm64, dst, 0, 0, static_cast<int32_t>(value));
    return emit(0, 0, 0, 0, static_cast<int32_t>(value >> 32));
  }
  Asm& ld_map(int dst, int map_index) {
    emit(kOpLdImm64, dst, kPseudoMapFd, 0, map_index);
    return emit(0, 0, 0, 0, 0);
  }
  Asm& ld_map_value(int dst, int map_index, int32_t off) {
    emit(kOpLdImm64, dst, kPseudoMapValue, 0, map_index);
    return emit(0, 0, 0, 0, off);
  }
  Asm& ld_func(int dst, const std::string& target) {
    fixups_.push_back({code_.size(), target, Fix::Imm});
    emit(kOpLdImm64, dst, kPseudoFunc, 0, 0);
    return emit(0, 0, 0, 0, 0);
  }
  // control flow
  Asm& j(uint8_t op, int dst, int32_t imm, const std::string& target) {
    fixups_.push_back({code_.size(), target, Fix::Off});
    return emit(kClassJmp | op | kSrcK, dst, 0, 0, imm);
  }
  Asm& jr(uint8_t op, int dst, int src, const std::string& target) {
    fixups_.push_back({code_.size(), target, Fix::Off});
    return emit(kClassJmp | op | kSrcX, dst, src, 0, 0);
  }
  Asm& j32(uint8_t op, int dst, int32_t imm, const std::string& target) {
    fixups_.push_back({code_.size(), target, Fix::Off});
    return emit(kClassJmp32 | op | kSrcK, dst, 0, 0, imm);
  }
  Asm& ja(const std::string& target) { return j(kJmpJa, 0, 0, target); }
  Asm& ja_off(int16_t off) { return emit(kClassJmp | kJmpJa, 0, 0, off, 0); }
  Asm& call(int32_t helper) { return emit(kOpCall, 0, 0, 0, helper); }
  Asm& kfunc(int32_t index) { return emit(kOpCall, 0, kPseudoKfuncCall, 0, index); }
  Asm& call_sub(const std::string& target) {
    fixups_.push_back({code_.size(), target, Fix::Imm});
    return emit(kOpCall, 0, kPseudoCall, 0, 0);
  }
  Asm& exit() { return emit(kOpExit, 0, 0, 0, 0); }
  Asm& ret(int32_t value) { return mov(0, value).exit(); }

  // Common sequences.
  // r0 = bpf_map_lookup_elem(&map, &(u32){key}) with the key at fp-4.
  Asm& lookup(int map_index, int32_t key = 0) {
    st(W, 10, -4, key).movr(2, 10).add(2, -4).ld_map(1, map_index);
    return call(1);
  }

  std::vector<Insn> build() const {
    std::vector<Insn> out = code_;
    for (const Fixup& fix : fixups_) {
      auto it = labels_.find(fix.label);
      EXPECT_NE(it, labels_.end()) << "unknown label " << fix.label;
      if (it == labels_.end()) continue;
      const int rel = it->second - static_cast<int>(fix.at) - 1;
      if (fix.kind == Fix::Off) out[fix.at].off = static_cast<int16_t>(rel);
      else out[fix.at].imm = rel;
    }
    return out;
  }
  uint32_t address(const std::string& name) const { return static_cast<uint32_t>(labels_.at(name)); }

 private:
  Asm& emit(uint8_t opcode, int dst, int src, int16_t off, int32_t imm) {
    code_.push_back(isa::make_insn(opcode, static_cast<uint8_t>(dst), static_cast<uint8_t>(src),
                                   off, imm));
    return *this;
  }
  enum class Fix { Off, Imm };
  struct Fixup {
    size_t at;
    std::string label;
    Fix kind;
  };
  std::vector<Insn> code_;
  std::map<std::string, int> labels_;
  std::vector<Fixup> fixups_;
};

// The maps every corpus program may reference, by index.
enum StdMap : int {
  kHash = 0,        // hash, key 4, value 8
  kArray = 1,       // array, key 4, value 48, 4 entries
  kTimerHash = 2,   // hash, key 4, value 32: {int; pad; bpf_timer @8; bpf_spin_lock @24}, BTF
  kTimerNoBtf = 3,  // same layout, no value BTF
  kOuter = 4,       // array_of_maps whose inner template is kTimerHash's layout
  kRodata = 5,      // array, value 16, BPF_F_RDONLY_PROG
  kWqArray = 6,     // array, key 4, value 24: {u64; bpf_wq @8}, BTF
  kProgArray = 7,   // prog_array
  kQueue = 8,       // queue, value 8
  kLockArray = 9,   // array, value 16: {int; bpf_spin_lock @4; u64 @8}, BTF
};

inline std::vector<MapDesc> standard_maps() {
  auto make = [](const char* name, maps::MapType type, uint32_t key, uint32_t value,
                 uint32_t entries) {
    MapDesc d;
    d.name = name;
    d.attr.name = name;
    d.attr.type = type;
    d.attr.key_size = key;
    d.attr.value_size = value;
    d.attr.max_entries = entries;
    return d;
  };
  std::vector<MapDesc> out;
  out.push_back(make("hmap", maps::MapType::Hash, 4, 8, 16));
  out.push_back(make("arr", maps::MapType::Array, 4, 48, 4));
  MapDesc timer = make("tmap", maps::MapType::Hash, 4, 32, 16);
  timer.attr.record.timer_off = 8;
  timer.attr.record.spin_lock_off = 24;
  timer.attr.has_value_btf = true;
  out.push_back(timer);
  MapDesc no_btf = timer;
  no_btf.name = no_btf.attr.name = "tmap_nobtf";
  no_btf.attr.has_value_btf = false;
  out.push_back(no_btf);
  MapDesc outer = make("outer", maps::MapType::ArrayOfMaps, 4, 4, 4);
  outer.attr.inner_template = std::make_shared<maps::MapAttr>(timer.attr);
  out.push_back(outer);
  MapDesc ro = make("ro", maps::MapType::Array, 4, 16, 1);
  ro.attr.map_flags = maps::kFlagRdonlyProg;
  out.push_back(ro);
  MapDesc wq = make("wqmap", maps::MapType::Array, 4, 24, 2);
  wq.attr.record.wq_off = 8;
  wq.attr.has_value_btf = true;
  out.push_back(wq);
  out.push_back(make("progs", maps::MapType::ProgArray, 4, 4, 4));
  out.push_back(make("queue", maps::MapType::Queue, 0, 8, 4));
  MapDesc lock = make("locks", maps::MapType::Array, 4, 16, 2);
  lock.attr.record.spin_lock_off = 4;
  lock.attr.has_value_btf = true;
  out.push_back(lock);
  return out;
}

struct Case {
  std::string name;
  ProgType type;
  std::vector<Insn> insns;
  const char* error = nullptr;  // null: must be accepted; else a substring of the message
  int code = 0;                 // expected errno when non-zero
  std::vector<std::pair<uint32_t, std::string>> subprogs;
};

inline Case accept(std::string name, ProgType type, const Asm& code) {
  return Case{std::move(name), type, code.build(), nullptr, 0, {}};
}
inline Case reject(std::string name, ProgType type, const Asm& code, const char* error,
                   int errno_code = 0) {
  return Case{std::move(name), type, code.build(), error, errno_code, {}};
}

inline std::vector<const helpers::HelperProto*> standard_kfuncs() {
  return {helpers::find_kfunc("bpf_wq_init"), helpers::find_kfunc("bpf_wq_set_callback_impl"),
          helpers::find_kfunc("bpf_wq_start")};
}

inline Result<VerifyOutput> run_case(const Case& c, bool verbose = false) {
  VerifyInput input;
  input.prog_name = c.name;
  input.type = c.type;
  input.insns = &c.insns;
  input.maps = standard_maps();
  input.subprog_names = c.subprogs;
  input.kfuncs = standard_kfuncs();
  input.verbose_log = verbose;
  return verify(input);
}

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class CorpusTest : public ::testing::TestWithParam<Case> {};

inline void check_case(const Case& c) {
  auto result = run_case(c);
  if (!c.error) {
    EXPECT_TRUE(result.ok()) << c.name << ": " << (result.ok() ? "" : result.error().message)
                             << "\n"
                             << (result.ok() ? "" : run_case(c, true).error().message);
    return;
  }
  ASSERT_FALSE(result.ok()) << c.name << " was accepted, expected: " << c.error;
  EXPECT_NE(result.error().message.find(c.error), std::string::npos)
      << c.name << ": got \"" << result.error().message << "\", expected \"" << c.error << "\"";
  if (c.code) {
    EXPECT_EQ(result.error().code, c.code) << result.error().message;
  }
}

inline std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

}  // namespace hourglass::verifier::test
