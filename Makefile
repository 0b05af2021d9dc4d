# crm-experiments: `make demo` and `make test` work on a fresh machine with python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install demo test browser lint lab ui bench clean

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

test: install browser
	$(BIN)/ruff check crm_experiments tests bench examples
	$(BIN)/lint-imports
	$(PY) -m pytest -q

# Headless Chromium for the browser test, from the machine's package manager where we may
# (root with apt-get); elsewhere the browser test is skipped with a clear reason.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing chromium with apt-get ..."; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	    else echo "note: Chromium not installed; the browser test will be skipped"; fi; }

lint: install
	$(BIN)/ruff check crm_experiments tests bench examples

lab: install
	$(PY) -m ipykernel install --sys-prefix --name crm-experiments --display-name "crm-experiments"
	$(BIN)/jupyter lab notebooks

ui: install
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} --host 127.0.0.1 --port 5000

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) data reports/*/ reports/index.html mlflow.db mlruns
