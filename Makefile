# eligo: `make demo` screens the example patients, `make test` runs the suite.
# Both create/refresh the local virtual environment .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INDEX_DATE ?= 2026-12-01
TEST_WORKERS ?= auto

.PHONY: demo test lint ontology bench clean java chromium virtuoso fuzz errors-doc snapshots serve

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@for f in examples/*.ttl examples/*.json; do \
	  echo "== $$f"; \
	  $(BIN)/eligo check "$$f" --index-date $(INDEX_DATE) --color always || exit $$?; \
	  echo; \
	done

# HermiT (run by `eligo ontology check` and its tests) needs a Java runtime.
java:
	@command -v java >/dev/null 2>&1 || { echo "installing a Java runtime for HermiT"; \
	  apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; }

# The browser tests (tests/test_web_browser.py) drive Debian's Chromium with Playwright; without it (no root to
# install it) they skip.
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "could not install Chromium: the browser tests will skip"; }

# The store tests (tests/test_cohort.py) start Debian's OpenLink Virtuoso 7 on 127.0.0.1 in a temporary folder;
# without it (no root to install it) the Virtuoso tests skip. The package's own service (all interfaces, user dba
# with password dba) is stopped and disabled: the tests need only the binaries.
virtuoso:
	@command -v virtuoso-t >/dev/null 2>&1 || { echo "installing Virtuoso for the store tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq virtuoso-opensource-7 >/dev/null \
	   && { invoke-rc.d virtuoso-opensource-7 stop >/dev/null 2>&1; \
	        update-rc.d virtuoso-opensource-7 disable >/dev/null 2>&1; true; }) || \
	  echo "could not install Virtuoso: the Virtuoso store tests will skip"; }

# The coordinators' web app on the example patients and a small synthetic store (docs/serve.md).
serve: $(STAMP)
	$(BIN)/eligo serve --demo

# Static checks first (seconds), then the suite on every core (pytest-xdist); the slowest tests are listed.
test: $(STAMP) java chromium virtuoso
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

# Property tests and fuzz targets with 20 times the examples `make test` runs, explored at random
# (the hypothesis profile eligo-long, tests/conftest.py); failures are replayed from .hypothesis/.
fuzz: $(STAMP)
	$(BIN)/pytest -q -s tests/test_fuzz.py tests/test_properties.py --hypothesis-profile=eligo-long

# docs/errors.md is generated from the exception hierarchy and the messages in the source.
errors-doc: $(STAMP)
	$(BIN)/python -m eligo.authoring.errordocs

# The batch engine against pySHACL at N = 1,000 / 10,000 / 100,000 (prints figures; docs/performance.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/screen.py

ontology: $(STAMP)
	$(BIN)/eligo ontology check

# Rewrite every trial's fixture snapshots (shapes/<trial>/fixtures/snapshots/<ID>.txt) from the outcome,
# reason and needs each fixture renders now; review the diff before committing.
snapshots: $(STAMP)
	@for t in shapes/*/trial.ttl; do $(BIN)/eligo shapes test "$$(dirname $$t)" --update-snapshots || exit $$?; done

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
