# The README's two commands, `make run` and `make test`, do all the set-up on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test fuzz lint format install migrate clean-db browser bench

# Re-installs only when a requirements file changed since the last install: dev.txt includes
# prod.txt, which includes base.txt.
$(BIN)/.installed: requirements/base.txt requirements/prod.txt requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	touch $@

install: $(BIN)/.installed

# The dev server and a job worker together (apps/core/management/commands/run_dev.py): one
# command, both logs with a prefix each; Ctrl-C stops both.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_catalogue
	$(BIN)/python manage.py ensure_dev_superuser
	$(BIN)/python manage.py run_dev 127.0.0.1:$(PORT)

# The browser tests drive Debian's Chromium; install it when missing (root, as on CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Chromium for the browser tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	}

test: install browser
	$(BIN)/pytest --ds=project.settings.test

# The API fuzzed against its own OpenAPI schema on a live gunicorn, anonymously and as staff
# (apps/core/tests/test_fuzz.py, which `make test` runs too). FUZZ_SECONDS (150), FUZZ_EXAMPLES
# (25) and FUZZ_SEED (1) set its time budget, examples per operation and seed:
# `make fuzz FUZZ_SECONDS=900`.
fuzz: install
	$(BIN)/pytest --ds=project.settings.test apps/core/tests/test_fuzz.py

# lint-imports checks the layering contracts of pyproject.toml ([tool.importlinter]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/python manage.py migrate --noinput

# Stop the embedded PostgreSQL and delete its data (the next `make run` starts afresh).
clean-db:
	-test -f .data/postgres/postmaster.pid && $(BIN)/python -W ignore -c "import pgserver, pathlib; pgserver.get_server(pathlib.Path('.data/postgres'), cleanup_mode='delete').cleanup()"
	rm -rf .data/postgres

# Issue 6's benchmark: ours against the textbook DRF catalogue and the raw floor, under wrk.
# `make bench SIZE=S` (100,000 products, the default) or `SIZE=M` (1,000,000); BENCH_ARGS passes
# options to benchmarks/run.py, e.g. BENCH_ARGS="--duration 5 --rounds 1 --scenarios list".
# The database catalogue_bench_s/_m lives on DATABASE_URL's server, else the embedded one; it is
# generated once, then reused. Redis on REDIS_URL (default redis://127.0.0.1:6379/5) is needed.
SIZE ?= S
BENCH_ARGS ?=
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
		echo "Installing wrk for the benchmark (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	}
	@url=$$($(BIN)/python benchmarks/database.py $(SIZE)) && \
	products=$$($(BIN)/python benchmarks/database.py $(SIZE) --products) && \
	DATABASE_URL=$$url $(BIN)/python manage.py migrate --noinput && \
	{ $(BIN)/python benchmarks/database.py $(SIZE) --has-products 2>/dev/null \
		|| DATABASE_URL=$$url $(BIN)/python benchmarks/generate_catalogue.py --products $$products; } && \
	DATABASE_URL=$$url $(BIN)/python benchmarks/run.py $(BENCH_ARGS) \
		--output benchmarks/results-$(SIZE).md
