// .BTF.ext: func_info and line_info records, grouped by section name. libbpf validates the blob
// (btf_ext__new) but exposes no record accessors, so the records are read here, each access
// bounds-checked. CO-RE relocation records are refused: they need the target kernel's BTF.
//
// Layout (include/uapi/linux/btf.h, libbpf btf.h): a header {u16 magic 0xeB9F, u8 version,
// u8 flags, u32 hdr_len, u32 func_info_off, u32 func_info_len, u32 line_info_off,
// u32 line_info_len, [u32 core_relo_off, u32 core_relo_len]}; offsets count from the end of the
// header. Each part is {u32 record_size; then per section: u32 sec_name_off, u32 num_info,
// num_info records}. Record insn_off fields are in bytes.
#include <bpf/btf.h>

#include <cstring>

#include "object/object_internal.h"

namespace hourglass::object::detail {
namespace {

constexpr uint16_t kBtfMagic = 0xeB9F;

Error ext_error(const std::string& what) { return make_error(EINVAL, "invalid .BTF.ext: " + what); }

struct Cursor {
  const uint8_t* data;
  uint64_t size;

  bool read_u32(uint64_t offset, uint32_t& out) const {
    if (offset > size || size - offset < 4) return false;
    std::memcpy(&out, data + offset, 4);
    return true;
  }
};

struct PartRange {
  uint64_t offset;
  uint64_t length;
};

// Calls on_record(section_name, record_offset) for each record of one part; record_size >=
// min_record_size is guaranteed.
template <class OnRecord>
Status walk_part(const ParseContext& ctx, const Cursor& cursor, PartRange part,
                 uint32_t min_record_size, const char* part_name, OnRecord on_record) {
  if (part.length == 0) return {};
  if (part.offset > cursor.size || part.length > cursor.size - part.offset) {
    return ext_error(std::string(part_name) + " lies outside the section");
  }
  const Cursor view{cursor.data + part.offset, part.length};
  uint32_t record_size = 0;
  if (!view.read_u32(0, record_size) || record_size < min_record_size || record_size % 4 != 0) {
    return ext_error(std::string(part_name) + " record size " + std::to_string(record_size) +
                     " is invalid");
  }
  uint64_t at = 4;
  while (at < view.size) {
    uint32_t name_off = 0;
    uint32_t count = 0;
    if (!view.read_u32(at, name_off) || !view.read_u32(at + 4, count)) {
      return ext_error(std::string(part_name) + " is truncated");
    }
    at += 8;
    if (uint64_t{count} * record_size > view.size - at) {
      return ext_error(std::string(part_name) + " has " + std::to_string(count) +
                       " records that overrun it");
    }
    const char* name = btf__name_by_offset(ctx.btf, name_off);
    if (name == nullptr) return ext_error(std::string(part_name) + " names no section");
    for (uint32_t i = 0; i < count; ++i, at += record_size) {
      if (Status s = on_record(std::string(name), view, at); !s) return s;
    }
  }
  return {};
}

}  // namespace

Result<BtfExtInfo> read_btf_ext(const ParseContext& ctx) {
  BtfExtInfo info;
  const ElfSection* section = ctx.elf.find_section(".BTF.ext");
  if (section == nullptr || ctx.btf == nullptr || section->data == nullptr) return info;
  if (section->size > UINT32_MAX) return ext_error("section too large");
  // libbpf's own validation first (header, record sizes, section name offsets).
  struct btf_ext* checked = btf_ext__new(section->data, static_cast<uint32_t>(section->size));
  if (checked == nullptr) {
    return ext_error(std::string("libbpf rejects it: ") + std::strerror(errno));
  }
  btf_ext__free(checked);

  const Cursor cursor{section->data, section->size};
  uint16_t magic = 0;
  uint32_t header_length = 0;
  uint32_t fields[6] = {};  // func off/len, line off/len, core off/len
  std::memcpy(&magic, section->data, sizeof(magic));  // size >= header checked by libbpf
  if (magic != kBtfMagic || !cursor.read_u32(4, header_length) || header_length < 24 ||
      header_length > cursor.size) {
    return ext_error("bad header");
  }
  const int field_count = header_length >= 32 ? 6 : 4;
  for (int i = 0; i < field_count; ++i) {
    if (!cursor.read_u32(8 + 4 * i, fields[i])) return ext_error("bad header");
  }
  const Cursor body{section->data + header_length, section->size - header_length};

  Status funcs = walk_part(ctx, body, {fields[0], fields[1]}, 8, "func_info",
                           [&](const std::string& name, const Cursor& view, uint64_t at) {
                             uint32_t insn_off = 0, type_id = 0;
                             view.read_u32(at, insn_off);
                             view.read_u32(at + 4, type_id);
                             if (insn_off % 8 != 0) return Status(ext_error("func_info offset"));
                             info.funcs[name].emplace_back(insn_off / 8, type_id);
                             return Status();
                           });
  if (!funcs) return funcs.take_error();
  Status lines = walk_part(ctx, body, {fields[2], fields[3]}, 16, "line_info",
                           [&](const std::string& name, const Cursor& view, uint64_t at) {
                             BtfExtInfo::Line line{};
                             view.read_u32(at, line.insn);
                             view.read_u32(at + 4, line.file_name_off);
                             view.read_u32(at + 8, line.line_off);
                             view.read_u32(at + 12, line.line_col);
                             if (line.insn % 8 != 0) return Status(ext_error("line_info offset"));
                             line.insn /= 8;
                             info.lines[name].push_back(line);
                             return Status();
                           });
  if (!lines) return lines.take_error();
  if (field_count == 6) {
    Status core = walk_part(ctx, body, {fields[4], fields[5]}, 16, "core_relo",
                            [&](const std::string& name, const Cursor&, uint64_t) {
                              return Status(make_error(
                                  ENOTSUP, "section '" + name +
                                               "': CO-RE relocations (BPF_CORE_READ, "
                                               "preserve_access_index) are not supported"));
                            });
    if (!core) return core.take_error();
  }
  return info;
}

}  // namespace hourglass::object::detail
