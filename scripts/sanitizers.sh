#!/usr/bin/env bash
# Builds and runs the test suite under a sanitizer. Any sanitizer report fails the run.
#
#   scripts/sanitizers.sh address   # ASan + UBSan (and LSan) in build-asan/
#   scripts/sanitizers.sh thread    # TSan in build-tsan/
#
# Environment: BUILD_DIR overrides the build folder; JOBS the build/test parallelism
# (default: nproc); CTEST_ARGS is appended to the ctest command line (e.g. "-R stress").
#
# address builds with clang and the libFuzzer targets (HOURGLASS_FUZZ=ON), so the fuzz smoke runs
# (label fuzz, ~20 s each) are part of it; thread builds with GCC. Both use the Sanitize build type
# (-O1, line tables: see CMakeLists.txt). Every test runs, bench.quick included: long tests scale
# their sizes down under sanitizers (kSanitized in tests/timers/timer_test_util.h,
# kSanitizerDivisor in tests/stress/) instead of being skipped.
set -euo pipefail

usage() { echo "usage: $0 address|thread" >&2; exit 2; }
[[ $# -eq 1 ]] || usage
KIND=$1
case "$KIND" in
  address) SUFFIX=asan; COMPILERS=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DHOURGLASS_FUZZ=ON) ;;
  thread) SUFFIX=tsan; COMPILERS=(-DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++) ;;
  *) usage ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-$SUFFIX}
JOBS=${JOBS:-$(nproc)}

# halt_on_error turns the first report into a non-zero exit of the test binary, which CTest
# counts as a failure. detect_leaks is on by default with ASan on Linux; stated for clarity.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# second_deadlock_stack gives both stacks of lock-order reports; history_size=4 keeps the
# previous access of a race resolvable in long tests.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Sanitize "${COMPILERS[@]}" \
  -DHOURGLASS_SANITIZE="$KIND" >/dev/null
cmake --build "$BUILD" -j "$JOBS"

cd "$BUILD"
# Sanitized tests run 2-15x slower: a generous per-test timeout.
# CTEST_ARGS is split the way the shell splits words, quotes honoured (CTEST_ARGS="-R 'a|b'").
eval "extra_ctest_args=(${CTEST_ARGS:-})"
ctest --output-on-failure -j "$JOBS" --timeout 900 "${extra_ctest_args[@]}"
