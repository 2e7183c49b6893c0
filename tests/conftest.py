"""Shared fixtures: the term module and trial are loaded once per session.

Hypothesis profiles (property tests and fuzz targets): ``eligo-ci`` is loaded
by default (modest, derandomised example counts, so `make test` is
reproducible); ``eligo-long`` multiplies every count by 20 and explores at
random (``make fuzz``, or ``pytest --hypothesis-profile=eligo-long``). A
profile's ``max_examples`` is read as a percentage: each test scales its own
base count with its module's ``scaled()``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from eligo import Screener, TermModule, Trial
from eligo.paths import DEFAULT_TRIAL, SHAPES_DIR
from oxigraph_server import Server, oxigraph_server

# `eligo check` caches the loaded trial under $XDG_CACHE_HOME/eligo: the tests (and the CLI processes they
# start, which inherit the environment) use a throwaway cache, never the user's.
_CACHE_HOME = tempfile.mkdtemp(prefix="eligo-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, True)

TRIALS = sorted(p.name for p in SHAPES_DIR.iterdir() if (p / "trial.ttl").is_file())

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# max_examples is the percentage applied to each test's base count (see scaled_examples).
settings.register_profile("eligo-ci", max_examples=100, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_SLOW_OK, print_blob=True)
settings.register_profile("eligo-long", max_examples=2000, deadline=None, suppress_health_check=_SLOW_OK,
                          print_blob=True)
settings.load_profile("eligo-ci")  # the --hypothesis-profile option, when given, loads its profile after this


@pytest.fixture(scope="session")
def startup_cache() -> Path:
    """The start-up cache the CLI uses (:func:`eligo.cache.default_cache_dir`, here the throwaway one above):
    a test's worker processes load the trial from it in a fraction of a second instead of parsing it."""
    from eligo.cache import default_cache_dir

    return default_cache_dir()


@pytest.fixture(scope="session")
def terms() -> TermModule:
    return TermModule.load()


@pytest.fixture(scope="session")
def trial() -> Trial:
    return Trial.load(DEFAULT_TRIAL)


@pytest.fixture(scope="session")
def screener(trial: Trial, terms: TermModule) -> Screener:
    return Screener(trial=trial, terms=terms)


@pytest.fixture(scope="session")
def screeners(terms: TermModule) -> dict[str, Screener]:
    """One screener per trial folder under shapes/."""
    return {t: Screener(trial=t, terms=terms) for t in TRIALS}


@pytest.fixture(scope="session")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real `oxigraph serve` on 127.0.0.1 and a free port, in a temporary folder; stopped at teardown
    (also when a test failed)."""
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph") / "data") as server:
        yield server
