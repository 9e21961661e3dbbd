// Imports a corpus file's case table (its `cases()` function) into the differential binary
// without registering its tests a second time: included right before a corpus_*_test.cpp, it
// turns TEST/TEST_P bodies into member functions nobody calls and drops the instantiation. The
// corpus files stay the one source of their cases.
#pragma once

#include "asm.h"  // gtest first, so the macros below replace gtest's

#undef TEST
#undef TEST_P
#undef INSTANTIATE_TEST_SUITE_P
#define TEST(suite, name)                    \
  struct suite##_##name##_Imported {         \
    void Body();                             \
  };                                         \
  inline void suite##_##name##_Imported::Body()
#define TEST_P(suite, name)                   \
  struct suite##_##name##_Imported : suite {  \
    void Body();                              \
  };                                          \
  inline void suite##_##name##_Imported::Body()
#define INSTANTIATE_TEST_SUITE_P(...) static_assert(true)

namespace hourglass::verifier::test {
std::vector<Case> imported_memory_cases();
std::vector<Case> imported_control_cases();
std::vector<Case> imported_helper_cases();
std::vector<Case> imported_encoding_cases();
std::vector<Case> imported_uninit_stack_cases();
}  // namespace hourglass::verifier::test
