# `make test`: everything the test suite needs, then the suite (SQLite + PostgreSQL,
# crash tests, official-SDK conformance). `make serve`: install and start.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install install-test serve test lint

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The editable install leaves our modules uncompiled: where PYTHONDONTWRITEBYTECODE is set,
# every process would compile them as it starts (a quarter of a second each). compileall
# writes the bytecode whatever that variable says; a module edited later is compiled anew.
install: $(PY)
	$(PY) -m pip install -q -e .
	$(PY) -m compileall -q src

install-test: $(PY)
	bash .ci/install-system-deps
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m compileall -q src tests bench

serve: install
	$(VENV)/bin/orchestration serve

lint: install-test
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy src

test: install-test lint
	$(VENV)/bin/pytest
