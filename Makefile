# Two commands: `make run` and `make test`. Everything they need is set up on the way.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# What `make run` needs, and what the tests and measurements need besides (browsers' drivers, fuzzers).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-test

.PHONY: run test lint bench bench-webhooks bench-console bench-telemetry bench-logins bench-mail memory fuzz install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $(RUN_STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/ticketd db upgrade
	$(BIN)/ticketd demo
	TICKETD_LOG_FORMAT=console TICKETD_WEBHOOK_ALLOW_PRIVATE=true $(BIN)/ticketd serve

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_telemetry.py
	$(BIN)/python scripts/bench_telemetry_in_process.py
	$(BIN)/python scripts/bench_webhooks.py
	BENCH_WEBHOOK_WORKER=1 $(BIN)/python scripts/bench_webhooks.py
	$(BIN)/python scripts/bench_console.py

# The console's queue page over a million tickets, with each filter (BENCH_CONSOLE_POSTGRES=1 adds PostgreSQL).
# Mail in over HTTP and IMAP (a Dovecot of its own), each message acknowledged over SMTP, with the
# status lookups' figures meanwhile.
bench-mail: $(STAMP)
	$(BIN)/python scripts/bench_mail.py

bench-console: $(STAMP)
	$(BIN)/python scripts/bench_console.py

# What the request telemetry costs a status lookup: the server's CPU with it and without it.
bench-telemetry: $(STAMP)
	$(BIN)/python scripts/bench_telemetry.py
	$(BIN)/python scripts/bench_telemetry_in_process.py

# The webhooks' fan-out alone: 10,000 status changes delivered to 3 local receivers, by the server's own
# thread (the embedded default), then by a `ticketd worker` on the other core.
bench-webhooks: $(STAMP)
	$(BIN)/python scripts/bench_webhooks.py
	BENCH_WEBHOOK_WORKER=1 $(BIN)/python scripts/bench_webhooks.py

# Status lookups while every password-taking face is flooded with wrong passwords.
bench-logins: $(STAMP)
	$(BIN)/python scripts/login_flood.py

# The fuzzer on every face for two minutes each, on both stores (make test runs it 10 s a face).
fuzz: $(STAMP)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-120} $(BIN)/pytest tests/test_fuzz.py

# The server's memory while a 500 MB import is uploaded and a 500 MB export downloaded.
memory: $(STAMP)
	$(BIN)/python scripts/memory.py

clean:
	rm -rf $(VENV) var bench-results
