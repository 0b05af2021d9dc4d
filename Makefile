# crm-experiments: `make demo` and `make test` work on a fresh machine with python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install demo test lint lab ui bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/crm-exp demo

test: install
	$(BIN)/ruff check crm_experiments tests bench
	$(PY) -m pytest -q

lint: install
	$(BIN)/ruff check crm_experiments tests bench

lab: install
	$(PY) -m ipykernel install --sys-prefix --name crm-experiments --display-name "crm-experiments"
	$(BIN)/jupyter lab notebooks

ui: install
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} --host 127.0.0.1 --port 5000

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) data reports/*/ reports/index.html mlflow.db mlruns
