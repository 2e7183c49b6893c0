"""Safety properties of the verdict, tested over generated patients (hypothesis).

Patients come from real material: :mod:`eligo.authoring.synth` (the eligible example
patient with 0-3 per-criterion fixtures injected, deterministic by number and
seed) and the per-criterion fixtures themselves. Each property is stated
precisely in its docstring and in docs/decisions.md ("Safety properties").
Example counts are the base counts below, scaled by the hypothesis profile
(tests/conftest.py: ``eligo-ci`` by default, ``eligo-long`` for `make fuzz`).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal
from rdflib.namespace import RDF, XSD

from eligo import Screener, TermModule, Trial
from eligo.authoring.fixtures import Fixture, load_fixtures
from eligo.authoring.synth import Generator, SynthPatient
from eligo.dates import add_months
from eligo.engine.verdict import Screening, Verdict
from eligo.ingest import PatientInput, read_patient
from eligo.ingest.fhir_export import to_bundle
from eligo.ingest.fhir_json import resources_from_document
from eligo.ingest.fhir_map import map_patient
from eligo.model import ELIGO, ETERM
from eligo.paths import EXAMPLES_DIR
from eligo.trial import Kind, Outcome

INDEX = dt.date(2026, 12, 1)
GOOD = frozenset({Outcome.MET, Outcome.NOT_APPLICABLE})
BAD = frozenset({Outcome.NOT_MET, Outcome.UNKNOWN})
VERDICT_RANK = {Verdict.INELIGIBLE: 0, Verdict.NEEDS_DATA: 1, Verdict.PENDING_ATTESTATION: 2, Verdict.ELIGIBLE: 3}
# Inclusion criteria whose not-applicable means "the condition they regulate is not recorded" and so
# rests on no record: IN10 (brain metastases allowed only if inactive) applies only to a patient with
# brain metastases (CRITERIA.md). Every other not-applicable must cite the record it rests on.
NOT_APPLICABLE_BY_ABSENCE = frozenset({"IN10"})
AGE = "age"
# Criteria that use calendar-month or calendar-year arithmetic, and the trial parameter of each rule
# (months, years, or a value in months); AGE = whole years between birth and index date.
# test_calendar_rules_are_declared checks this list against the criterion files.
CALENDAR_RULES: dict[str, tuple[str, ...]] = {
    "IN02": (AGE,),
    "IN12": (AGE,),  # Cockcroft-Gault creatinine clearance reads the age
    "IN05": ("earlyRelapseMonths",),
    "IN06": ("earlyRelapseMonths",),
    "IN14": ("menopauseWindow",),
    "EX02": ("miWindow",),
    "EX04": ("peWindow",),
    "EX09": ("otherMalignancyWindow",),
}
CALENDAR_MARKERS = re.compile(r"addMonths|addYears|ageYears|earlyRelapse\b")


EXAMPLES: dict[str, int] = {}  # examples run per property, printed at the end of the module


@pytest.fixture(scope="module", autouse=True)
def _report_examples(world: World) -> Any:
    yield
    print("\nproperty examples run: " + ", ".join(f"{k} {v}" for k, v in sorted(EXAMPLES.items()))
          + f"; screenings {world.count}")


def example(prop: str) -> None:
    EXAMPLES[prop] = EXAMPLES.get(prop, 0) + 1


def scaled(base: int) -> int:
    """A test's base example count, scaled by the loaded hypothesis profile (100 = as written)."""
    return max(1, base * settings.default.max_examples // 100)


# ----------------------------------------------------------------------------- material
@dataclass
class World:
    """Loaded once per module: the screener, the generator, the fixtures, and a cache."""

    screener: Screener
    trial: Trial
    terms: TermModule
    generator: Generator
    fixtures: list[Fixture]
    patients: dict[tuple[int, int], SynthPatient] = field(default_factory=dict)
    screenings: dict[tuple[int, int], Screening] = field(default_factory=dict)
    count: int = 0  # screenings run, for the closing figures

    def synth(self, n: int, seed: int) -> SynthPatient:
        if (n, seed) not in self.patients:
            self.patients[(n, seed)] = self.generator.patient(n, random.Random(f"prop:{n}:{seed}"))
        return self.patients[(n, seed)]

    def screen_bundle(self, bundle: dict[str, Any], index_date: dt.date = INDEX) -> Screening:
        m = map_patient(list(resources_from_document(bundle, "generated.json")), source="generated.json")
        return self.screen(PatientInput(m.graph, "generated.json", tuple(m.warnings)), index_date)

    def screen(self, patient: Graph | PatientInput, index_date: dt.date) -> Screening:
        self.count += 1
        s = self.screener.check(patient, index_date=index_date)
        assert_eligible_rests_on_evidence(s, self.trial)
        assert not [w for w in s.warnings if "shapes bug" in w.text], s.warnings
        return s

    def screened(self, n: int, seed: int) -> tuple[SynthPatient, Screening]:
        p = self.synth(n, seed)
        if (n, seed) not in self.screenings:
            self.screenings[(n, seed)] = self.screen_bundle(p.bundle)
        return p, self.screenings[(n, seed)]

    def graph_of(self, bundle: dict[str, Any]) -> Graph:
        return map_patient(list(resources_from_document(bundle, "generated.json")), source="generated.json").graph


@pytest.fixture(scope="module")
def world(screener: Screener, trial: Trial, terms: TermModule) -> World:
    gen = Generator(trial, terms, index_date=INDEX)
    return World(screener, trial, terms, gen, load_fixtures(trial))


patients = st.tuples(st.integers(1, 300), st.integers(0, 999))


def outcomes(s: Screening) -> dict[str, Outcome]:
    return {c.id: c.outcome for c in s.criteria}


def evidence(s: Screening) -> dict[str, set[str]]:
    return {c.id: {e.source_id for e in c.evidence} for c in s.criteria}


def records(bundle: dict[str, Any]) -> list[int]:
    """Entry positions of the patient's records (every resource but the Patient)."""
    return [i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] != "Patient"]


