# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
DEV_ENV := POLSO_ENV=development

.PHONY: run test install install-dev translations messages lint migrate-check clean

# `make run PORT=8000 HOST=0.0.0.0` serves elsewhere; e-mailed links follow unless POLSO_BASE_URL is set.
HOST ?= 127.0.0.1
PORT ?= 5000
POLSO_BASE_URL ?= http://$(HOST):$(PORT)
run: install translations
	$(DEV_ENV) $(FLASK) db upgrade
	$(DEV_ENV) POLSO_BASE_URL=$(POLSO_BASE_URL) $(FLASK) demo seed --if-empty
	@echo "Open http://$(HOST):$(PORT) (Ctrl+C stops the server)."
	$(DEV_ENV) POLSO_BASE_URL=$(POLSO_BASE_URL) $(FLASK) run --host $(HOST) --port $(PORT)

# Two workers by default (pytest-xdist): the suite waits on Chromium, SMTP and databases more than it computes.
PYTEST_ARGS ?= -n 2
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

# ical.js and other Node tools the tests run; reinstalled only when the lock file changes.
JS := tests/js
$(JS)/node_modules/.installed: $(JS)/package.json $(JS)/package-lock.json
	npm ci --prefix $(JS) --no-audit --no-fund --loglevel=error
	touch $@

# Browser files built from npm packages (assets/package-lock.json): plotly.js with only the trace types our
# figures draw (assets/plotly.js, bundled by assets/build.mjs) and its stylesheet as a file (CSP: no <style>).
VENDOR := static/vendor
$(VENDOR)/.installed: assets/package.json assets/package-lock.json assets/plotly.js assets/build.mjs dashboards/plotly_assets.py | $(VENV)/.runtime
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix assets --no-audit --no-fund --loglevel=error && \
	  node assets/build.mjs && \
	  $(BIN)/python -m dashboards.plotly_assets && touch $@; \
	else echo "npm not found: the charts use plotly's full bundle from the Python package (4.8 MB)."; fi

install: $(VENV)/.runtime $(VENDOR)/.installed
install-dev: $(VENV)/.dev $(JS)/node_modules/.installed

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
