#include "cli/btf_json.h"

#include <bpf/btf.h>

#include <cctype>
#include <cstring>
#include <fmt/format.h>

namespace hourglass::cli {

namespace {

constexpr int kMaxDepth = 32;  // BTF can be cyclic through pointers; we never follow pointers

uint64_t read_uint(const uint8_t* data, size_t size) {
  uint64_t value = 0;
  std::memcpy(&value, data, std::min<size_t>(size, 8));
  return value;
}

int64_t sign_extend(uint64_t value, size_t size) {
  if (size >= 8) return static_cast<int64_t>(value);
  unsigned shift = 64 - static_cast<unsigned>(size) * 8;
  return static_cast<int64_t>(value << shift) >> shift;
}

nlohmann::json decode(const struct btf* btf, uint32_t type_id, const uint8_t* data, size_t size,
                      int depth);

nlohmann::json decode_int(const struct btf_type* type, const uint8_t* data, size_t size) {
  uint32_t info = *reinterpret_cast<const uint32_t*>(type + 1);
  uint32_t encoding = BTF_INT_ENCODING(info);
  size_t bytes = std::min<size_t>(type->size, size);
  if (bytes > 8) return hex_bytes(data, bytes);
  uint64_t raw = read_uint(data, bytes);
  if (encoding & BTF_INT_BOOL) return raw != 0;
  if (encoding & BTF_INT_SIGNED) return sign_extend(raw, bytes);
  return raw;
}

nlohmann::json decode_bitfield(const uint8_t* data, size_t size, uint32_t bit_off,
                               uint32_t bit_size) {
  uint64_t raw = 0;
  size_t first = bit_off / 8;
  std::memcpy(&raw, data + first, std::min<size_t>(8, size > first ? size - first : 0));
  raw >>= bit_off % 8;
  if (bit_size < 64) raw &= (1ull << bit_size) - 1;
  return raw;
}

bool is_char(const struct btf* btf, uint32_t type_id) {
  const struct btf_type* t = btf__type_by_id(btf, btf__resolve_type(btf, type_id));
  if (!t || !btf_is_int(t) || t->size != 1) return false;
  return (BTF_INT_ENCODING(btf_int_encoding(t)) & BTF_INT_CHAR) ||
         std::strcmp(btf__name_by_offset(btf, t->name_off), "char") == 0;
}

nlohmann::json decode_array(const struct btf* btf, const struct btf_type* type, const uint8_t* data,
                            size_t size, int depth) {
  const struct btf_array* array = btf_array(type);
  long elem_size = btf__resolve_size(btf, array->type);
  if (elem_size <= 0) return hex_bytes(data, size);
  if (is_char(btf, array->type)) {
    size_t len = strnlen(reinterpret_cast<const char*>(data), std::min<size_t>(array->nelems, size));
    bool printable = true;
    for (size_t i = 0; i < len; ++i) printable = printable && std::isprint(data[i]);
    if (printable) return std::string(reinterpret_cast<const char*>(data), len);
  }
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t i = 0; i < array->nelems && (i + 1) * static_cast<size_t>(elem_size) <= size; ++i)
    out.push_back(decode(btf, array->type, data + i * elem_size, elem_size, depth + 1));
  return out;
}

nlohmann::json decode_struct(const struct btf* btf, const struct btf_type* type,
                             const uint8_t* data, size_t size, int depth) {
  nlohmann::json out = nlohmann::json::object();
  const struct btf_member* member = btf_members(type);
  for (uint16_t i = 0; i < btf_vlen(type); ++i, ++member) {
    std::string name = btf__name_by_offset(btf, member->name_off);
    if (name.empty()) name = fmt::format("__anon{}", i);
    uint32_t bit_off = btf_member_bit_offset(type, i);
    uint32_t bit_size = btf_member_bitfield_size(type, i);
    if (bit_off / 8 >= size) continue;
    if (bit_size) {
      out[name] = decode_bitfield(data, size, bit_off, bit_size);
      continue;
    }
    long member_size = btf__resolve_size(btf, member->type);
    size_t off = bit_off / 8;
    if (member_size < 0 || off + static_cast<size_t>(member_size) > size) continue;
    out[name] = decode(btf, member->type, data + off, member_size, depth + 1);
  }
  return out;
}

nlohmann::json decode_enum(const struct btf* btf, const struct btf_type* type, const uint8_t* data,
                           size_t size) {
  size_t bytes = std::min<size_t>(type->size, size);
  int64_t value = sign_extend(read_uint(data, bytes), bytes);
  if (btf_is_enum(type)) {
    const struct btf_enum* e = btf_enum(type);
    for (uint16_t i = 0; i < btf_vlen(type); ++i, ++e)
      if (e->val == static_cast<int32_t>(value)) return btf__name_by_offset(btf, e->name_off);
  } else {
    const struct btf_enum64* e = btf_enum64(type);
    for (uint16_t i = 0; i < btf_vlen(type); ++i, ++e)
      if (btf_enum64_value(e) == static_cast<uint64_t>(value)) return btf__name_by_offset(btf, e->name_off);
  }
  return value;
}

nlohmann::json decode_datasec(const struct btf* btf, const struct btf_type* type,
                              const uint8_t* data, size_t size, int depth) {
  nlohmann::json out = nlohmann::json::object();
  const struct btf_var_secinfo* var = btf_var_secinfos(type);
  for (uint16_t i = 0; i < btf_vlen(type); ++i, ++var) {
    if (var->offset + var->size > size) continue;
    const struct btf_type* var_type = btf__type_by_id(btf, var->type);
    if (!var_type) continue;
    out[btf__name_by_offset(btf, var_type->name_off)] =
        decode(btf, var->type, data + var->offset, var->size, depth + 1);
  }
  return out;
}

nlohmann::json decode(const struct btf* btf, uint32_t type_id, const uint8_t* data, size_t size,
                      int depth) {
  const struct btf_type* type = btf__type_by_id(btf, type_id);
  if (!type || depth > kMaxDepth) return hex_bytes(data, size);
  switch (btf_kind(type)) {
    case BTF_KIND_INT: return decode_int(type, data, size);
    case BTF_KIND_PTR: return fmt::format("0x{:x}", read_uint(data, std::min<size_t>(8, size)));
    case BTF_KIND_ARRAY: return decode_array(btf, type, data, size, depth);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return decode_struct(btf, type, data, size, depth);
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: return decode_enum(btf, type, data, size);
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
    case BTF_KIND_VAR: return decode(btf, type->type, data, size, depth + 1);
    case BTF_KIND_DATASEC: return decode_datasec(btf, type, data, size, depth);
    case BTF_KIND_FLOAT:
      if (type->size == 4 && size >= 4) {
        float f;
        std::memcpy(&f, data, 4);
        return f;
      }
      if (type->size == 8 && size >= 8) {
        double d;
        std::memcpy(&d, data, 8);
        return d;
      }
      return hex_bytes(data, size);
    default: return hex_bytes(data, size);
  }
}

}  // namespace

