# Two commands on a fresh machine: `make run` and `make test`. Each bootstraps .venv from the
# lock file first (python3 -m venv + pip), so nothing but Python 3.11 is needed beforehand.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
TEST_DATABASES ?= sqlite postgresql mariadb
# The services' tests (gateway, billing, messaging, the relay's RabbitMQ side, and their
# processes) do not depend on the control-plane database backend: `make test` runs them once,
# on SERVICES_DATABASE, with RabbitMQ and Redis. The outbox recording and the in-process relay
# stay in the per-database runs (the relay's claim query differs per dialect).
SERVICES_DATABASE ?= postgresql
SERVICE_TESTS := tests/integration/gateway tests/integration/billing \
	$(wildcard tests/integration/messaging) \
	tests/integration/events/test_relay_broker.py \
	tests/integration/events/test_relay_broker_restart.py \
	tests/e2e/test_gateway.py tests/e2e/test_billing.py $(wildcard tests/e2e/test_services_*.py)

# The OpenStack provider's own suite (openstacksdk and the `openstack` CLI against `stackgate
# fakecloud`) needs no control-plane database: it runs once. Then the API suite runs once more
# with StackGate driving the cloud through that provider (OPENSTACK_DATABASE tier).
OPENSTACK_TESTS := tests/openstack tests/e2e/test_openstack_provider.py
OPENSTACK_DATABASE ?= sqlite

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
## RabbitMQ and Redis at 127.0.0.1, as separate processes (Procfile, settings in Procfile.env)
up: $(STAMP)
	set -a && . ./Procfile.env && set +a && $(PY) scripts/ensure_databases.py && \
		$(VENV)/bin/stackgate migrate
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho start -e Procfile.env

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench migrations
	$(VENV)/bin/ruff format --check -q src tests bench migrations
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## The whole suite: lint, unit tests, every database-backed tier on each database, then the
## services (gateway, billing, messaging) once. Tests marked broker_restart stop and start the
## local RabbitMQ: pytest runs them serially, and they always start it again.
test: lint
	$(PY) -m pytest tests/unit -q
	@for db in $(TEST_DATABASES); do \
		echo "== tests on $$db =="; \
		STACKGATE_TEST_DATABASE=$$db $(PY) -m pytest tests --ignore=tests/unit \
			$(addprefix --ignore=,$(SERVICE_TESTS) $(OPENSTACK_TESTS)) -q || exit 1; \
	done
	@echo "== services on $(SERVICES_DATABASE), RabbitMQ and Redis =="
	STACKGATE_TEST_DATABASE=$(SERVICES_DATABASE) $(PY) -m pytest $(SERVICE_TESTS) -q
	@echo "== the OpenStack provider against stackgate fakecloud =="
	$(PY) -m pytest $(OPENSTACK_TESTS) -q
	@echo "== the API suite through the OpenStack provider, on $(OPENSTACK_DATABASE) =="
	STACKGATE_TEST_DATABASE=$(OPENSTACK_DATABASE) STACKGATE_TEST_PROVIDER=openstack \
		$(PY) -m pytest tests/api -q -m "not catalog_only_image"

lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--generate-hashes -o requirements.lock

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
