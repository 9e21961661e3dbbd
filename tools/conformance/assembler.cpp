// Two passes: the first splits lines into mnemonic + operands and assigns slot numbers to labels
// (lddw takes two slots); the second encodes, resolving jump targets against the label table.
#include "assembler.h"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>

namespace hourglass::conformance {

namespace {

struct Line {
  size_t number = 0;  // 1-based, for messages
  std::string mnemonic;
  std::vector<std::string> operands;
  size_t slot = 0;
};

struct AluOp {
  const char* name;
  uint8_t op;
  int16_t off;
};
constexpr AluOp kAluOps[] = {
    {"add", isa::kAluAdd, 0},  {"sub", isa::kAluSub, 0},   {"mul", isa::kAluMul, 0},
    {"div", isa::kAluDiv, 0},  {"sdiv", isa::kAluDiv, 1},  {"or", isa::kAluOr, 0},
    {"and", isa::kAluAnd, 0},  {"lsh", isa::kAluLsh, 0},   {"rsh", isa::kAluRsh, 0},
    {"mod", isa::kAluMod, 0},  {"smod", isa::kAluMod, 1},  {"xor", isa::kAluXor, 0},
    {"mov", isa::kAluMov, 0},  {"arsh", isa::kAluArsh, 0}, {"neg", isa::kAluNeg, 0},
};

struct JumpOp {
  const char* name;
  uint8_t op;
};
constexpr JumpOp kJumpOps[] = {
    {"jeq", isa::kJmpJeq},   {"jgt", isa::kJmpJgt},   {"jge", isa::kJmpJge},
    {"jset", isa::kJmpJset}, {"jne", isa::kJmpJne},   {"jsgt", isa::kJmpJsgt},
    {"jsge", isa::kJmpJsge}, {"jlt", isa::kJmpJlt},   {"jle", isa::kJmpJle},
    {"jslt", isa::kJmpJslt}, {"jsle", isa::kJmpJsle},
};

uint8_t size_code(char suffix) {
  switch (suffix) {
    case 'b': return isa::kSizeB;
    case 'h': return isa::kSizeH;
    case 'w': return isa::kSizeW;
    default: return isa::kSizeDW;
  }
}

// Size suffix of ldx/st/stx mnemonics: b h w dw; 0xff when not one of them.
uint8_t parse_size(const std::string& suffix) {
  if (suffix == "b" || suffix == "h" || suffix == "w") return size_code(suffix[0]);
  if (suffix == "dw") return isa::kSizeDW;
  return 0xff;
}

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

class Assembler {
 public:
  Result<std::vector<isa::Insn>> run(const std::vector<std::string>& text) {
    if (auto split = split_lines(text); !split.ok()) return split.take_error();
    for (const Line& line : lines_) {
      current_ = &line;
      if (auto encoded = encode(line); !encoded.ok()) return encoded.take_error();
    }
    return std::move(out_);
  }

 private:
  Error fail(const std::string& what) const {
    return make_error(EINVAL, "line " + std::to_string(current_ ? current_->number : 0) + ": " + what);
  }

  Status split_lines(const std::vector<std::string>& text) {
    size_t slot = 0;
    std::vector<std::string> pending_labels;
    for (size_t i = 0; i < text.size(); ++i) {
      std::istringstream words(text[i]);
      std::vector<std::string> tokens;
      for (std::string word; words >> word;) {
        if (!tokens.empty() && word.size() > 1 && word.back() == ',') word.pop_back();
        tokens.push_back(word);
      }
      if (tokens.empty()) continue;
      if (tokens[0].back() == ':') {  // a label; the rest of its line is discarded
        labels_[tokens[0].substr(0, tokens[0].size() - 1)] = slot;
        continue;
      }
      Line line;
      line.number = i + 1;
      line.mnemonic = tokens[0];
      line.operands.assign(tokens.begin() + 1, tokens.end());
      line.slot = slot;
      if (line.mnemonic == "exit" && !first_exit_) first_exit_ = slot;
      slot += line.mnemonic == "lddw" ? 2 : 1;
      lines_.push_back(std::move(line));
    }
    if (first_exit_ && !labels_.count("exit")) labels_["exit"] = *first_exit_;
    return {};
  }

