# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
DEV_ENV := POLSO_ENV=development

.PHONY: run test install install-dev translations messages lint migrate-check clean

run: install translations
	$(DEV_ENV) $(FLASK) db upgrade
	$(DEV_ENV) $(FLASK) demo seed --if-empty
	@echo "Open http://127.0.0.1:5000 (Ctrl+C stops the server)."
	$(DEV_ENV) $(FLASK) run --host 127.0.0.1 --port 5000

test: install-dev translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

translations: install
	$(BIN)/pybabel compile -d translations >/dev/null

# Extract new strings and merge them into the catalogs (then translate translations/it/...).
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --ignore-dirs='.venv tests migrations bench .git .* _*' . >/dev/null
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching >/dev/null

lint: install-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance/polso.sqlite3*
