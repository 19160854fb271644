# make run: install what changed, migrate, serve on http://127.0.0.1:5000
# make test: the whole suite (also on PostgreSQL when TEST_DATABASE_URL is set)
# make bench: benchmarks, the app against a bare relay (needs a local PostgreSQL)
# make protocol: docs/schemas, docs/asyncapi.yaml, static/js/protocol.js and the Python
# client's chatclient/events.py from the models

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app

.PHONY: run test lint format migrate bench protocol conformance clean

run: $(VENV)/.runtime static/vendor/socket.io.min.js migrate
	$(BIN)/python serve.py

migrate: $(VENV)/.runtime
	# The CLI serves nothing, so it needs no async server (and no eventlet notice).
	ASYNC_MODE=threading $(BIN)/flask db upgrade

test: $(VENV)/.dev static/vendor/socket.io.min.js
	node --test tests/js/
	$(BIN)/pytest $(PYTEST_ARGS)

# The app against a bare Flask-SocketIO relay, eventlet and gevent (8-10 min on 2 cores),
# then another client's ack while one uploads at full speed (~3 min); BENCH_ARGS=--quick is
# a smoke run of 2-3 minutes. Writes bench/RESULTS.md, bench/RESULTS-uploads.md, README.md.
bench: $(VENV)/.dev node_modules/.package-lock.json
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/uploads.py --mode both --seconds 15 --write bench/RESULTS-uploads.md $(BENCH_ARGS)

# The conformance suite (conformance/) against a running server that claims the protocol:
# make conformance BASE_URL=http://127.0.0.1:5000 (README, "Conformance": the settings).
conformance: $(VENV)/.dev
	@test -n "$(BASE_URL)" || { echo "usage: make conformance BASE_URL=http://host:port"; exit 2; }
	BASE_URL=$(BASE_URL) $(BIN)/pytest -p no:cacheprovider conformance $(PYTEST_ARGS)

# The protocol's documents, exported from the payload models (a test fails when stale).
protocol: $(VENV)/.dev
	ASYNC_MODE=threading $(BIN)/python -m chat.export

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Stamp files: a second run reinstalls nothing unless the pins changed.
$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Every browser library (vendor.mjs lists them); the Socket.IO client stands for them all.
static/vendor/socket.io.min.js: node_modules/.package-lock.json vendor.mjs
	node vendor.mjs static/vendor

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
