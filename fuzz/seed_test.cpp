// The committed seeds (seeds/<target>/*.hex) read through the fuzzers' own input code, each
// checked against what its `# expect:` line says, so that a seed cannot silently stop reaching
// what its comments claim when an input format, the verifier or a map changes:
//   verify_run: `accept` (the verifier accepts; both engines create and run it, and agree
//               where fuzz_verify_run compares them; `# returns: N` checks R0) or
//               `reject <message part>`
//   maps:       `created` (the header makes a map; `# results: ...` checks every operation's
//               return) or `refused <negative errno>`
//   object:     `parsed` or `error <message part>`
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <string>

#include "maps_input.h"
#include "object/object.h"
#include "seed_hex.h"
#include "verify_run_input.h"

namespace hourglass::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> seeds_of(const std::string& target) {
  return list_hex_seeds(HG_FUZZ_HEX_SEEDS_DIR, target);
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

// The seed's bytes and its `expect` directive split into verdict and argument.
struct LoadedSeed {
  HexSeed seed;
  std::string verdict;   // first word of `# expect:`
  std::string argument;  // the rest
};

LoadedSeed load(const fs::path& path) {
  LoadedSeed loaded;
  auto parsed = read_hex_seed(path);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  if (!parsed.ok()) return loaded;
  loaded.seed = std::move(*parsed);
  const std::string& expect = loaded.seed.directives["expect"];
  const size_t space = expect.find(' ');
  loaded.verdict = expect.substr(0, space);
  if (space != std::string::npos) loaded.argument = expect.substr(space + 1);
  return loaded;
}

class VerifyRunSeed : public ::testing::TestWithParam<fs::path> {};

// Runs the accepted program in one engine on a zeroed context of the fuzzer's size.
Result<uint64_t> run_in(vm::Engine engine, const VerifyRunInput& input,
                        const verifier::VerifyOutput& verified) {
  auto program = create_program(input, verified, engine);
  if (!program.ok()) return program.take_error();
  std::vector<uint8_t> ctx(kCtxBytes);
  auto ran = (*program)->run(reinterpret_cast<uint64_t>(ctx.data()));
  (*program)->release();
  return ran;
}

TEST_P(VerifyRunSeed, VerifierVerdictIsTheCommentedOne) {
  const LoadedSeed loaded = load(GetParam());
  const std::vector<uint8_t>& bytes = loaded.seed.bytes;
  ASSERT_FALSE(bytes.empty());
  ASSERT_EQ((bytes.size() - 1) % 8, 0u) << "a type byte, then whole 8-byte instructions";
  const auto input = decode_verify_run(bytes.data(), bytes.size());
  ASSERT_TRUE(input.has_value());
  auto verified = verify_input(*input);
  if (loaded.verdict == "reject") {
    ASSERT_FALSE(verified.ok()) << "accepted, the seed says rejected";
    EXPECT_NE(verified.error().message.find(loaded.argument), std::string::npos)
        << "'" << loaded.argument << "' not in: " << verified.error().message;
    return;
  }
  ASSERT_EQ(loaded.verdict, "accept") << "`# expect: accept` or `# expect: reject <message>`";
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  const auto interp = run_in(vm::Engine::Interpreter, *input, *verified);
  const auto jit = run_in(vm::Engine::Jit, *input, *verified);
  ASSERT_TRUE(interp.ok()) << interp.error().message;
  ASSERT_TRUE(jit.ok()) << jit.error().message;
  if (!calls_helpers(input->insns) && !verified->exposes_addresses) {
    EXPECT_EQ(*interp, *jit) << "the engines disagree, as fuzz_verify_run would report";
  }
  const auto returns = loaded.seed.directives.find("returns");
  if (returns != loaded.seed.directives.end()) {
    const uint64_t expected = std::stoull(returns->second, nullptr, 0);
    EXPECT_EQ(*interp, expected) << "interpreter";
    EXPECT_EQ(*jit, expected) << "JIT";
  }
}

INSTANTIATE_TEST_SUITE_P(Committed, VerifyRunSeed, ::testing::ValuesIn(seeds_of("verify_run")),
                         test_name);

class MapsSeed : public ::testing::TestWithParam<fs::path> {};

TEST_P(MapsSeed, MapAndOperationResultsAreTheCommentedOnes) {
  const LoadedSeed loaded = load(GetParam());
  const MapsRun run = run_maps_input(loaded.seed.bytes.data(), loaded.seed.bytes.size());
  if (loaded.verdict == "refused") {
    EXPECT_FALSE(run.created);
    EXPECT_EQ(run.create_error, std::stol(loaded.argument));
    return;
  }
  ASSERT_EQ(loaded.verdict, "created") << "`# expect: created` or `# expect: refused <-errno>`";
  ASSERT_TRUE(run.created) << "create_map: " << run.create_error;
  const auto expected = loaded.seed.directives.find("results");
  if (expected == loaded.seed.directives.end()) return;
  std::string actual;
  for (long result : run.results) actual += (actual.empty() ? "" : " ") + std::to_string(result);
  EXPECT_EQ(actual, expected->second);
}

INSTANTIATE_TEST_SUITE_P(Committed, MapsSeed, ::testing::ValuesIn(seeds_of("maps")), test_name);

class ObjectSeed : public ::testing::TestWithParam<fs::path> {};

TEST_P(ObjectSeed, LoaderVerdictIsTheCommentedOne) {
  const LoadedSeed loaded = load(GetParam());
  // Hand-made objects stay small; a fuzzer crash kept as a regression seed (crash_*) is a
  // mutated test object.
  const bool from_crash = GetParam().stem().string().rfind("crash_", 0) == 0;
  EXPECT_LE(loaded.seed.bytes.size(), from_crash ? 16384u : 2048u) << "keep object seeds small";
  auto parsed = object::parse_object(loaded.seed.bytes.data(), loaded.seed.bytes.size(), "seed.o");
  if (loaded.verdict == "parsed") {
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    return;
  }
  ASSERT_EQ(loaded.verdict, "error") << "`# expect: parsed` or `# expect: error <message>`";
  ASSERT_FALSE(parsed.ok()) << "parsed, the seed says error";
  EXPECT_NE(parsed.error().message.find(loaded.argument), std::string::npos)
      << "'" << loaded.argument << "' not in: " << parsed.error().message;
}

INSTANTIATE_TEST_SUITE_P(Committed, ObjectSeed, ::testing::ValuesIn(seeds_of("object")),
                         test_name);

TEST(SeedHex, BytesCommentsAndDirectives) {
  auto seed = parse_hex_seed(
      "# expect: accept\n"
      "# returns: 0x2a\n"
      "b7 00 00 00 2a000000  # r0 = 42\n"
      "   # note in between: not a key\n"
      "95000000 00000000\n");
  ASSERT_TRUE(seed.ok()) << seed.error().message;
  const std::vector<uint8_t> expected = {0xb7, 0, 0, 0, 0x2a, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(seed->bytes, expected);
  EXPECT_EQ(seed->directives["expect"], "accept");
  EXPECT_EQ(seed->directives["returns"], "0x2a");
  EXPECT_EQ(seed->directives.count("note in between"), 0u);
}

TEST(SeedHex, MalformedHexNamesTheLine) {
  auto odd = parse_hex_seed("00\nb70 # r0\n");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("line 2: odd number of hex digits in 'b70'"), std::string::npos)
      << odd.error().message;
  auto not_hex = parse_hex_seed("0x12\n");
  ASSERT_FALSE(not_hex.ok());
  EXPECT_NE(not_hex.error().message.find("line 1: not hex"), std::string::npos);
}

TEST(SeedHex, EveryTargetHasCommittedSeeds) {
  EXPECT_GE(seeds_of("verify_run").size(), 15u);
  EXPECT_GE(seeds_of("maps").size(), 10u);
  EXPECT_GE(seeds_of("object").size(), 3u);
}

}  // namespace
}  // namespace hourglass::fuzz
