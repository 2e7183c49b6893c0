"""Every fixture of every trial produces the outcome it declares."""

from __future__ import annotations

import pytest

from eligo import Screener, Trial
from eligo.fixtures import Fixture, load_fixtures
from eligo.paths import SHAPES_DIR

TRIALS = sorted(p.name for p in SHAPES_DIR.iterdir() if (p / "trial.ttl").is_file())
FIXTURES: list[Fixture] = [fx for t in TRIALS for fx in load_fixtures(Trial.load(t))]


@pytest.mark.parametrize("fx", FIXTURES, ids=[fx.id for fx in FIXTURES])
def test_fixture(fx: Fixture, screener: Screener) -> None:
    s = screener.check(fx.graph(), index_date=fx.index_date, criteria=[fx.criterion])
    got = s.result(fx.criterion)
    detail = f"{fx.note}\nreason: {got.reason}\nneeds: {got.needs}\nwarnings: {s.warnings}"
    assert got.outcome is fx.expect, detail
    cited = {e.source_id for e in got.evidence}
    missing = set(fx.evidence) - cited
    assert not missing, f"evidence not cited: {sorted(missing)}; cited {sorted(cited)}"
