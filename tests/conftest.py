"""Shared fixtures: the term module and trial are loaded once per session."""

from __future__ import annotations

import pytest

from eligo import Screener, TermModule, Trial
from eligo.paths import DEFAULT_TRIAL


@pytest.fixture(scope="session")
def terms() -> TermModule:
    return TermModule.load()


@pytest.fixture(scope="session")
def trial() -> Trial:
    return Trial.load(DEFAULT_TRIAL)


@pytest.fixture(scope="session")
def screener(trial: Trial, terms: TermModule) -> Screener:
    return Screener(trial=trial, terms=terms)
