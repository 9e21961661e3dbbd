#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, runs a shipped example.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" "$ROOT/build"
exec "$ROOT/scripts/example-main.sh" "$ROOT/build"
