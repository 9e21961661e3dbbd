// Turning kernel-form instructions into an image: encoding checks (the vm runs unverified code
// too, e.g. the conformance suite, so it never trusts the stream) and relocation binding, as the
// kernel's resolve_pseudo_ldimm64 and fixup_bpf_calls do. Every error names the instruction.
#include <algorithm>
#include <string>

#include "vm/image.h"

namespace hourglass::vm {

namespace {

constexpr uint8_t kMaxRegister = 10;
constexpr int32_t kTailCallHelperId = 12;

Error insn_error(size_t index, const std::string& what) {
  return make_error(EINVAL, "instruction " + std::to_string(index) + ": " + what);
}

std::string hex(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "0x%02x", value);
  return buffer;
}

// Walks the instruction stream once; `second_slot[i]` marks the second half of an ld_imm64 (no
// jump may land there and it never executes).
class Preparer {
 public:
  Preparer(Program::Impl& image, const ImageInput& input, HelperResolver resolve_helper)
      : image_(image), input_(input), insns_(input.insns), resolve_helper_(resolve_helper) {}

  Status run() {
    if (insns_.empty()) return make_error(EINVAL, "empty program");
    if (auto marked = mark_ld_imm64(); !marked.ok()) return marked;
    image_.code.resize(insns_.size() + 1);
    for (size_t i = 0; i < insns_.size(); ++i) {
      if (second_slot_[i]) continue;
      if (auto decoded = decode(i); !decoded.ok()) return decoded;
    }
    image_.code.back().opcode = kOpFellOff;
    return mark_zeroed_frames();
  }

 private:
  Status mark_zeroed_frames() {
    for (auto [entry, bytes] : input_.zeroed_frames) {
      if (entry >= insns_.size() || second_slot_[entry])
        return insn_error(entry, "zeroed frame entry is no instruction");
      if (bytes > isa::kStackSize || bytes % 8 != 0)
        return insn_error(entry, "zeroed frame of " + std::to_string(bytes) + " bytes");
      if (image_.frame_zero_bytes.empty()) image_.frame_zero_bytes.assign(image_.code.size(), 0);
      image_.frame_zero_bytes[entry] = static_cast<uint16_t>(bytes);
    }
    return {};
  }

  Status mark_ld_imm64() {
    second_slot_.assign(insns_.size(), false);
    for (size_t i = 0; i < insns_.size(); ++i) {
      if (!isa::is_ld_imm64(insns_[i])) continue;
      if (i + 1 >= insns_.size()) return insn_error(i, "truncated ld_imm64");
      const isa::Insn& tail = insns_[i + 1];
      if (tail.opcode != 0 || tail.dst != 0 || tail.src != 0 || tail.off != 0)
        return insn_error(i + 1, "bad second slot of ld_imm64");
      second_slot_[i + 1] = true;
      ++i;
    }
    return {};
  }

  Status check_target(size_t index, int64_t target, const char* what) const {
    if (target < 0 || target >= static_cast<int64_t>(insns_.size()))
      return insn_error(index, std::string(what) + " out of range (target " +
                                   std::to_string(target) + ")");
    if (second_slot_[static_cast<size_t>(target)])
      return insn_error(index, std::string(what) + " into the middle of ld_imm64 at " +
                                   std::to_string(target));
    return {};
  }

  Status check_registers(size_t index, const isa::Insn& insn) const {
    if (insn.dst > kMaxRegister) return insn_error(index, "bad register r" + std::to_string(insn.dst));
    // src of ld_imm64 and of call (immediate form) is a pseudo kind, not a register.
    const bool src_is_register = !isa::is_ld_imm64(insn) && insn.opcode != isa::kOpCall;
    if (src_is_register && insn.src > kMaxRegister)
      return insn_error(index, "bad register r" + std::to_string(insn.src));
    return {};
  }

  Status decode(size_t index) {
    const isa::Insn& insn = insns_[index];
    if (!isa::is_known_opcode(insn)) return insn_error(index, "unknown opcode " + hex(insn.opcode));
    if (auto registers = check_registers(index, insn); !registers.ok()) return registers;
    Slot& slot = image_.code[index];
    slot.opcode = insn.opcode;
    slot.dst = insn.dst;
    slot.src = insn.src;
    slot.off = insn.off;
    slot.imm = insn.imm;
    const uint8_t cls = isa::insn_class(insn);
    const uint8_t op = insn.opcode & 0xf0;
    switch (cls) {
      case isa::kClassLd:
        if (isa::is_ld_imm64(insn)) return bind_ld_imm64(index, slot);
        return insn_error(index, "legacy packet access (BPF_ABS/BPF_IND) is not supported");
      case isa::kClassAlu:
      case isa::kClassAlu64:
        if (op == isa::kAluMov && (insn.opcode & isa::kSrcX) && insn.off != 0)
          slot.opcode = cls == isa::kClassAlu64 ? kOpMovsx64 : kOpMovsx32;
        return {};
      case isa::kClassJmp:
      case isa::kClassJmp32:
        return decode_jump(index, slot);
      default:
        return {};
    }
  }

