# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := coord:create_app

.PHONY: run test lint install translations messages serve clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
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

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	@for f in benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) instance/*.db
