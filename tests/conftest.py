"""Shared fixtures: the term module and trial are loaded once per session."""

from __future__ import annotations

import pytest

from eligo import Screener, TermModule, Trial
from eligo.paths import DEFAULT_TRIAL, SHAPES_DIR

TRIALS = sorted(p.name for p in SHAPES_DIR.iterdir() if (p / "trial.ttl").is_file())


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
