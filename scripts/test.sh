#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the whole suite with CTest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" "$ROOT/build"
cd "$ROOT/build"
ctest --output-on-failure -j "$(nproc)" --timeout 300
