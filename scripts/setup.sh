#!/usr/bin/env bash
# Installs the Debian 12 packages Hourglass needs, only those missing.
# Why each one: see docs/dependencies.md.
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build clang llvm
  libbpf-dev libelf-dev zlib1g-dev libxbyak-dev libcli11-dev libfmt-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libpcap-dev
  libclang-rt-14-dev iproute2 python3
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
