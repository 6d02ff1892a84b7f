# One command each: `make run` (demo trust domain on embedded defaults) and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: run test lint bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

run: $(STAMP) system-deps
	$(VENV)/bin/ezz demo run demo
	$(PY) -m verifier_service.server demo --host 127.0.0.1 --port 8000
	$(VENV)/bin/ezz serve --data demo --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(VENV)/bin/ruff check ezhengzhao verifier_service tests bench scripts
	$(VENV)/bin/mypy --strict ezhengzhao verifier_service

test: $(STAMP) system-deps lint
	$(VENV)/bin/pytest

bench: $(STAMP) system-deps
	$(PY) -m pip install --quiet -e '.[test,bench]'
	bash scripts/system-deps.sh bench
	$(PY) -m bench

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