def sid(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


# ----------------------------------------------------------------------------- property 1
def assert_eligible_rests_on_evidence(s: Screening, trial: Trial) -> None:
    """Property 1. ``eligible`` implies: every inclusion criterion is ``met`` with at least one
    evidence record, or ``not-applicable``, and a ``not-applicable`` cites the record it rests on
    unless the criterion applies only when a condition is recorded (NOT_APPLICABLE_BY_ABSENCE)."""
    if s.verdict is not Verdict.ELIGIBLE:
        return
    for c in s.criteria:
        assert c.outcome in GOOD, f"eligible but {c.id} is {c.outcome.value}"
        if c.kind is Kind.INCLUSION and not (c.outcome is Outcome.NOT_APPLICABLE
                                             and c.id in NOT_APPLICABLE_BY_ABSENCE):
            assert c.evidence, f"eligible but inclusion {c.id} ({c.outcome.value}) cites no record"
    assert {c.id for c in s.criteria} == {c.id for c in trial.criteria}


@settings(max_examples=scaled(30))
@given(patient=patients)
def test_eligible_rests_on_positive_evidence(world: World, patient: tuple[int, int]) -> None:
    """Property 1 over generated patients (it is also asserted on every screening of this module)."""
    example("P1-eligible-evidence")
    _p, s = world.screened(*patient)
    assert_eligible_rests_on_evidence(s, world.trial)


def test_example_patients_rest_on_evidence(world: World) -> None:
    """Property 1 on the demo patients (examples/, one per verdict, Turtle and FHIR)."""
    verdicts = set()
    for f in sorted(EXAMPLES_DIR.glob("*.ttl")) + sorted(EXAMPLES_DIR.glob("*.json")):
        s = world.screen(read_patient(f), INDEX)
        verdicts.add(s.verdict)
    assert Verdict.ELIGIBLE in verdicts, "no eligible example: property 1 would be vacuous here"


# ----------------------------------------------------------------------------- property 2
@settings(max_examples=scaled(50))
@given(patient=patients, pick=st.integers(0, 10_000))
def test_removing_a_record_helps_only_through_its_own_evidence(world: World, patient: tuple[int, int],
                                                               pick: int) -> None:
    """Property 2. Removing one record r from patient P can turn a criterion's not-met or unknown
    into met or not-applicable only if r is cited as evidence of that criterion's outcome in P
    (an exclusion's not-met or unknown evidence, or the most recent result that an older one
    replaces). Hence P - r is eligible while P is not only if r is cited by every criterion
    that was not-met or unknown in P: missing data never moves a patient towards eligible."""
    example("P2-removal")
    p, s = world.screened(*patient)
    positions = records(p.bundle)
    i = positions[pick % len(positions)]
    removed = sid(p.bundle["entry"][i]["resource"])
    smaller = copy.deepcopy(p.bundle)
    del smaller["entry"][i]
    s2 = world.screen_bundle(smaller)
    before, after, cited = outcomes(s), outcomes(s2), evidence(s)
    for cid, outcome in before.items():
        if outcome in BAD and after[cid] in GOOD:
            assert removed in cited[cid], (
                f"removing {removed} turned {cid} from {outcome.value} into {after[cid].value}, "
                f"but {cid} did not cite it (cited: {sorted(cited[cid])}); injected {p.injected}")
    if s.verdict is not Verdict.ELIGIBLE and s2.verdict is Verdict.ELIGIBLE:
        blocking = [cid for cid, o in before.items() if o in BAD]
        assert blocking and all(removed in cited[cid] for cid in blocking)


def _without(g: Graph, record: Any) -> Graph:
    out = Graph()
    out += g
    for comp in list(out.objects(record, ELIGO.component)):
        out.remove((comp, None, None))
    out.remove((record, None, None))
    return out


def test_removal_rule_holds_exhaustively_on_fixtures(world: World) -> None:
    """Property 2, exhaustively on the curated hard cases: for every fixture whose outcome is not-met
    or unknown, removing any one record it does not cite never makes that outcome met or
    not-applicable. (Removing a cited record is allowed to, so it is not screened.)"""
    checked = 0
    for fx in world.fixtures:
        if fx.expect not in BAD:
            continue
        g = fx.graph()
        s = world.screener.check(g, index_date=fx.index_date, criteria=[fx.criterion])
        got = s.result(fx.criterion)
        cited = {e.source_id for e in got.evidence}
        patient = next(iter(g.subjects(RDF.type, ELIGO.Patient)))
        for record in sorted(set(g.subjects(ELIGO.subject, patient)), key=str):
            rid = str(g.value(record, ELIGO.sourceId))
            if rid in cited:
                continue
            after = world.screener.check(_without(g, record), index_date=fx.index_date,
                                         criteria=[fx.criterion]).result(fx.criterion)
            checked += 1
            assert after.outcome not in GOOD, (
                f"{fx.id}: removing {rid}, which {fx.criterion} does not cite (cited: {sorted(cited)}), turned "
                f"{got.outcome.value} into {after.outcome.value}")
    world.count += checked
    EXAMPLES["P2-removal-fixtures"] = checked
    assert checked > 20


# ----------------------------------------------------------------------------- property 3
# Exclusion fixtures whose trigger also needs a record to be absent: EX05 excludes brain metastases that
# are symptomatic AND untreated, and a local treatment (brain radiotherapy or surgery) already in P makes
# them treated (the criterion judges treatment per patient, as its file documents).
NEGATIVE_PREMISE = frozenset({"EX05:untreated-symptomatic"})


def _is_existential(world: World, fx: Fixture) -> bool:
    """Whether adding the fixture's records to any patient must trigger its exclusion: not when the trigger
    is a most-recent measurement (EX02: mean QTc of the latest ECG date, latest LVEF), which a newer value
    in P supersedes, nor when it needs a record to be absent (NEGATIVE_PREMISE)."""
    if fx.id in NEGATIVE_PREMISE:
        return False
    g = fx.graph()
    groups = {ETERM.QTc, ETERM.LVEF}
    return not any(world.terms.ancestors(code) & groups for code in g.objects(None, ELIGO.code)
                   if not isinstance(code, Literal))


def exclusion_triggers(world: World) -> list[Fixture]:
    excl = {c.id for c in world.trial.criteria if c.kind is Kind.EXCLUSION}
    return [fx for fx in world.fixtures
            if fx.criterion in excl and fx.expect is Outcome.NOT_MET and fx.index_date == INDEX and fx.verdict is None]


def add_records(bundle: dict[str, Any], fx: Fixture) -> dict[str, Any]:
    """The patient's bundle plus the fixture's records (not its patient: sex and birth date stay)."""
    out = copy.deepcopy(bundle)
    pid = next(e["resource"]["id"] for e in out["entry"] if e["resource"]["resourceType"] == "Patient")
    for entry in to_bundle(fx.graph())["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            continue
        res["id"] = f"added-{res['id']}"
        for key in ("subject", "patient"):
            if key in res:
                res[key] = {"reference": f"Patient/{pid}"}
        out["entry"].append({"fullUrl": f"urn:uuid:{res['resourceType']}-{res['id']}", "resource": res})
    return out


@settings(max_examples=scaled(40))
@given(patient=patients, which=st.integers(0, 10_000))
def test_adding_an_exclusion_trigger_never_improves_the_verdict(world: World, patient: tuple[int, int],
                                                                which: int) -> None:
    """Property 3. Let F be a fixture whose records make exclusion X not-met, and Q = P + F's
    records. If X is not-met in Q, Q is ineligible, so no better than P. For every exclusion rule
    that is existential (any exposure, condition, test or vaccine of the kind, or one in a look-back
    window), X is not-met in Q whatever P holds. The exceptions (see _is_existential): a rule decided
    by the most recent measurement (EX02: mean QTc of the latest ECG date, latest LVEF), where a newer
    normal value in P legitimately supersedes F's older one, and a trigger that needs a record to be
    absent (EX05: symptomatic and untreated brain metastases, when P holds their treatment)."""
    example("P3-adding")
    triggers = exclusion_triggers(world)
    fx = triggers[which % len(triggers)]
    p, s = world.screened(*patient)
    s2 = world.screen_bundle(add_records(p.bundle, fx))
    x = s2.result(fx.criterion).outcome
    if x is Outcome.NOT_MET:
        assert s2.verdict is Verdict.INELIGIBLE
        assert VERDICT_RANK[s2.verdict] <= VERDICT_RANK[s.verdict]
    if _is_existential(world, fx):
        assert x is Outcome.NOT_MET, (
            f"adding {fx.id} to a patient (injected {p.injected}) gave {fx.criterion} {x.value}: "
            f"{s2.result(fx.criterion).reason}")


def test_every_exclusion_trigger_fixture_is_reachable(world: World) -> None:
    """The fixtures property 3 draws from cover every exclusion criterion."""
    excl = {c.id for c in world.trial.criteria if c.kind is Kind.EXCLUSION}
    assert {fx.criterion for fx in exclusion_triggers(world)} == excl


# ----------------------------------------------------------------------------- property 4
def _dates(g: Graph) -> list[dt.date]:
    return [dt.date.fromisoformat(str(o)[:10]) for o in g.objects()
            if isinstance(o, Literal) and o.datatype in (XSD.date, XSD.dateTime)]


def _birth(g: Graph) -> dt.date | None:
    for o in g.objects(None, ELIGO.birthDate):
        if isinstance(o, Literal) and o.datatype == XSD.date:
            return dt.date.fromisoformat(str(o))
    return None


def _has_partial_or_odd_dates(g: Graph) -> bool:
    return any(isinstance(o, Literal) and o.datatype in (XSD.gYear, XSD.gYearMonth) for o in g.objects())


def shifted(g: Graph, days: int) -> Graph:
    """Every xsd:date and xsd:dateTime moved by ``days`` (a date-time keeps its time of day)."""
    out = Graph()
    delta = dt.timedelta(days=days)
    for s, p, o in g:
        if isinstance(o, Literal) and o.datatype == XSD.date:
            o = Literal((dt.date.fromisoformat(str(o)) + delta).isoformat(), datatype=XSD.date)
        elif isinstance(o, Literal) and o.datatype == XSD.dateTime:
            text = str(o)
            o = Literal((dt.date.fromisoformat(text[:10]) + delta).isoformat() + text[10:], datatype=XSD.dateTime)
        out.add((s, p, o))
    return out


def span_forward(anchor: dt.date, months: int) -> int:
    """Days from ``anchor`` to ``anchor`` + ``months`` calendar months (clamped to month end)."""
    return (add_months(anchor, months) - anchor).days


def span_back(anchor: dt.date, months: int) -> int:
    """Days from ``anchor`` - ``months`` calendar months (clamped) to ``anchor``."""
    return (anchor - add_months(anchor, -months)).days


def _between(x: int, a: int, b: int) -> bool:
    return a != b and min(a, b) <= x <= max(a, b)


def may_flip(rule: int | str, dates: list[dt.date], birth: dt.date | None, index: dt.date, days: int) -> bool:
    """Whether a calendar rule may legitimately give another answer after shifting every date by
    ``days``: only when the shift changes the length in days of the calendar span the rule measures
    (which happens only when an anchor date crosses a month end, enters or leaves the days 29-31
    that the target month lacks, or the span gains or loses a 29 February) AND two dates the rule
    compares lie between the old and the new length apart."""
    k = dt.timedelta(days=days)
    if rule == AGE:
        if birth is None or birth > index:
            return False
        gap = (index - birth).days
        approx = gap // 365
        return any(_between(gap, span_forward(birth, 12 * n), span_forward(birth + k, 12 * n))
                   for n in range(max(0, approx - 2), approx + 3))
    assert isinstance(rule, int)
    points = sorted({*dates, index})
    for a, b in itertools.combinations(points, 2):
        gap = (b - a).days
        if (_between(gap, span_forward(a, rule), span_forward(a + k, rule))
                or _between(gap, span_back(b, rule), span_back(b + k, rule))):
            return True
    return False


def calendar_months(world: World, name: str) -> int | str:
    if name == AGE:
        return AGE
    param = next(p for iri, p in world.trial.parameters.items() if str(iri).endswith(f"#{name}"))
    if param.months or param.years:
        return param.months + 12 * param.years
    assert param.unit == "mo" and param.value is not None
    return int(param.value)


def test_calendar_rules_are_declared(world: World) -> None:
    """The list of calendar criteria above is complete and exact: a criterion file uses calendar
    arithmetic (a months/years window, addMonths/addYears, the age, early relapse) iff it is listed."""
    windows = [str(iri).rsplit("#", 1)[1] for iri, p in world.trial.parameters.items()
               if p.is_window and (p.months or p.years)]
    pattern = re.compile(CALENDAR_MARKERS.pattern + "|" + "|".join(rf"\b{w}\b" for w in windows))
    for c in world.trial.criteria:
        uses = bool(pattern.search(c.file.read_text(encoding="utf-8")))
        assert uses == (c.id in CALENDAR_RULES), f"{c.id}: calendar arithmetic {'found' if uses else 'not found'}"


shifts = st.one_of(
    st.integers(-6000, 6000),
    # land the index date on a month end, on 29 February, or just across one
    st.sampled_from([-1, 1, 29, 30, 31, 59, 60, 89, 90, 91, 92, 365, 366, 455, 1157, -305, -306, 1461, -1461]),
)
sources = st.one_of(st.tuples(st.just("synth"), patients), st.tuples(st.just("fixture"), st.integers(0, 10_000)))


@settings(max_examples=scaled(60))
@given(source=sources, days=shifts)
def test_shifting_every_date_changes_only_calendar_rules_at_calendar_edges(
        world: World, source: tuple[str, Any], days: int) -> None:
    """Property 4. Shift every date of a patient, the index date included, by the same number of
    days. An outcome of a criterion that uses only day windows never changes. An outcome of a
    criterion with a calendar-month or calendar-year rule (CALENDAR_RULES) changes only when
    :func:`may_flip` holds for one of its rules. Patients with partial dates (year or year-month)
    are out of scope: a day shift of ``2024-05`` is not a date."""
    kind, ref = source
    if kind == "synth":
        g, index = world.graph_of(world.synth(*ref).bundle), INDEX
    else:
        fx = world.fixtures[ref % len(world.fixtures)]
        g, index = fx.graph(), fx.index_date
    assume(not _has_partial_or_odd_dates(g))
    example("P4-date-shift")
    before = outcomes(world.screen(g, index))
    after = outcomes(world.screen(shifted(g, days), index + dt.timedelta(days=days)))
    dates, birth = _dates(g), _birth(g)
    for cid, outcome in before.items():
        if after[cid] is outcome:
            continue
        rules = CALENDAR_RULES.get(cid, ())
        assert rules, f"{cid} uses only day windows but changed {outcome.value} -> {after[cid].value} " \
                      f"under a shift of {days} days ({source})"
        assert any(may_flip(calendar_months(world, r), dates, birth, index, days) for r in rules), (
            f"{cid} changed {outcome.value} -> {after[cid].value} under a shift of {days} days ({source}) "
            "although no calendar span it measures changed length around its dates")


def test_calendar_edges_are_real(world: World) -> None:
    """The exception in property 4 is real and confined. 6 calendar months before 2026-08-31 is
    2026-02-28 (184 days); before 2026-08-30 it is also 2026-02-28 (183 days): an MI 184 days
    before the index date is inside the EX02 look-back, and one day earlier shift of both dates
    puts it outside. An MI 150 days back never changes, whatever the shift."""
    from eligo.model import turtle_prefix_header

    base = """
ex:p a eligo:Patient ; eligo:sourceId "Patient/p" ; eligo:gender "female" ; eligo:birthDate "1960-01-01"^^xsd:date .
ex:mi a eligo:Condition ; eligo:subject ex:p ; eligo:sourceId "Condition/mi" ; eligo:code sct:22298006 ;
     eligo:clinicalStatus "active" ; eligo:date "%s"^^xsd:date .
"""
    changed = 0
    for index, gap in ((dt.date(2026, 8, 31), 184), (dt.date(2026, 3, 31), 182), (dt.date(2027, 2, 28), 181),
                       (dt.date(2026, 12, 1), 150)):
        mi = index - dt.timedelta(days=gap)
        g = Graph().parse(data=turtle_prefix_header() + base % mi.isoformat(), format="turtle")
        ex02 = world.screener.check(g, index_date=index, criteria=["EX02"]).result("EX02").outcome
        for days in (-62, -31, -2, -1, 1, 2, 31, 92, 184, 366):
            moved = world.screener.check(shifted(g, days), index_date=index + dt.timedelta(days=days),
                                         criteria=["EX02"]).result("EX02").outcome
            if moved is not ex02:
                changed += 1
                assert gap != 150 and may_flip(6, [mi], None, index, days), (index, gap, days)
    assert changed, "no shift changed the 6-month MI rule: the calendar exception was never exercised"


# ----------------------------------------------------------------------------- property 5
def _signature(s: Screening) -> tuple[Any, ...]:
    return (s.verdict, tuple((c.id, c.outcome, c.reason, c.needs, frozenset(e.source_id for e in c.evidence))
                             for c in s.criteria), frozenset(s.warnings))


def _shuffle_codings(node: Any, rng: random.Random) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "coding" and isinstance(value, list):
                rng.shuffle(value)
            _shuffle_codings(value, rng)
    elif isinstance(node, list):
        for value in node:
            _shuffle_codings(value, rng)


@settings(max_examples=scaled(30))
@given(patient=patients, rng=st.randoms(use_true_random=False))
def test_order_of_resources_and_triples_does_not_matter(world: World, patient: tuple[int, int],
                                                        rng: random.Random) -> None:
    """Property 5. The verdict, and every criterion's outcome, reason, needs, evidence and the
    warnings, do not depend on the order of the resources in a Bundle, of the codings in a
    CodeableConcept, or of the triples in an RDF file."""
    example("P5-order")
    p, s = world.screened(*patient)
    bundle = copy.deepcopy(p.bundle)
    rng.shuffle(bundle["entry"])
    _shuffle_codings(bundle, rng)
    assert _signature(world.screen_bundle(bundle)) == _signature(s)
    lines = world.graph_of(p.bundle).serialize(format="nt").splitlines()
    rng.shuffle(lines)
    g = Graph().parse(data="\n".join(lines), format="nt")
    assert len(set(g.subjects(RDF.type, ELIGO.Patient))) == 1
    s3 = world.screen(g, INDEX)
    assert (s3.verdict, outcomes(s3), evidence(s3)) == (s.verdict, outcomes(s), evidence(s))


_SCREEN_SCRIPT = """
import datetime as dt, json, sys
from eligo import Screener
from eligo.report import to_json
screener = Screener()
print(json.dumps([json.loads(to_json(screener.check(f, index_date=dt.date(2026, 12, 1)))) for f in sys.argv[1:]]))
"""


def test_output_does_not_depend_on_hash_order(world: World, tmp_path: Path) -> None:
    """Property 5, across processes: rdflib's store and pySHACL's report iterate in an order that depends on
    the process's string hashing (PYTHONHASHSEED); the JSON output, reasons and needs included, must not.
    (Worker processes of `eligo screen` each have their own seed, and resume compares rows exactly.)"""
    files = [EXAMPLES_DIR / "needs-data.json", EXAMPLES_DIR / "ineligible.ttl"]
    for n in (1, 7, 14):  # synth patients with several undecided criteria at once
        f = tmp_path / f"synth-{n}.json"
        f.write_text(json.dumps(world.synth(n, 0).bundle), encoding="utf-8")
        files.append(f)
    outputs = set()
    for seed in ("0", "1", "2"):
        proc = subprocess.run([sys.executable, "-c", _SCREEN_SCRIPT, *map(str, files)], capture_output=True,
                              text=True, timeout=300, check=False, env={**os.environ, "PYTHONHASHSEED": seed})
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1, "the output changed with PYTHONHASHSEED"
