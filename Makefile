# The two commands a newcomer needs: `make quickstart` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/tunesmith/installed

.PHONY: setup quickstart test lint test-all clean

$(STAMP): pyproject.toml scripts/setup_env.sh
	bash scripts/setup_env.sh $(VENV)

setup: $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/tunesmith run examples/quickstart/tunesmith.yaml

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy src/tunesmith

# The whole suite, slow end-to-end tests included (under 15 minutes on 2 CPU cores).
test: lint
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
