"""The batch engine gives exactly what the pySHACL engine gives (issue #13), proven by running both.

Differentials, no tolerance, on verdicts, outcomes, reasons, needs, evidence and warnings:
- every fixture of every trial, the fixtures of an index date all in one batch store, twice over (more
  than 1,000 patients in a store: the traps of set-at-a-time evaluation show from there up);
- synthetic populations (tests/test_batch_population.py);
- a hypothesis property: any handful of generated patients batched together gets, patient by patient,
  the reference result;
and the batch engine's error handling: bad patients get their own failures, never the batch's.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import random
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import RDF
from rdflib.term import Node

from eligo import Screener, TermModule, Trial
from eligo.authoring.fixtures import Fixture, load_fixtures
from eligo.authoring.synth import Generator, generate
from eligo.batch import BatchScreener, PatientFailure, collector_paused, differences
from eligo.engine.batch_store import Prepared
from eligo.engine.derive import source_id
from eligo.engine.validate import Violation, validate
from eligo.engine.verdict import Screening, overall_verdict, translate
from eligo.ingest.batch import Unit, UnitKind, unit_input
from eligo.model import PATIENT, PREFIXES
from eligo.paths import PROJECT_ROOT, SHAPES_DIR
from eligo.triples import Triples
from renaming import renamed, renamer

TRIALS = sorted(p.name for p in SHAPES_DIR.iterdir() if (p / "trial.ttl").is_file())
INDEX = dt.date(2026, 12, 1)


@cache
def screeners(trial_id: str) -> tuple[Screener, BatchScreener]:
    reference = Screener(trial=Trial.load(trial_id))
    return reference, BatchScreener(reference=reference)


@cache
def generator() -> Generator:
    reference, _ = screeners("tdxd-her2-liquid-biopsy")
    return Generator(reference.trial, reference.terms, index_date=INDEX)


def _same(reference: Screening, batch: Screening | PatientFailure, what: str) -> None:
    assert isinstance(batch, Screening), f"{what}: the batch engine failed: {batch}"
    diff = differences(reference, batch)
    assert not diff, f"{what}:\n" + "\n".join(diff[:10])
    assert [str(w) for w in reference.warnings] == [str(w) for w in batch.warnings], what


# ---------------------------------------------------------------- fixtures
#: Copies of every fixture in the store: a trial's ~500 fixtures twice make a batch over 1,000.
COPIES = 2

ViolationRow = tuple[Node, Node, Node | None, Node | None, str]


def _violation_rows(vs: list[Violation] | tuple[Violation, ...]) -> set[ViolationRow]:
    """Violations as comparable tuples; a blank-node result path (pySHACL copies it into its report)
    is compared by its shape, as a SPARQL path string."""
    return {(v.focus, v.source_shape, BNode("path") if isinstance(v.path, BNode) else v.path, v.value, v.message)
            for v in vs}


def _reference(screener: Screener, g: Graph, index_date: dt.date) -> tuple[set[ViolationRow], Screening]:
    """The pySHACL engine step by step (as Screener.check runs it), keeping its violations."""
    d = screener.deriver.derive(g, index_date=index_date)
    violations = validate(d.graph, screener.trial.shapes_graph)
    results, warnings = translate(criteria=screener.trial.criteria, meanings=screener.trial.shape_meanings,
                                  violations=violations, graph=d.graph, patient=d.patient, terms=screener.terms,
                                  concepts={c.id: screener.trial.concepts(c.id) for c in screener.trial.criteria})
    return _violation_rows(violations), Screening(
        source_id(d.graph, d.patient), screener.trial.id, index_date, overall_verdict(tuple(results)),
        tuple(results), d.warnings + tuple(warnings))


@pytest.mark.parametrize("trial_id", TRIALS)
def test_every_fixture_same_as_pyshacl_all_in_one_store(trial_id: str) -> None:
    """The same violations (focus, shape, path, value, message) and the same results, for every fixture,
    with all fixtures of an index date (twice over) in one batch store: no patient sees another's data."""
    reference, batch = screeners(trial_id)
    assert batch.engine is not None, batch.unsupported
    fixtures: list[Fixture] = load_fixtures(reference.trial)
    assert fixtures
    by_date: dict[dt.date, list[tuple[Fixture, Graph, Callable[[Node], Node]]]] = {}
    for i, fx in enumerate(fixtures):
        g = fx.graph()
        for copy in range(COPIES):
            r = renamer(COPIES * i + copy)
            by_date.setdefault(fx.index_date, []).append((fx, g, r))
    compared = 0
    for index_date, items in sorted(by_date.items()):
        prepared = []
        for _fx, g, r in items:
            triples = Triples(renamed(g, r))
            patient, warnings = reference.deriver.derive_generic(triples, index_date=index_date)
            prepared.append(Prepared(triples, patient, warnings))
        evaluated = batch.engine.run(prepared)
        want: tuple[set[ViolationRow], Screening] | None = None
        for k, ((fx, g, r), p, e) in enumerate(zip(items, prepared, evaluated, strict=True)):
            if k % COPIES == 0:  # pySHACL once per fixture, on the fixture as written; its copies are renamed
                want = _reference(reference, g, index_date)
            assert want is not None
            want_violations = {(r(f), s, path, r(v) if v is not None else None, m)
                               for f, s, path, v, m in want[0]}
            got_violations = _violation_rows(e.violations)
            assert got_violations == want_violations, (
                f"{fx.id}: only pySHACL: {sorted(want_violations - got_violations, key=str)[:3]}; "
                f"only batch: {sorted(got_violations - want_violations, key=str)[:3]}")
            got = Screening(source_id(p.graph, p.patient), reference.trial.id, index_date,
                            overall_verdict(e.results), e.results, e.warnings)
            _same(want[1], got, fx.id)
            compared += 1
    assert compared == COPIES * len(fixtures)


