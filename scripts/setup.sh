#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine needs to build and test ssmc:
# LLVM/MLIR 22 (shared libMLIR), lit and FileCheck, CMake, Ninja, ccache,
# GoogleTest, and OpenBLAS (libopenblas.so.0, which the runtime opens at run
# time for ssm_sgemm; nothing links against it). Idempotent: when everything is present it prints nothing and
# returns at once. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  cmake ninja-build ccache g++ python3
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libgtest-dev libgmock-dev
  libopenblas0-pthread
)

# The sanitizer build and the fuzzers (scripts/test-sanitize.sh,
# scripts/fuzz.sh) need clang and its runtimes (ASan, UBSan, libFuzzer).
if [ -n "${SSM_SETUP_SANITIZE:-}" ]; then
  packages+=(clang-22 libclang-rt-22-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
