# The single entry point. `make demo` and `make test` do all the set-up on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo demo-reset test lint lock bench clean

$(VENV)/.installed: requirements.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

demo: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_demo --keep
	$(PY) manage.py run_demo

demo-reset: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_demo

# Three passes: the unit, feed, API and optimiser tests in parallel; the browser tests (Playwright's
# sync API keeps an event loop running in its worker while a browser module runs, so they stay
# apart from the asyncio code of the feed tests); and, serially, the failure tests, which stop and restart the
# real PostgreSQL, Redis and Celery worker. Exit 5 (nothing selected) is fine for the last two.
test: install
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n auto -m "not browser and not failure" $(PYTEST_ARGS)
	$(PY) -m pytest -n auto -m browser $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(PY) -m pytest -m failure $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

lock:
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules var wmin.sqlite3
