#!/usr/bin/env bash
# Regenerates test/Models/Inputs: tiny random Mamba / Mamba-2 checkpoints saved
# by transformers, with the logits transformers computes for them, checked
# against an independent numpy float64 implementation (see
# scripts/make_test_models.py). The tests themselves need none of this: they
# read the committed files.
#
# Creates a Python venv at $REPO/.venv-models if it is missing and installs the
# pinned versions below into it. torch comes from the CPU-only wheel index when
# that host is reachable, otherwise from PyPI (the larger CUDA build; only its
# CPU path is used). Extra arguments go to make_test_models.py (--only NAME).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv-models"
PY="${PYTHON:-python3}"

TORCH_VERSION=2.15.0
TRANSFORMERS_VERSION=5.24.0
SAFETENSORS_VERSION=0.8.0
NUMPY_VERSION=2.4.6

if [ ! -x "$VENV/bin/python" ]; then
  echo "make_test_models: creating $VENV"
  "$PY" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)

installed_ok() {
  "$VENV/bin/python" - "$TORCH_VERSION" "$TRANSFORMERS_VERSION" "$SAFETENSORS_VERSION" "$NUMPY_VERSION" <<'EOF' 2>/dev/null
import sys
import numpy, safetensors, torch, transformers
want = sys.argv[1:]
have = [torch.__version__.split("+")[0], transformers.__version__, safetensors.__version__, numpy.__version__]
sys.exit(0 if have == want else 1)
EOF
}

if ! installed_ok; then
  echo "make_test_models: installing torch $TORCH_VERSION, transformers $TRANSFORMERS_VERSION," \
       "safetensors $SAFETENSORS_VERSION, numpy $NUMPY_VERSION"
  if ! "${pip[@]}" install --quiet --timeout 30 --retries 1 \
        --index-url https://download.pytorch.org/whl/cpu "torch==$TORCH_VERSION"; then
    echo "make_test_models: the CPU wheel index is unreachable; installing torch from PyPI"
    "${pip[@]}" install --quiet "torch==$TORCH_VERSION"
  fi
  "${pip[@]}" install --quiet "transformers==$TRANSFORMERS_VERSION" \
    "safetensors==$SAFETENSORS_VERSION" "numpy==$NUMPY_VERSION"
  installed_ok || { echo "make_test_models: the venv does not have the pinned versions" >&2; exit 1; }
fi

# No hub access is needed (the models are built from configs), and none is tried.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec "$VENV/bin/python" "$REPO/scripts/make_test_models.py" "$@"
