# Rollcall developer commands. `make serve` and `make test` are the two a newcomer needs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The PostgreSQL server the test suite also runs against (trust auth on this machine).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: serve test test-sqlite test-postgres lint format bench benchmark load poll-cost drill clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## serve: set everything up and serve Rollcall with demo data on SQLite at http://127.0.0.1:8000, with the task
# queue's worker beside it (the Procfile's two processes, run by honcho; Ctrl+C stops both)
serve: $(BIN)/.installed
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DJANGO_DEBUG=1 $(BIN)/python manage.py seed_demo
	DJANGO_DEBUG=1 SERVE_ADDRESS=$(HOST):$(PORT) PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile

## test: the whole suite on SQLite, then on PostgreSQL (required when CI=true)
test: test-sqlite test-postgres

test-sqlite: $(BIN)/.installed
	$(BIN)/pytest -n auto

test-postgres: $(BIN)/.installed
	@if $(BIN)/python scripts/postgres_ready.py "$(TEST_POSTGRES_URL)"; then \
		DATABASE_URL="$(TEST_POSTGRES_URL)" $(BIN)/pytest -n auto; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(TEST_POSTGRES_URL) is not reachable: CI requires it." >&2; exit 1; \
	else \
		echo "PostgreSQL at $(TEST_POSTGRES_URL) is not reachable: skipped the PostgreSQL run (CI will not skip it)." >&2; \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports --no-cache

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: every figure of issue 10 beside its raw limit and target, 500 x 40 and 2,000 x 100, SQLite and PostgreSQL
# (BENCH_POSTGRES_URL is dropped and recreated: its name must contain "bench"; skipped when PostgreSQL does not answer)
BENCH_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/rollcall_bench_disposable
bench: $(BIN)/.installed
	$(BIN)/python scripts/bench.py --postgres-url "$(BENCH_POSTGRES_URL)" $(BENCH_ARGS)

## benchmark: the bench's quick version (100 x 20 and 400 x 40, medians of 3)
benchmark: $(BIN)/.installed
	$(BIN)/python scripts/bench.py --quick --postgres-url "$(BENCH_POSTGRES_URL)" $(BENCH_ARGS)

## load: 50 simulated operators on a 200-customer release, gunicorn on PostgreSQL, 30 s, all on 127.0.0.1; each
# operator thinks 1-3 s between two requests (`make load LOAD_ARGS="--think-time 0"`: the tight loop)
# (LOAD_DATABASE_URL is dropped and recreated: its name must contain "load")
LOAD_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/rollcall_load
load: $(BIN)/.installed
	$(BIN)/python scripts/load_test.py --database-url "$(LOAD_DATABASE_URL)" $(LOAD_ARGS)

## poll-cost: what 50 open matrices polling for live updates cost gunicorn, as % of one core (budget: 5 %)
# (POLL_COST_DATABASE_URL is dropped and recreated: its name must contain "load")
POLL_COST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/rollcall_poll_load
poll-cost: $(BIN)/.installed
	$(BIN)/python scripts/poll_cost.py --database-url "$(POLL_COST_DATABASE_URL)"

## drill: the three drills at full size (README, "Drills"): restore (SQLite and PostgreSQL: 1,000 actions, backed up,
# wiped, restored, compared), fault (backends terminated twice and PostgreSQL RESTARTED once during a load run: every
# database of that server loses its connections, so not while tests use it) and worker crash (kill -9 mid-delivery)
# (DRILL_POSTGRES_URL and DRILL_SQLITE_URL are dropped and recreated: their names must contain "drill")
DRILL_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/rollcall_drill
DRILL_SQLITE_URL ?= sqlite:///$(CURDIR)/data/rollcall_drill.sqlite3
drill: $(BIN)/.installed
	$(BIN)/python scripts/drill_restore.py --database-url "$(DRILL_SQLITE_URL)"
	$(BIN)/python scripts/drill_restore.py --database-url "$(DRILL_POSTGRES_URL)"
	$(BIN)/python scripts/drill_fault.py --database-url "$(DRILL_POSTGRES_URL)" --restart-postgres
	$(BIN)/python scripts/drill_worker.py --database-url "$(DRILL_SQLITE_URL)"
	$(BIN)/python scripts/drill_worker.py --database-url "$(DRILL_POSTGRES_URL)"

clean:
	rm -rf $(VENV) staticfiles
