#!/usr/bin/env bash
# The Python package as a user installs it (docs/python.md): a virtual
# environment in the build folder, `pip install .[test]` (which builds the
# compiler's C API and the runtime with scripts/build.sh and packages them),
# then its pytest suite (python/tests) against the installed package, from
# outside the source tree. Needs PyPI for numpy, pytest and tokenizers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}
venv=$build/venv

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
echo "test-python: pip install $root[test] into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root[test]"
cd "$build"
export SSM_RUN=$build/bin/ssm-run SSM_FAKE_CUDA=$build/lib/libssm-fake-cuda.so
"$venv/bin/python" -m pytest -q "$root/python/tests"