  Result<uint8_t> reg(const std::string& text) const {
    if (text.size() < 3 || text[0] != '%' || text[1] != 'r') return fail("bad register '" + text + "'");
    char* end = nullptr;
    long number = std::strtol(text.c_str() + 2, &end, 10);
    if (*end != '\0' || number < 0 || number > 15) return fail("bad register '" + text + "'");
    return static_cast<uint8_t>(number);
  }

  // Hex (0x..., the 32-bit pattern, at most 0xffffffff) or signed decimal within int32.
  Result<int32_t> imm(const std::string& text) const {
    auto value = integer(text, INT32_MIN, UINT32_MAX);
    if (!value.ok()) return value.take_error();
    return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(*value)));
  }

  Result<int64_t> integer(const std::string& text, int64_t min, uint64_t max) const {
    const bool negative = starts_with(text, "-");
    const std::string digits = negative || starts_with(text, "+") ? text.substr(1) : text;
    const bool is_hex = starts_with(digits, "0x") || starts_with(digits, "0X");
    if (digits.empty() || (is_hex && digits.size() == 2)) return fail("bad number '" + text + "'");
    char* end = nullptr;
    errno = 0;
    const unsigned long long magnitude = std::strtoull(digits.c_str(), &end, is_hex ? 16 : 10);
    if (*end != '\0' || errno == ERANGE) return fail("bad number '" + text + "'");
    if (negative) {
      if (magnitude > static_cast<unsigned long long>(-(min + 1)) + 1)
        return fail("number out of range '" + text + "'");
      return static_cast<int64_t>(0 - magnitude);
    }
    if (magnitude > max) return fail("number out of range '" + text + "'");
    return static_cast<int64_t>(magnitude);
  }

  Result<int16_t> offset(const std::string& text) const {
    auto value = integer(text, INT16_MIN, INT16_MAX);
    if (!value.ok()) return value.take_error();
    return static_cast<int16_t>(*value);
  }

  // "[%rN]", "[%rN+off]", "[%rN-off]".
  Status memory(const std::string& text, uint8_t& base, int16_t& off) const {
    if (text.size() < 4 || text.front() != '[' || text.back() != ']')
      return fail("bad memory operand '" + text + "'");
    const std::string inner = text.substr(1, text.size() - 2);
    const size_t sign = inner.find_first_of("+-");
    auto base_reg = reg(inner.substr(0, sign));
    if (!base_reg.ok()) return base_reg.take_error();
    base = *base_reg;
    off = 0;
    if (sign == std::string::npos) return {};
    auto value = offset(inner.substr(sign));
    if (!value.ok()) return value.take_error();
    off = *value;
    return {};
  }

  // A label or a signed literal +N/-N, relative to the next slot.
  Result<int64_t> target(const std::string& text) const {
    if (starts_with(text, "+") || starts_with(text, "-")) return integer(text, INT32_MIN, INT32_MAX);
    auto label = labels_.find(text);
    if (label == labels_.end()) return fail("unknown label '" + text + "'");
    return static_cast<int64_t>(label->second) - static_cast<int64_t>(current_->slot + 1);
  }

  Status need(const Line& line, size_t count) const {
    if (line.operands.size() != count)
      return fail("'" + line.mnemonic + "' takes " + std::to_string(count) + " operand(s)");
    return {};
  }

  void emit(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t value) {
    out_.push_back(isa::make_insn(opcode, dst, src, off, value));
  }

