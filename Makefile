# Line Lead. `make run` serves the app; `make test` runs the tests.
# Both create .venv and install what is missing first; re-running is safe.

SHELL := /bin/sh
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: run test lint check-python help

help:
	@echo "make run   - set up and serve Line Lead on http://localhost:$${PORT:-8000}/"
	@echo "make test  - set up and run the test suite"
	@echo "make lint  - ruff check, ruff format --check, makemigrations --check"

check-python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed: sudo apt-get install python3.11 python3.11-venv" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; $(PYTHON) is older" >&2; exit 1; }

$(PY): | check-python
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): sudo apt-get install python3-venv" >&2; exit 1; }
	@$(PY) -m pip install -q --upgrade pip

# Stamps re-run pip only when a requirements file changed.
$(VENV)/.installed-run: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt requirements-demo.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	@# Spoken answers; without espeak-ng the browser's own speech synthesis speaks them.
	@bin/ensure-system-packages espeak-ng:espeak-ng || echo "(continuing: the browser will speak the answers)"
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_demo
	$(PY) manage.py load_demo
	exec $(PY) manage.py serve

test: $(VENV)/.installed-dev
	@bin/ensure-system-packages chromium:chromium espeak-ng:espeak-ng sox:sox flite:flite
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