  Status decode_jump(size_t index, Slot& slot) {
    const isa::Insn& insn = insns_[index];
    const uint8_t op = insn.opcode & 0xf0;
    const int64_t next = static_cast<int64_t>(index) + 1;
    if (op == isa::kJmpExit) return {};
    if (op == isa::kJmpCall) {
      if (insn.opcode == isa::kOpCallx) return {};
      if (insn.src == isa::kPseudoCall) {
        const int64_t target = next + insn.imm;
        if (auto checked = check_target(index, target, "call"); !checked.ok()) return checked;
        slot.opcode = kOpLocalCall;
        slot.value = static_cast<uint64_t>(target);
        return {};
      }
      if (insn.src == isa::kPseudoKfuncCall) return bind_kfunc(index, slot);
      if (insn.src != 0) return insn_error(index, "bad call source " + std::to_string(insn.src));
      return bind_helper(index, slot);
    }
    // gotol (JMP32 ja) takes its offset from imm; every other jump from off.
    const bool long_jump = isa::insn_class(insn) == isa::kClassJmp32 && op == isa::kJmpJa;
    const int64_t target = next + (long_jump ? insn.imm : insn.off);
    return check_target(index, target, "jump");
  }

  Status bind_helper(size_t index, Slot& slot) {
    if (slot.imm == kTailCallHelperId) {
      slot.opcode = kOpTailCall;
      return {};
    }
    helpers::HelperFn fn = resolve_helper_ ? resolve_helper_(slot.imm) : nullptr;
    if (!fn) return insn_error(index, "unknown helper id " + std::to_string(slot.imm));
    slot.value = reinterpret_cast<uint64_t>(fn);
    return {};
  }

  Status bind_kfunc(size_t index, Slot& slot) {
    const auto kfunc_index = static_cast<uint32_t>(slot.imm);
    if (kfunc_index >= input_.kfuncs.size() || !input_.kfuncs[kfunc_index])
      return insn_error(index, "unresolved kfunc index " + std::to_string(slot.imm));
    slot.opcode = isa::kOpCall;  // same calling convention as a helper
    slot.value = reinterpret_cast<uint64_t>(input_.kfuncs[kfunc_index]);
    return {};
  }

  Result<maps::Map*> map_at(size_t index, int32_t map_index) {
    if (map_index < 0 || static_cast<size_t>(map_index) >= input_.maps.size() ||
        !input_.maps[static_cast<size_t>(map_index)])
      return insn_error(index, "bad map index " + std::to_string(map_index));
    maps::Map* map = input_.maps[static_cast<size_t>(map_index)];
    if (std::find(image_.used_maps.begin(), image_.used_maps.end(), map) == image_.used_maps.end()) {
      map->acquire();
      image_.used_maps.push_back(map);
    }
    return map;
  }

  Status bind_ld_imm64(size_t index, Slot& slot) {
    const isa::Insn& tail = insns_[index + 1];
    image_.code[index + 1].opcode = kOpLdImm64Tail;
    switch (slot.src) {
      case 0:
        slot.value = (static_cast<uint64_t>(static_cast<uint32_t>(tail.imm)) << 32) |
                     static_cast<uint32_t>(slot.imm);
        return {};
      case isa::kPseudoMapFd: {
        auto map = map_at(index, slot.imm);
        if (!map.ok()) return map.take_error();
        slot.value = reinterpret_cast<uint64_t>(*map);
        return {};
      }
      case isa::kPseudoMapValue: {
        auto map = map_at(index, slot.imm);
        if (!map.ok()) return map.take_error();
        auto* base = static_cast<uint8_t*>((*map)->direct_value_base());
        if (!base)
          return insn_error(index, "map '" + (*map)->name() + "' has no direct value access");
        const auto offset = static_cast<uint32_t>(tail.imm);
        if (offset >= (*map)->attr().value_size)
          return insn_error(index, "offset " + std::to_string(offset) + " outside the value of map '" +
                                       (*map)->name() + "'");
        slot.value = reinterpret_cast<uint64_t>(base + offset);
        return {};
      }
      case isa::kPseudoFunc: {
        const int64_t target = static_cast<int64_t>(index) + 1 + slot.imm;
        if (auto checked = check_target(index, target, "function reference"); !checked.ok())
          return checked;
        slot.src = 0;  // now a plain constant load
        slot.value = reinterpret_cast<uint64_t>(callback_for(static_cast<uint32_t>(target)));
        return {};
      }
      default:
        return insn_error(index, "unsupported ld_imm64 source " + std::to_string(slot.src));
    }
  }

  // One CallbackTarget per target subprogram, however many instructions reference it.
  const CallbackTarget* callback_for(uint32_t entry_insn) {
    for (const CallbackTarget& existing : image_.callbacks)
      if (existing.entry_insn == entry_insn) return &existing;
    std::string name = "subprog_" + std::to_string(entry_insn);
    for (const auto& [entry, subprog_name] : input_.subprog_names)
      if (entry == entry_insn) name = subprog_name;
    image_.callback_names.push_back(std::move(name));
    CallbackTarget& target = image_.callbacks.emplace_back();
    target.program = image_.self;
    target.entry_insn = entry_insn;
    target.name = image_.callback_names.back().c_str();
    target.invoke = invoke_callback;
    target.warm = warm_callback;
    target.engine_data = &image_;
    return &target;
  }

  Program::Impl& image_;
  const ImageInput& input_;
  const std::vector<isa::Insn>& insns_;
  HelperResolver resolve_helper_;
  std::vector<bool> second_slot_;
};

}  // namespace

Status prepare_image(Program::Impl& image, const ImageInput& input, HelperResolver resolve_helper) {
  image.env = input.env;
  image.engine = input.engine;
  image.resolve_helper = resolve_helper;
  return Preparer(image, input, resolve_helper).run();
}

bool Program::Impl::uses_map(const void* map) const {
  for (const maps::Map* used : used_maps)
    if (used == map) return true;
  return false;
}

const CallbackTarget* Program::Impl::find_callback(uint64_t address) const {
  for (const CallbackTarget& target : callbacks)
    if (reinterpret_cast<uint64_t>(&target) == address) return &target;
  return nullptr;
}

}  // namespace hourglass::vm
