# Two commands: `make run` (set up and serve) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/center
REDIS_TEST_URL ?= redis://127.0.0.1:6379/1
PYTEST_ARGS ?= -n 2
DEV_ENV := DJANGO_DEBUG=1

.PHONY: run test test-sqlite test-postgres lint format bench bench-mixed worker

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py seed_demo --if-empty
	$(DEV_ENV) $(PY) manage.py ensure_admin
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:8000

worker: $(VENV)/.runtime
	$(DEV_ENV) $(PY) manage.py db_worker

test: test-sqlite test-postgres

test-sqlite: $(VENV)/.dev
	$(DEV_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(DEV_ENV) $(PY) manage.py check
	$(PY) -m pytest $(PYTEST_ARGS)

# The PostgreSQL pass (with Redis as the cache). In CI a missing server fails the run;
# on a laptop without PostgreSQL it is reported and skipped.
test-postgres: $(VENV)/.dev
	@if $(PY) -m center.services_check "$(PG_TEST_URL)" "$(REDIS_TEST_URL)"; then \
		DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) -m pytest $(PYTEST_ARGS) -m "not browser"; \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL or Redis is not reachable: failing, since CI must run the PostgreSQL pass." >&2; exit 1; \
	else \
		echo "*** PostgreSQL/Redis not reachable: the PostgreSQL pass was NOT run. ***" >&2; \
	fi

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmark (README, "Benchmark"): seeds dedicated databases once, then gunicorn + wrk.
# Subsets: make bench BENCH_ARGS="--sizes 5821 --dbs postgres --duration 5"
BENCH_ARGS ?=
bench: $(VENV)/.runtime
	@command -v wrk >/dev/null || (apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk >/dev/null 2>&1) \
		|| echo "wrk could not be installed: using the Python load generator." >&2
	$(PY) bench/run.py $(BENCH_ARGS)

# The mixed workload (README, "Security and operations"): pages + subscribing, 32 connections, 60 s, PostgreSQL.
bench-mixed: $(VENV)/.runtime
	$(PY) bench/mixed_load.py $(BENCH_ARGS)
