"""Every fixture of every trial produces the outcome it declares, and the reason and needs its snapshot pins."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from eligo import Screener, Trial
from eligo.authoring.fixtures import (
    Fixture,
    FixtureResult,
    load_file,
    load_fixtures,
    run_fixture,
    snapshot_diff,
    stale_snapshots,
    update_command,
)
from eligo.errors import TrialError
from eligo.paths import SHAPES_DIR

TRIALS = sorted(p.name for p in SHAPES_DIR.iterdir() if (p / "trial.ttl").is_file())
LOADED = {t: Trial.load(t) for t in TRIALS}
FIXTURES: list[tuple[str, Fixture]] = [(t, fx) for t in TRIALS for fx in load_fixtures(LOADED[t])]
CRITERIA: list[tuple[str, str]] = list(dict.fromkeys((t, fx.criterion) for t, fx in FIXTURES))

#: Results of this session's fixture runs, reused by the snapshot comparison.
_RESULTS: dict[tuple[str, str], FixtureResult] = {}


def _result(trial_id: str, fx: Fixture, screeners: dict[str, Screener]) -> FixtureResult:
    key = (trial_id, fx.id)
    if key not in _RESULTS:
        _RESULTS[key] = run_fixture(fx, screeners[trial_id])
    return _RESULTS[key]


@pytest.mark.parametrize(("trial_id", "fx"), FIXTURES, ids=[f"{t}:{fx.id}" for t, fx in FIXTURES])
def test_fixture(trial_id: str, fx: Fixture, screeners: dict[str, Screener]) -> None:
    result = _result(trial_id, fx, screeners)
    assert result.passed, f"{fx.note}\n{result.difference()}"


@pytest.mark.parametrize(("trial_id", "criterion"), CRITERIA, ids=[f"{t}:{c}" for t, c in CRITERIA])
def test_snapshot(trial_id: str, criterion: str, screeners: dict[str, Screener]) -> None:
    trial = LOADED[trial_id]
    results = [_result(t, fx, screeners) for t, fx in FIXTURES if t == trial_id and fx.criterion == criterion]
    diff = snapshot_diff(trial, criterion, results)
    assert not diff, (f"the reasons and needs {criterion}'s fixtures render differ from its snapshot:\n{diff}\n"
                      f"If the change is intended, run `{update_command(trial)}` (or `make snapshots`) and "
                      "review the diff.")


@pytest.mark.parametrize("trial_id", TRIALS)
def test_no_stale_snapshots(trial_id: str) -> None:
    stale = stale_snapshots(LOADED[trial_id], [c for t, c in CRITERIA if t == trial_id])
    assert not stale, f"snapshots of criteria without fixtures: {stale}; run `{update_command(LOADED[trial_id])}`"


# ------------------------------------------------------------------ bases
BASES = '''
[base.patient]
turtle = """
ex:p a eligo:Patient ; eligo:sourceId "Patient/p" ; eligo:gender "female" ; eligo:birthDate "1970-01-01"^^xsd:date .
"""

[base.lab]
extends = ["patient"]
turtle = """
ex:hb a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "Observation/hb" ;
     eligo:code loinc:718-7 ; eligo:value 12.5 ; eligo:unit "g/dL" ; eligo:date "2026-11-25"^^xsd:date ;
     eligo:component [ eligo:code loinc:718-7 ; eligo:value 1 ] .
"""
'''


def _fixture(tmp_path: Path, body: str, bases: str = BASES) -> Fixture:
    (tmp_path / "bases.toml").write_text(bases, encoding="utf-8")
    f = tmp_path / "X01.toml"
    f.write_text(f'index_date = "2026-12-01"\n[[fixture]]\nname = "x"\nexpect = "met"\n{body}', encoding="utf-8")
    return load_file(f)[0]


def test_a_fixture_extends_bases_and_overrides_by_subject_and_predicate(tmp_path: Path) -> None:
    from rdflib import URIRef

    from eligo.model import ELIGO, EX
    fx = _fixture(tmp_path, 'extends = ["lab"]\nturtle = """\nex:hb eligo:value 8.0 .\n'
                            'ex:hb eligo:date "2026-11-20"^^xsd:date .\n"""\n')
    assert [b.name for b in fx.bases] == ["patient", "lab"]
    g = fx.graph()
    hb: URIRef = EX.hb
    assert [v.toPython() for v in g.objects(hb, ELIGO.value)] == [Decimal("8.0")]
    assert [str(d) for d in g.objects(hb, ELIGO.date)] == ["2026-11-20"]
    assert str(g.value(hb, ELIGO.unit)) == "g/dL" and g.value(EX.p, ELIGO.gender) is not None


def test_remove_drops_a_record_or_one_property(tmp_path: Path) -> None:
    from eligo.model import ELIGO, EX
    fx = _fixture(tmp_path, 'extends = ["lab"]\nremove = ["ex:hb", "ex:p eligo:birthDate"]\n')
    g = fx.graph()
    assert (EX.hb, None, None) not in g and g.value(EX.p, ELIGO.birthDate) is None
    assert len(g) == 3  # the patient's type, source id and gender; the component went with its record


@pytest.mark.parametrize(("body", "bases", "message"), [
    ('extends = ["nope"]\n', BASES, "no base 'nope'"),
    ('extends = ["a"]\n', '[base.a]\nextends = ["b"]\nturtle = ""\n[base.b]\nextends = ["a"]\nturtle = ""\n',
     "cycle: a -> b -> a"),
    ('extends = "lab"\n', BASES, "extends must be a list"),
    ('remove = ["nope:x"]\n', BASES, "not a prefixed name"),
])
def test_bad_bases_are_trial_errors(tmp_path: Path, body: str, bases: str, message: str) -> None:
    with pytest.raises(TrialError, match=message):
        _fixture(tmp_path, body, bases).graph()

