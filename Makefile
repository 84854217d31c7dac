# tokenward — developer entry points. `make demo` and `make test` work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit system-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	$(PY) -c 'from tokenward.scanner import scan_ruleset; from tokenward.rules.spec import load_rules; scan_ruleset(load_rules())'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

demo: $(STAMP) system-deps
	$(PY) scripts/demo.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict src

unit: $(STAMP) system-deps
	$(VENV)/bin/pytest

test: lint typecheck unit

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
