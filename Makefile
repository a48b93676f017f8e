# Two commands on a fresh machine: `make run` and `make test`. Each bootstraps .venv from the
# lock file first (python3 -m venv + pip), so nothing but Python 3.11 is needed beforehand.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
# The test tiers (which tests run on which database, on both cores) are declared in
# scripts/test_tiers.py; `make test TIERS="sqlite mariadb"` runs only those.
TIERS ?=

.PHONY: run up test lint install lock bench clean

$(STAMP): requirements.lock pyproject.toml
	python3.11 -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Start StackGate on the embedded default: SQLite, simulator, no broker; http://127.0.0.1:8000
run: $(STAMP)
	$(VENV)/bin/stackgate serve

## The distributed shape (gateway :8000, api :8080, worker, billing :8090) on PostgreSQL,
## RabbitMQ and Redis at 127.0.0.1, as separate processes (Procfile; settings and ports in
## Procfile.env). The shell reads Procfile.env, so its ${...} expand; honcho is given no env
## file (`-e /dev/null`: its own parser would not expand them).
## Colours only on a terminal: honcho's prefixes and the console log lines both check.
up: $(STAMP)
	set -a && . ./Procfile.env && set +a && $(PY) scripts/ensure_databases.py && \
		$(VENV)/bin/stackgate migrate && \
		PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho start -e /dev/null

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench migrations scripts
	$(VENV)/bin/ruff format --check -q src tests bench migrations scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench
	$(VENV)/bin/lint-imports

## The whole suite: lint, then every test tier (scripts/test_tiers.py --list names them), ending
## with each tier's duration. Tests marked broker_restart stop and start the local RabbitMQ:
## they run alone, one at a time, and always start it again.
test: lint
	$(PY) scripts/test_tiers.py $(TIERS)

lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--generate-hashes -o requirements.lock

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
