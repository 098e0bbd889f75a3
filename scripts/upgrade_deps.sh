#!/usr/bin/env bash
# `make upgrade-deps`: move requirements.lock to the newest versions pyproject.toml allows.
#
#  1. a fresh scratch venv (UPGRADE_VENV, default a new folder under $TMPDIR) gets tunesmith and
#     the newest versions its ranges allow (setup_env.sh with TUNESMITH_LOCK=none); torch stays
#     at the locked version (TORCH_VERSION overrides it);
#  2. `make test` runs with VENV pointing at it (ruff, mypy, the whole suite);
#  3. only if that passes, requirements.lock is rewritten from that venv (write_lock.sh) and
#     the changed versions are listed. The scratch venv is removed unless KEEP_VENV=1.
# The next `make setup` (or test, quickstart) then installs the new lock into .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
LOCK="$ROOT/requirements.lock"
OWN_SCRATCH=""
if [ -z "${UPGRADE_VENV:-}" ]; then
  OWN_SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/tunesmith-upgrade.XXXXXX")"
  UPGRADE_VENV="$OWN_SCRATCH/venv"
elif [ -e "$UPGRADE_VENV" ]; then
  echo "upgrade-deps: $UPGRADE_VENV exists; name a new folder (the venv must be fresh)" >&2
  exit 1
fi
cleanup() {
  if [ -n "$OWN_SCRATCH" ] && [ "${KEEP_VENV:-0}" != 1 ]; then rm -rf "$OWN_SCRATCH"; fi
}
trap cleanup EXIT

locked_torch=$(grep -i -E '^torch==' "$LOCK" | sed -E 's/^[^=]+==//' || true)
export TORCH_VERSION="${TORCH_VERSION:-${locked_torch:-2.13.0}}"
export TUNESMITH_LOCK=none   # also for make, should it decide to re-run setup

echo "upgrade-deps: resolving pyproject.toml's ranges in $UPGRADE_VENV (torch $TORCH_VERSION)"
bash scripts/setup_env.sh "$UPGRADE_VENV"

echo "upgrade-deps: make test VENV=$UPGRADE_VENV"
if ! make test VENV="$UPGRADE_VENV"; then
  echo "upgrade-deps: the tests fail with the newest versions; requirements.lock is unchanged." >&2
  echo "  Fix tunesmith (a version shim goes in src/tunesmith/compat/) or tighten pyproject.toml's" >&2
  echo "  range, then run make upgrade-deps again (KEEP_VENV=1 keeps the scratch venv to debug)." >&2
  exit 1
fi

old="$(mktemp)"
cp "$LOCK" "$old"
bash scripts/write_lock.sh "$UPGRADE_VENV" "$LOCK"
echo "upgrade-deps: changed versions (review, then commit requirements.lock):"
changes=$(diff <(grep -v '^#' "$old") <(grep -v '^#' "$LOCK") | grep -E '^[<>]' || true)
echo "${changes:-  (none)}"
rm -f "$old"
