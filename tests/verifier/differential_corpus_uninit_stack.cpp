// The uninitialised-stack corpus's cases for the differential harness (see
// differential_corpus_import.h).
#include "differential_corpus_import.h"
#include "corpus_uninit_stack_test.cpp"

namespace hourglass::verifier::test {
std::vector<Case> imported_uninit_stack_cases() { return cases(); }
}  // namespace hourglass::verifier::test
