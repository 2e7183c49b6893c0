# eligo: `make demo` screens the example patients, `make test` runs the suite.
# Both create/refresh the local virtual environment .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INDEX_DATE ?= 2026-12-01

.PHONY: demo test lint ontology bench clean java fuzz errors-doc

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

test: $(STAMP) java
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# Property tests and fuzz targets with 20 times the examples `make test` runs, explored at random
# (the hypothesis profile eligo-long, tests/conftest.py); failures are replayed from .hypothesis/.
fuzz: $(STAMP)
	$(BIN)/pytest -q -s tests/test_fuzz.py tests/test_properties.py --hypothesis-profile=eligo-long

# docs/errors.md is generated from the exception hierarchy and the messages in the source.
errors-doc: $(STAMP)
	$(BIN)/python -m eligo.errordocs

ontology: $(STAMP)
	$(BIN)/eligo ontology check

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
