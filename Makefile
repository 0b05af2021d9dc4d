# crm-experiments: `make demo` and `make test` work on a fresh machine with python3.
#
# What gets installed (each into .venv, once; a stamp file per set, named after the checksum of
# pyproject.toml and constraints.txt, so a second run installs nothing):
#   make demo   the package and its runtime dependencies only (no pytest, ruff, playwright,
#               import-linter, pyspark, jupyterlab)
#   make test   the same plus the `test` extra (test tools and the Spark engine)
#   make lab    the same plus the `lab` extra (JupyterLab)
# Every install is constrained by constraints.txt (-c): the exact versions the tests last passed
# with, so a fresh machine gets those. `make constraints` rewrites it (see there).
PYTHON ?= python3
# pytest workers for `make test` (auto = one per core; 1 = no parallelism, for debugging)
TEST_WORKERS ?= auto
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
CONSTRAINTS ?= constraints.txt
PIP_INSTALL := $(PY) -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
SUM := $(shell cat pyproject.toml $(CONSTRAINTS) | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-run-$(SUM)
TEST_STAMP := $(VENV)/.installed-test-$(SUM)
LAB_STAMP := $(VENV)/.installed-lab-$(SUM)
BENCH_STAMP := $(VENV)/.installed-bench-$(SUM)

.PHONY: install install-test demo test browser lint lab ui bench constraints clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip

# $(1): stamp kind, $(2): what to install
define install_set
	$(PIP_INSTALL) -e '$(2)'
	rm -f $(VENV)/.installed-$(1)-*
	touch $(VENV)/.installed-$(1)-$(SUM)
endef

$(RUN_STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(call install_set,run,.)

$(TEST_STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(call install_set,test,.[test])

$(LAB_STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(call install_set,lab,.[lab])

install: $(RUN_STAMP)

install-test: $(TEST_STAMP)

demo: install
	$(BIN)/crm-exp demo

test: install-test browser
	$(BIN)/ruff check crm_experiments tests bench examples
	$(BIN)/lint-imports
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# Headless Chromium for the browser test, from the machine's package manager where we may
# (root with apt-get); elsewhere the browser test is skipped with a clear reason.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing chromium with apt-get ..."; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	    else echo "note: Chromium not installed; the browser test will be skipped"; fi; }

lint: install-test
	$(BIN)/ruff check crm_experiments tests bench examples

lab: $(LAB_STAMP)
	$(PY) -m ipykernel install --sys-prefix --name crm-experiments --display-name "crm-experiments"
	$(BIN)/jupyter lab notebooks

ui: install
	$(BIN)/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} --host 127.0.0.1 --port 5000

# The `bench` extra (tea-tasting), and gbstats without its dependencies (it pins numpy<2 and
# pandas<2; see pyproject.toml), both constrained: the peers of bench/bench_methods.py's parity.
$(BENCH_STAMP): pyproject.toml $(CONSTRAINTS) | $(PY)
	$(PIP_INSTALL) -e '.[bench]'
	$(PIP_INSTALL) --no-deps gbstats
	rm -f $(VENV)/.installed-bench-*
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench

# Pin what passed: run the tests, then write the exact version of every package in .venv (test
# and lab sets included) to constraints.txt, for the Python and platform named in its header.
# After adding a dependency to pyproject.toml: `make constraints`. To move every package to the
# newest versions pyproject.toml allows: `rm -rf .venv && make constraints CONSTRAINTS=`.
constraints: test $(LAB_STAMP)
	{ echo "# Exact versions of the environment in which \`make test\` last passed (written by"; \
	  echo "# \`make constraints\`; used with -c by every install in the Makefile; ranges and their"; \
	  echo "# reasons live in pyproject.toml). $$($(PY) -c 'import platform as p; print("Python", p.python_version(), "on", p.system(), p.machine())')."; \
	  $(PY) -m pip list --format=freeze --exclude-editable --disable-pip-version-check | LC_ALL=C sort -f; \
	} > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) data reports/*/ reports/index.html mlflow.db mlruns
