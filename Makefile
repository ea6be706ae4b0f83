# Two commands a new user needs: `make dev` (whole stack locally) and `make test` (the suite).
# Each creates .venv and installs the project on first use (and again whenever pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: dev test bench install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[worker,local,test]"
	@touch $(STAMP)

install: $(STAMP)

# dev posts nothing by default: PUBLISH_MODE=dry_run unless you say otherwise (make dev PUBLISH_MODE=live)
PUBLISH_MODE ?= dry_run
dev: $(STAMP)
	PUBLISH_MODE=$(PUBLISH_MODE) $(PY) -m shared.local.dev

# lint and types first (seconds), then the suite on two workers (each worker has its own database and Redis)
PYTEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .local
