# eligo: `make demo` screens the example patients, `make test` runs the suite.
# Both create/refresh the local virtual environment .venv first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INDEX_DATE ?= 2026-12-01

.PHONY: demo test lint ontology bench clean java

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
	$(BIN)/ruff check src tests

ontology: $(STAMP)
	$(BIN)/eligo ontology check

clean:
	rm -rf $(VENV) .pytest_cache build src/*.egg-info