nlohmann::json btf_to_json(const struct btf* btf, uint32_t type_id, const uint8_t* data,
                           size_t size) {
  if (!btf || type_id == 0) return hex_bytes(data, size);
  return decode(btf, type_id, data, size, 0);
}

std::string hex_bytes(const uint8_t* data, size_t size) {
  std::string out;
  for (size_t i = 0; i < size; ++i) out += (i ? " " : "") + fmt::format("{:02x}", data[i]);
  return out;
}

std::vector<uint8_t> parse_bytes(const std::string& text, size_t size) {
  std::vector<uint8_t> bytes;
  if (text.rfind("0x", 0) == 0 && text.find(' ') == std::string::npos) {
    std::string digits = text.substr(2);
    if (digits.size() != size * 2) return {};
    for (size_t i = 0; i < size; ++i) {
      char* end = nullptr;
      std::string pair = digits.substr(i * 2, 2);
      bytes.push_back(static_cast<uint8_t>(std::strtoul(pair.c_str(), &end, 16)));
      if (*end) return {};
    }
    return bytes;
  }
  if (text.find(' ') != std::string::npos) {
    size_t pos = 0;
    while (pos < text.size()) {
      while (pos < text.size() && text[pos] == ' ') ++pos;
      if (pos >= text.size()) break;
      size_t end = text.find(' ', pos);
      std::string token = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      char* stop = nullptr;
      unsigned long v = std::strtoul(token.c_str(), &stop, 16);
      if (*stop || v > 0xff) return {};
      bytes.push_back(static_cast<uint8_t>(v));
      pos = end == std::string::npos ? text.size() : end;
    }
    return bytes.size() == size ? bytes : std::vector<uint8_t>{};
  }
  // A decimal integer, little-endian, as wide as the key/value.
  char* stop = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &stop, 10);
  if (text.empty() || *stop || errno || size == 0 || size > 8) return {};
  bytes.resize(size);
  std::memcpy(bytes.data(), &v, size);
  return bytes;
}

}  // namespace hourglass::cli