  Status encode(const Line& line) {
    const std::string& m = line.mnemonic;
    if (m == "exit") {
      emit(isa::kOpExit, 0, 0, 0, 0);
      return {};
    }
    if (m == "lddw") return encode_lddw(line);
    if (m == "call") return encode_call(line);
    if (m == "lock") return encode_atomic(line);
    if (m == "ja" || m == "ja32") return encode_ja(line);
    if (starts_with(m, "ldx")) return encode_load(line);
    if (starts_with(m, "stx")) return encode_store(line, true);
    if (starts_with(m, "st")) return encode_store(line, false);
    if (auto swap = byte_swap_form(m)) return encode_byte_swap(line, *swap);
    if (starts_with(m, "movsx")) return encode_movsx(line);
    for (const JumpOp& jump : kJumpOps) {
      if (m == jump.name) return encode_jump(line, jump.op, isa::kClassJmp);
      if (m == std::string(jump.name) + "32") return encode_jump(line, jump.op, isa::kClassJmp32);
    }
    for (const AluOp& alu : kAluOps) {
      if (m == alu.name || m == std::string(alu.name) + "64")
        return encode_alu(line, alu, isa::kClassAlu64);
      if (m == std::string(alu.name) + "32") return encode_alu(line, alu, isa::kClassAlu);
    }
    return fail("unknown mnemonic '" + m + "'");
  }

  Status encode_alu(const Line& line, const AluOp& alu, uint8_t cls) {
    if (alu.op == isa::kAluNeg) {
      if (auto counted = need(line, 1); !counted.ok()) return counted;
      auto dst = reg(line.operands[0]);
      if (!dst.ok()) return dst.take_error();
      emit(cls | alu.op, *dst, 0, 0, 0);
      return {};
    }
    if (auto counted = need(line, 2); !counted.ok()) return counted;
    auto dst = reg(line.operands[0]);
    if (!dst.ok()) return dst.take_error();
    if (starts_with(line.operands[1], "%")) {
      auto src = reg(line.operands[1]);
      if (!src.ok()) return src.take_error();
      emit(cls | alu.op | isa::kSrcX, *dst, *src, alu.off, 0);
      return {};
    }
    auto value = imm(line.operands[1]);
    if (!value.ok()) return value.take_error();
    emit(cls | alu.op | isa::kSrcK, *dst, 0, alu.off, *value);
    return {};
  }

  // movsx{8,16,32}{64,32}: mov with offset = source width.
  Status encode_movsx(const Line& line) {
    static const struct { const char* name; int16_t bits; uint8_t cls; } kForms[] = {
        {"movsx864", 8, isa::kClassAlu64},   {"movsx1664", 16, isa::kClassAlu64},
        {"movsx3264", 32, isa::kClassAlu64}, {"movsx832", 8, isa::kClassAlu},
        {"movsx1632", 16, isa::kClassAlu},   {"movsx3232", 32, isa::kClassAlu},
    };
    for (const auto& form : kForms) {
      if (line.mnemonic != form.name) continue;
      if (auto counted = need(line, 2); !counted.ok()) return counted;
      auto dst = reg(line.operands[0]);
      if (!dst.ok()) return dst.take_error();
      auto src = reg(line.operands[1]);
      if (!src.ok()) return src.take_error();
      emit(form.cls | isa::kAluMov | isa::kSrcX, *dst, *src, form.bits, 0);
      return {};
    }
    return fail("unknown mnemonic '" + line.mnemonic + "'");
  }

  struct ByteSwap {
    uint8_t opcode;
    int32_t width;
  };