def test_records_as_blank_nodes_same_as_pyshacl() -> None:
    """RDF input may give its records as blank nodes: the batch store keeps their labels (a violation's
    focus and value, and the evidence, name the very nodes of the patient's graph), so every eighth
    fixture, its records made blank nodes, gets exactly pySHACL's violations and results."""
    reference, batch = screeners("tdxd-her2-liquid-biopsy")
    assert batch.engine is not None
    ex = str(PREFIXES["ex"])
    compared = 0
    for i, fx in enumerate(load_fixtures(reference.trial)[::8]):
        g = fx.graph()
        patients = set(g.subjects(RDF.type, PATIENT))
        blank = {n: BNode(f"rec{k}x{i}") for k, n in enumerate(sorted(set(g.subjects()) | set(g.objects()), key=str))
                 if isinstance(n, URIRef) and str(n).startswith(ex) and n not in patients}
        if not blank:
            continue
        g = renamed(g, lambda n, blank=blank: blank.get(n, n))  # type: ignore[misc]
        want_violations, want = _reference(reference, g, fx.index_date)
        triples = Triples(g)
        patient, warnings = reference.deriver.derive_generic(triples, index_date=fx.index_date)
        [e] = batch.engine.run([Prepared(triples, patient, warnings)])
        assert _violation_rows(e.violations) == want_violations, fx.id
        _same(want, Screening(source_id(triples, patient), reference.trial.id, fx.index_date,
                              overall_verdict(e.results), e.results, e.warnings), fx.id)
        compared += 1
    assert compared > 25


# ---------------------------------------------------------------- property
@settings(max_examples=8, deadline=None)
@given(picks=st.lists(st.tuples(st.integers(1, 300), st.integers(0, 999)), min_size=1, max_size=6, unique=True))
def test_any_batch_gives_each_patient_the_reference_result(picks: list[tuple[int, int]]) -> None:
    """Whatever patients share a batch, each gets exactly what pySHACL gives it alone."""
    reference, batch = screeners("tdxd-her2-liquid-biopsy")
    gen = generator()
    units = []
    for number, seed in picks:
        p = gen.patient(number, random.Random(f"{seed}:{number}"))  # as `eligo synth --seed` makes patient `number`
        units.append(Unit(f"Patient/{p.patient_id}-{seed}", f"seed {seed}", UnitKind.FHIR,
                          json.dumps([e["resource"] for e in p.bundle["entry"]])))
    for unit, result in zip(units, batch.check_units(units, index_date=INDEX), strict=True):
        _same(reference.check(unit_input(unit), index_date=INDEX), result, unit.key)


