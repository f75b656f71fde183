# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := coord:create_app
# Exact versions (with hashes) of everything CI tests, and of what production installs.
LOCK := requirements/lock.txt
PRODUCTION_LOCK := requirements/production.txt
# `make lock` runs uv from its own virtualenv, never the project's.
TOOLS ?= .tools
UV_COMPILE = $(TOOLS)/bin/uv pip compile setup.cfg --quiet --generate-hashes \
	--python-version 3.11 --python-platform x86_64-unknown-linux-gnu

.PHONY: run test lint install translations messages serve clean bench lock wheel wheelhouse prod-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml $(LOCK)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel -q compile -d coord/translations

# Re-extract the English msgids and merge them into the Chinese catalog (created the first
# time); then translate the new empty msgstrs. tests/coord/test_i18n.py lists what is missing.
messages: $(STAMP)
	mkdir -p coord/translations
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k N_ -k lazy_gettext --no-location --sort-output --omit-header --no-wrap -o coord/translations/messages.pot .
	$(BIN)/pybabel -q update -i coord/translations/messages.pot -d coord/translations -l zh_Hans_CN --no-fuzzy-matching --init-missing --ignore-obsolete --ignore-pot-creation-date --no-wrap

# A local trial: development settings (a data key is generated into instance/), SQLite.
run: export COORD_ENV ?= development
# A trial must not stop at New Year when the holiday package does not know the next year yet:
# count this year and the next with weekends only where no source knows them.
run: export COORD_WORK_CALENDAR_ASSUMED_YEARS ?= [$(shell date +%Y), $(shell expr $$(date +%Y) + 1)]
run: install
	$(BIN)/flask coord init
	$(BIN)/flask run --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# In parallel (setup.cfg). Extra pytest arguments: make test ARGS='-m "not browser"'
test: install lint
	$(BIN)/python -m pytest $(ARGS)

# Re-resolve the locks after a change of setup.cfg (newest versions it allows; the versions
# already locked are kept where they still fit): base + dev for CI, base for production.
lock:
	test -x $(TOOLS)/bin/uv || { $(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet uv; }
	$(UV_COMPILE) --extra dev -o $(LOCK)
	$(UV_COMPILE) -c $(LOCK) -o $(PRODUCTION_LOCK)

# The app's wheel (templates, static files, migrations and compiled catalogues inside).
wheel: translations
	rm -rf build dist/coord-*.whl
	$(BIN)/pip wheel --quiet --no-deps --wheel-dir dist .

# An offline bundle: the app and every locked production dependency as wheels. On a machine
# without internet: pip install --no-index --find-links wheelhouse coord
wheelhouse: wheel
	rm -rf dist/wheelhouse
	$(BIN)/pip wheel --quiet --require-hashes -r $(PRODUCTION_LOCK) --wheel-dir dist/wheelhouse
	cp dist/coord-*.whl dist/wheelhouse/

# Production on this machine: the wheelhouse in a fresh virtualenv, PostgreSQL, Redis, two
# app instances, a worker, the scheduler and nginx; a journey through them (README).
prod-check: wheelhouse
	$(BIN)/python deploy/prod_check.py

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) instance/*.db build dist
