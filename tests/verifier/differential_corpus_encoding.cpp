// The encoding corpus's cases for the differential harness (see differential_corpus_import.h).
#include "differential_corpus_import.h"
#include "corpus_encoding_test.cpp"

namespace hourglass::verifier::test {
std::vector<Case> imported_encoding_cases() { return cases(); }
}  // namespace hourglass::verifier::test
