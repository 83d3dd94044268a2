# `make run`: a working OpenID provider on http://127.0.0.1:8000 (SQLite under var/).
# `make test`: the whole suite (PostgreSQL when DATABASE_URL is set, SQLite otherwise).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
# The issuer must be the URL clients use; follow HOST/PORT unless set explicitly.
IAM_ISSUER ?= http://$(HOST):$(PORT)
export IAM_ISSUER

.PHONY: run test install lint bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Starting IAM on $(HOST):$(PORT) (Ctrl-C to stop) ..."
	$(PY) -m iam.serve --bind $(HOST):$(PORT) --workers $(WORKERS) -- --access-log

test: install
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
