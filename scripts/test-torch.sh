#!/usr/bin/env bash
# The PyTorch half of the Python package's tests (python/tests_torch:
# ssmc.torch's custom ops against float64 references, and
# torch.library.opcheck), in a virtual environment of its own,
# build/venv-torch, with PyTorch from PyPI. A command of its own rather than
# a stage of scripts/test.sh: PyPI's Linux wheel of PyTorch brings NVIDIA's
# CUDA libraries, about 5 GB installed (seen: 1.5 minutes to install here).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}
venv=$build/venv-torch

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
echo "test-torch: pip install torch and $root[test] into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check torch "$root[test]"
cd "$build"
"$venv/bin/python" -m pytest -q "$root/python/tests_torch"
