#!/usr/bin/env bash
# Runs the shipped example with the freshly built binaries. Usage: example-main.sh BUILD_DIR
set -euo pipefail
BUILD=$1
"$BUILD/src/cli/hourglass" prog run "$BUILD/tests/progs/smoke.bpf.o" --prog return_pass
