#!/usr/bin/env bash
# Create the virtual environment and install tunesmith with its dependencies.
#
# torch is installed first and pinned through a constraints file, so that no later
# requirement can make pip pull a different (multi-GB CUDA) build:
#   - a Python that already has torch (for example a GPU build) keeps it: the venv is
#     created with --system-site-packages and the installed version is pinned;
#   - otherwise the CPU build torch==2.13.0 is installed (TORCH_INDEX_URL may name an index
#     that serves CPU wheels, e.g. https://download.pytorch.org/whl/cpu).
set -euo pipefail
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

if [ ! -x "$VENV/bin/python" ]; then
  if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    echo "tunesmith setup: using the torch already installed for $PYTHON"
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    "$PYTHON" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip setuptools wheel

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "tunesmith setup: installing torch==$TORCH_VERSION (CPU build)"
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "$PY" -m pip install --quiet "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
  else
    "$PY" -m pip install --quiet "torch==$TORCH_VERSION"
  fi
fi
INSTALLED=$("$PY" -W ignore -c "import torch; print(torch.__version__.split('+')[0])")
mkdir -p "$VENV/tunesmith"
echo "torch==$INSTALLED" > "$VENV/tunesmith/constraints.txt"
# PIP_CONSTRAINT adds to (does not replace) a machine-wide constraint file.
# DeepSpeed builds no CUDA ops at install time (DS_BUILD_OPS=0): it is used for ZeRO-Offload configs.
DS_BUILD_OPS=0 PIP_CONSTRAINT="$VENV/tunesmith/constraints.txt" "$PY" -m pip install --quiet -e ".[dev]"
touch "$VENV/tunesmith/installed"
echo "tunesmith setup: done (torch $INSTALLED)"
