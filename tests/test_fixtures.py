"""Every fixture of every trial produces the outcome it declares."""

from __future__ import annotations

import pytest

from eligo import Screener, Trial
from eligo.fixtures import Fixture, load_fixtures, run_fixture
from eligo.paths import SHAPES_DIR

TRIALS = sorted(p.name for p in SHAPES_DIR.iterdir() if (p / "trial.ttl").is_file())
FIXTURES: list[tuple[str, Fixture]] = [(t, fx) for t in TRIALS for fx in load_fixtures(Trial.load(t))]

@pytest.mark.parametrize(("trial_id", "fx"), FIXTURES, ids=[f"{t}:{fx.id}" for t, fx in FIXTURES])
def test_fixture(trial_id: str, fx: Fixture, screeners: dict[str, Screener]) -> None:
    result = run_fixture(fx, screeners[trial_id])
    assert result.passed, f"{fx.note}\n{result.difference()}"
