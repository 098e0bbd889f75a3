# The two commands a newcomer needs: `make quickstart` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/tunesmith/installed

.PHONY: setup quickstart test lint test-all clean upgrade-deps

# `make setup` installs the exact versions of requirements.lock (a pip constraints file; the
# tests pass with them), so editing the lock, pyproject.toml or the script re-runs it.
$(STAMP): pyproject.toml requirements.lock scripts/setup_env.sh
	bash scripts/setup_env.sh $(VENV)

setup: $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/tunesmith run examples/quickstart/tunesmith.yaml

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy src/tunesmith
	$(VENV)/bin/lint-imports  # the layer and no-cycle contracts of pyproject.toml

# The whole suite, slow end-to-end tests included (under 15 minutes on 2 CPU cores).
test: lint
	$(PY) -m pytest -q --durations=25

# Move the lock to the newest versions pyproject.toml's ranges allow (torch stays at the locked
# build): install them in a fresh scratch venv, run `make test` there, and rewrite
# requirements.lock only if it passes. Review and commit the lock's diff yourself.
upgrade-deps:
	bash scripts/upgrade_deps.sh

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
