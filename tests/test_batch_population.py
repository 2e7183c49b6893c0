"""The batch engine on synthetic populations gives exactly the pySHACL engine's results (issue #13).

Three seeds, 1,050 patients in all, as FHIR NDJSON units (the path `eligo screen` takes), each batch in
one store: verdicts, outcomes, reasons, needs, evidence and warnings identical, patient by patient. (The
fixtures, a hypothesis property and error handling: tests/test_batch_engine.py; the rows `eligo screen`
writes with either engine: tests/test_screen.py.)
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache

from eligo import Screener, TermModule, Trial
from eligo.authoring.synth import generate
from eligo.batch import BatchScreener, PatientFailure, differences
from eligo.engine.verdict import Screening
from eligo.ingest.batch import Unit, UnitKind, unit_input

INDEX = dt.date(2026, 12, 1)
TRIAL = "tdxd-her2-liquid-biopsy"


@cache
def screeners() -> tuple[Screener, BatchScreener]:
    reference = Screener(trial=Trial.load(TRIAL))
    return reference, BatchScreener(reference=reference)


def _units(n: int, seed: int, trial: Trial, terms: TermModule) -> list[Unit]:
    return [Unit(f"Patient/{p.patient_id}", f"synth-{seed}", UnitKind.FHIR,
                 json.dumps([e["resource"] for e in p.bundle["entry"]]))
            for p in generate(n, seed=seed, trial=trial, terms=terms, index_date=INDEX)]


# ---------------------------------------------------------------- synthetic populations
#: 900 patients, and tests/test_screen.py's 150: 1,050 in all
SEEDS = {1: 300, 2: 300, 3: 300}


def _same_rows_as_pyshacl(seed: int) -> None:
    reference, batch = screeners()
    units = _units(SEEDS[seed], seed, reference.trial, reference.terms)
    got = batch.check_units(units, index_date=INDEX)
    assert len(got) == len(units)
    for unit, result in zip(units, got, strict=True):
        assert isinstance(result, Screening), f"{unit.key}: the batch engine failed: {result}"
        want = reference.check(unit_input(unit), index_date=INDEX)
        diff = differences(want, result)
        assert not diff, f"{unit.key}:\n" + "\n".join(diff[:10])
        assert [str(w) for w in want.warnings] == [str(w) for w in result.warnings], unit.key
    assert not [r for r in got if isinstance(r, PatientFailure)]


# One class per seed: `make test` distributes tests by module and class (pytest-xdist --dist loadscope), so
# the three populations (a minute and a half each, mostly pySHACL) can run on different workers.
class TestSeed1:
    def test_synthetic_population_same_rows_as_pyshacl(self) -> None:
        _same_rows_as_pyshacl(1)


class TestSeed2:
    def test_synthetic_population_same_rows_as_pyshacl(self) -> None:
        _same_rows_as_pyshacl(2)


class TestSeed3:
    def test_synthetic_population_same_rows_as_pyshacl(self) -> None:
        _same_rows_as_pyshacl(3)
