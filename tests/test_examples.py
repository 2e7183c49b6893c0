"""The demo patients: each file's verdict is the one its name says, in RDF and in FHIR."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from eligo import Outcome, Screener, Verdict
from eligo.notices import WarningKind
from eligo.paths import EXAMPLES_DIR

EXAMPLES = sorted([*EXAMPLES_DIR.glob("*.ttl"), *EXAMPLES_DIR.glob("*.json")])


def test_one_example_per_verdict() -> None:
    assert {Verdict(p.stem) for p in EXAMPLES} == set(Verdict)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_verdict(path: Path, screener: Screener) -> None:
    s = screener.check(path, index_date=dt.date(2026, 12, 1))
    assert s.verdict is Verdict(path.stem), [(c.id, c.outcome.value, c.reason) for c in s.criteria
                                             if c.outcome in (Outcome.UNKNOWN, Outcome.NOT_MET)]
    assert not [w for w in s.warnings if w.kind is WarningKind.UNRECOGNISED_CODE], s.warnings
    if s.verdict is Verdict.ELIGIBLE:
        for c in s.criteria:
            if c.kind.value == "inclusion" and c.outcome is Outcome.MET:
                assert c.evidence, f"{c.id} met without evidence"