  // be16/be32/be64, le16/32/64, swap16/32/64 and bswap16/32/64.
  static std::optional<ByteSwap> byte_swap_form(const std::string& m) {
    static const struct { const char* prefix; uint8_t opcode; } kForms[] = {
        {"bswap", isa::kClassAlu64 | isa::kAluEnd},
        {"swap", isa::kClassAlu64 | isa::kAluEnd},
        {"be", isa::kClassAlu | isa::kAluEnd | isa::kSrcX},
        {"le", isa::kClassAlu | isa::kAluEnd | isa::kSrcK},
    };
    for (const auto& form : kForms) {
      if (!starts_with(m, form.prefix)) continue;
      const std::string width = m.substr(std::string(form.prefix).size());
      if (width == "16" || width == "32" || width == "64") return ByteSwap{form.opcode, std::stoi(width)};
      return std::nullopt;
    }
    return std::nullopt;
  }

  Status encode_byte_swap(const Line& line, ByteSwap form) {
    if (auto counted = need(line, 1); !counted.ok()) return counted;
    auto dst = reg(line.operands[0]);
    if (!dst.ok()) return dst.take_error();
    emit(form.opcode, *dst, 0, 0, form.width);
    return {};
  }

  Status encode_load(const Line& line) {
    const bool sign_extend = starts_with(line.mnemonic, "ldxs");
    const uint8_t size = parse_size(line.mnemonic.substr(sign_extend ? 4 : 3));
    if (size == 0xff || (sign_extend && size == isa::kSizeDW))
      return fail("unknown mnemonic '" + line.mnemonic + "'");
    if (auto counted = need(line, 2); !counted.ok()) return counted;
    auto dst = reg(line.operands[0]);
    if (!dst.ok()) return dst.take_error();
    uint8_t base = 0;
    int16_t off = 0;
    if (auto parsed = memory(line.operands[1], base, off); !parsed.ok()) return parsed;
    const uint8_t mode = sign_extend ? isa::kModeMemSx : isa::kModeMem;
    emit(isa::kClassLdx | size | mode, *dst, base, off, 0);
    return {};
  }

  Status encode_store(const Line& line, bool from_register) {
    const uint8_t size = parse_size(line.mnemonic.substr(from_register ? 3 : 2));
    if (size == 0xff) return fail("unknown mnemonic '" + line.mnemonic + "'");
    if (auto counted = need(line, 2); !counted.ok()) return counted;
    uint8_t base = 0;
    int16_t off = 0;
    if (auto parsed = memory(line.operands[0], base, off); !parsed.ok()) return parsed;
    if (from_register) {
      auto src = reg(line.operands[1]);
      if (!src.ok()) return src.take_error();
      emit(isa::kClassStx | size | isa::kModeMem, base, *src, off, 0);
      return {};
    }
    auto value = imm(line.operands[1]);
    if (!value.ok()) return value.take_error();
    emit(isa::kClassSt | size | isa::kModeMem, base, 0, off, *value);
    return {};
  }

  // lock [fetch] OP[32] [dst+off], src
  Status encode_atomic(const Line& line) {
    std::vector<std::string> words = line.operands;
    bool fetch = false;
    if (!words.empty() && words[0] == "fetch") {
      fetch = true;
      words.erase(words.begin());
    }
    if (words.size() != 3) return fail("'lock' takes [fetch] OP [dst+off], src");
    std::string op = words[0];
    uint8_t size = isa::kSizeDW;
    if (op.size() > 2 && op.substr(op.size() - 2) == "32") {
      size = isa::kSizeW;
      op.resize(op.size() - 2);
    }
    int32_t code = 0;
    if (op == "add") code = isa::kAluAdd;
    else if (op == "and") code = isa::kAluAnd;
    else if (op == "or") code = isa::kAluOr;
    else if (op == "xor") code = isa::kAluXor;
    else if (op == "xchg") code = isa::kAtomicXchg;
    else if (op == "cmpxchg") code = isa::kAtomicCmpXchg;
    else return fail("unknown atomic operation '" + words[0] + "'");
    if (fetch) code |= isa::kAtomicFetch;
    uint8_t base = 0;
    int16_t off = 0;
    if (auto parsed = memory(words[1], base, off); !parsed.ok()) return parsed;
    auto src = reg(words[2]);
    if (!src.ok()) return src.take_error();
    emit(isa::kClassStx | size | isa::kModeAtomic, base, *src, off, code);
    return {};
  }

