// Decodes raw map keys, values and global variables into JSON using the object's BTF (libbpf
// btf.h), the way bpftool's map dump does with BTF: struct members by name, arrays, enums by
// name, char arrays as strings. Without BTF, bytes come out as a hex string.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

struct btf;

namespace hourglass::cli {

nlohmann::json btf_to_json(const struct btf* btf, uint32_t type_id, const uint8_t* data,
                           size_t size);
std::string hex_bytes(const uint8_t* data, size_t size);  // "0a 00 00 00"
// Parses "0a 00 00 00", "0x0a000000" (bytes in order) or a decimal integer of `size` bytes
// (little-endian) into bytes; empty on error.
std::vector<uint8_t> parse_bytes(const std::string& text, size_t size);

}  // namespace hourglass::cli