# ---------------------------------------------------------------- errors
def _units(n: int, seed: int, trial: Trial, terms: TermModule) -> list[Unit]:
    return [Unit(f"Patient/{p.patient_id}", f"synth-{seed}", UnitKind.FHIR,
                 json.dumps([e["resource"] for e in p.bundle["entry"]]))
            for p in generate(n, seed=seed, trial=trial, terms=terms, index_date=INDEX)]


def test_a_bad_patient_fails_alone(tmp_path: Path) -> None:
    reference, batch = screeners("tdxd-her2-liquid-biopsy")
    good = _units(3, 7, reference.trial, reference.terms)
    no_patient = Unit("Patient/ghost", "bad.ndjson", UnitKind.FHIR, json.dumps([
        {"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}}]))
    not_json = Unit("Patient/broken", "broken.ndjson", UnitKind.FHIR, "{not json")
    got = batch.check_units([good[0], no_patient, good[1], not_json, good[2]], index_date=INDEX)
    assert [type(r).__name__ for r in got] == ["Screening", "PatientFailure", "Screening", "PatientFailure",
                                               "Screening"]
    assert isinstance(got[1], PatientFailure) and "no Patient resource" in got[1].message
    assert isinstance(got[3], PatientFailure) and got[3].source == "broken.ndjson"
    for unit, result in zip(good, (got[0], got[2], got[4]), strict=True):
        _same(reference.check(unit_input(unit), index_date=INDEX), result, unit.key)


def test_a_batch_runs_with_the_garbage_collector_paused_and_leaves_it_as_it_was(
        monkeypatch: pytest.MonkeyPatch) -> None:
    reference, batch = screeners("tdxd-her2-liquid-biopsy")
    assert batch.engine is not None
    seen: list[bool] = []
    run = batch.engine.run
    monkeypatch.setattr(batch.engine, "run", lambda part: (seen.append(gc.isenabled()), run(part))[1])
    units = _units(2, 5, reference.trial, reference.terms)
    assert gc.isenabled()
    got = batch.check_units(units, index_date=INDEX)
    assert seen == [False] and gc.isenabled()
    for unit, result in zip(units, got, strict=True):  # the same results with the collector paused
        _same(reference.check(unit_input(unit), index_date=INDEX), result, unit.key)
    gc.disable()  # a caller that had it off keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(ValueError), collector_paused():  # and an error does not leave it off
        raise ValueError("boom")
    assert gc.isenabled()


@pytest.mark.parametrize("where", ["a record's value", "the patient's IRI", "beside a blank node"])
def test_an_iri_only_rdflib_takes_screens_as_in_the_reference(where: str) -> None:
    """``%zz`` breaks RFC 3987 (Oxigraph's parser refuses it unless lenient) but rdflib, and so the reference
    engine, takes it: the batch engine must screen such a patient as the reference does, not fail it."""
    reference, batch = screeners("tdxd-her2-liquid-biopsy")
    g = Graph().parse(PROJECT_ROOT / "examples" / "eligible.ttl")
    patient = next(iter(g.subjects(RDF.type, PATIENT)))
    odd = URIRef("http://example.com/a%zz")
    if where == "the patient's IRI":
        g = renamed(g, lambda n: odd if n == patient else n)
    else:
        g.add((patient, URIRef("https://eligo.dev/ns#note"), odd))
        if where == "beside a blank node":
            g.add((patient, URIRef("https://eligo.dev/ns#note"), BNode("n1")))
    expected = reference.check(g, index_date=INDEX)
    [got] = batch.check_mapped([(Triples(g), "odd.ttl", ())], index_date=INDEX)
    _same(expected, got, where)


def test_two_units_of_one_patient_are_never_merged() -> None:
    """The same patient IRI twice in a batch (two exports of one patient) goes to two stores."""
    reference, batch = screeners("tdxd-her2-liquid-biopsy")
    [u] = _units(1, 11, reference.trial, reference.terms)
    resources = json.loads(u.payload)
    fewer = Unit(u.key, "other.ndjson", UnitKind.FHIR, json.dumps(
        [r for r in resources if r["resourceType"] in ("Patient", "Consent")]))
    got = batch.check_units([u, fewer], index_date=INDEX)
    _same(reference.check(unit_input(u), index_date=INDEX), got[0], "full")
    _same(reference.check(unit_input(fewer), index_date=INDEX), got[1], "fewer")