  Status encode_lddw(const Line& line) {
    if (auto counted = need(line, 2); !counted.ok()) return counted;
    auto dst = reg(line.operands[0]);
    if (!dst.ok()) return dst.take_error();
    auto value = integer(line.operands[1], INT64_MIN, UINT64_MAX);
    if (!value.ok()) return value.take_error();
    const auto bits = static_cast<uint64_t>(*value);
    emit(isa::kOpLdImm64, *dst, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(bits)));
    emit(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(bits >> 32)));
    return {};
  }

  Status encode_ja(const Line& line) {
    if (auto counted = need(line, 1); !counted.ok()) return counted;
    auto distance = target(line.operands[0]);
    if (!distance.ok()) return distance.take_error();
    if (line.mnemonic == "ja32") {
      emit(isa::kClassJmp32 | isa::kJmpJa, 0, 0, 0, static_cast<int32_t>(*distance));
      return {};
    }
    if (*distance < INT16_MIN || *distance > INT16_MAX) return fail("jump too far for 'ja'");
    emit(isa::kClassJmp | isa::kJmpJa, 0, 0, static_cast<int16_t>(*distance), 0);
    return {};
  }

  Status encode_jump(const Line& line, uint8_t op, uint8_t cls) {
    if (auto counted = need(line, 3); !counted.ok()) return counted;
    auto dst = reg(line.operands[0]);
    if (!dst.ok()) return dst.take_error();
    auto distance = target(line.operands[2]);
    if (!distance.ok()) return distance.take_error();
    if (*distance < INT16_MIN || *distance > INT16_MAX) return fail("jump too far");
    const auto off = static_cast<int16_t>(*distance);
    if (starts_with(line.operands[1], "%")) {
      auto src = reg(line.operands[1]);
      if (!src.ok()) return src.take_error();
      emit(cls | op | isa::kSrcX, *dst, *src, off, 0);
      return {};
    }
    auto value = imm(line.operands[1]);
    if (!value.ok()) return value.take_error();
    emit(cls | op | isa::kSrcK, *dst, 0, off, *value);
    return {};
  }

  // call N | call helper N | call local LABEL | call runtime N | call %rN
  Status encode_call(const Line& line) {
    const auto& ops = line.operands;
    if (ops.size() == 1 && starts_with(ops[0], "%")) {
      auto dst = reg(ops[0]);
      if (!dst.ok()) return dst.take_error();
      emit(isa::kOpCallx, *dst, 0, 0, 0);
      return {};
    }
    if (ops.size() == 2 && ops[0] == "local") {
      auto distance = target(ops[1]);
      if (!distance.ok()) return distance.take_error();
      emit(isa::kOpCall, 0, isa::kPseudoCall, 0, static_cast<int32_t>(*distance));
      return {};
    }
    uint8_t src = 0;
    std::string number;
    if (ops.size() == 1) {
      number = ops[0];
    } else if (ops.size() == 2 && (ops[0] == "helper" || ops[0] == "runtime")) {
      src = ops[0] == "runtime" ? isa::kPseudoKfuncCall : 0;
      number = ops[1];
    } else {
      return fail("bad call operands");
    }
    auto value = imm(number);
    if (!value.ok()) return value.take_error();
    emit(isa::kOpCall, 0, src, 0, *value);
    return {};
  }

  std::vector<Line> lines_;
  std::map<std::string, size_t> labels_;
  std::optional<size_t> first_exit_;
  const Line* current_ = nullptr;
  std::vector<isa::Insn> out_;
};

}  // namespace

Result<std::vector<isa::Insn>> assemble(const std::vector<std::string>& lines) {
  return Assembler().run(lines);
}

}  // namespace hourglass::conformance
