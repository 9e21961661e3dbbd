#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds and runs the whole suite three
# times, each in its own folder: release (build/), ASan+UBSan+LSan with the libFuzzer smoke runs
# (build-asan/, clang) and TSan (build-tsan/). Any failure or sanitizer report fails the command.
#
# HOURGLASS_QUICK_TEST=1 runs the release pass only (a developer's inner loop; CI never sets it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"

started=$SECONDS
stamp() { echo "== test.sh: $1 ($((SECONDS - started)) s since start)"; }

"$ROOT/scripts/build.sh" "$ROOT/build"
stamp "release build done"
(cd "$ROOT/build" && ctest --output-on-failure -j "$(nproc)" --timeout 300)
stamp "release suite passed"

if [[ "${HOURGLASS_QUICK_TEST:-0}" == 1 ]]; then
  stamp "HOURGLASS_QUICK_TEST=1: sanitizer passes skipped"
  exit 0
fi
"$ROOT/scripts/sanitizers.sh" address
stamp "ASan+UBSan suite passed"
"$ROOT/scripts/sanitizers.sh" thread
stamp "TSan suite passed"
