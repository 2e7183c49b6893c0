"""A synthetic population as FHIR Bulk Data NDJSON (`eligo synth`).

Deterministic by seed. Each patient starts from the trial's eligible example
patient (``examples/eligible.ttl``: every criterion met) and receives 0 to 3
*injections*: the records of a per-criterion fixture (the curated hard cases:
equivocal HER2, early relapse, two lines, boundary dates, unit variants,
brand-name drug codes, missing attestations ...). An injection picks a
criterion uniformly, then one of its outcomes uniformly, then a fixture with
that outcome, so every (criterion, outcome) pair is about equally frequent;
and the first patients take one pair each, in order, so any population at
least as large as the number of pairs (about 75) holds every pair.
Before injecting, the base records the fixture replaces are removed: the
records the base patient's own result cites as evidence for that criterion,
every base record sharing a direct grouping class (or, for uncoded records,
the record class) with a fixture record, and, when the fixture carries
therapy history, the whole base therapy history. The mix:

- 15% of patients keep the eligible base (with birth year and sex varied
  where no criterion depends on them), 45% get one injection, 30% two, 10% three;
- 10% additionally lose one attestation (pending-attestation cases).

The generator is trial-agnostic: it reads the trial's fixtures and example.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from eligo.authoring.fixtures import Fixture, load_fixtures
from eligo.errors import UsageError
from eligo.ingest.fhir_export import to_bundle
from eligo.model import ELIGO
from eligo.paths import EXAMPLES_DIR
from eligo.terms import TermModule
from eligo.trial import Trial

SYNTH_NS = "https://eligo.dev/synth/"
INJECTIONS = ((0, 0.15), (1, 0.45), (2, 0.30), (3, 0.10))


@dataclass(frozen=True, slots=True)
class SynthPatient:
    """One generated patient: its FHIR bundle and what was injected (for tests and docs)."""

    patient_id: str
    bundle: dict[str, Any]
    injected: tuple[str, ...]


class Generator:
    """Generates patients for one trial from its eligible example and fixtures."""

    def __init__(self, trial: Trial, terms: TermModule, *, index_date: dt.date,
                 base: Path | None = None) -> None:
        self.trial = trial
        self.terms = terms
        base = base or EXAMPLES_DIR / "eligible.ttl"
        if not base.is_file():
            raise UsageError(f"no eligible example patient to start from: {base}")
        self.base = Graph().parse(base)
        self.fixtures = [fx for fx in load_fixtures(trial) if fx.index_date == index_date and fx.verdict is None]
        if not self.fixtures:
            raise UsageError(f"trial {trial.id} has no fixtures for index date {index_date}")
        self._graphs = {fx.id: fx.graph() for fx in self.fixtures}
        self.strata: dict[str, dict[str, list[Fixture]]] = {}
        for fx in self.fixtures:
            self.strata.setdefault(fx.criterion, {}).setdefault(fx.expect.value, []).append(fx)
        self.pairs = [(c, o) for c in sorted(self.strata) for o in sorted(self.strata[c])]
        #: criteria whose fixtures carry the birth date and sex they test (eligo:demographic)
        self.demographic = frozenset(c.id for c in trial.criteria if c.demographic)
        from eligo.check import Screener

        base_result = Screener(trial=trial, terms=terms).check(self.base, index_date=index_date)
        self.base_evidence = {c.id: {e.source_id for e in c.evidence} for c in base_result.criteria}

    def _groups(self, g: Graph, rec: Any) -> set[URIRef]:
        """The direct grouping classes of a record's codes (its class when it has no code)."""
        out: set[URIRef] = set()
        for code in g.objects(rec, ELIGO.code):
            if isinstance(code, URIRef):
                parents = set(self.terms.sources.objects(code, RDFS.subClassOf)) or {code}
                out |= {p for p in parents if isinstance(p, URIRef)}
        if not out:
            out = {c for c in g.objects(rec, RDF.type) if isinstance(c, URIRef)}
        return out

    def patient(self, number: int, rng: random.Random) -> SynthPatient:
        pid = f"synth-{number:06d}"
        g = Graph()
        g += self.base
        base_patient = next(iter(g.subjects(RDF.type, ELIGO.Patient)))
        k = rng.choices([n for n, _ in INJECTIONS], weights=[w for _, w in INJECTIONS])[0]
        chosen: list[Fixture] = []
        if number <= len(self.pairs):
            criterion, outcome = self.pairs[number - 1]
            chosen.append(rng.choice(self.strata[criterion][outcome]))
            k = 0
        for criterion in rng.sample(sorted(self.strata), k=min(k, len(self.strata))):
            by_outcome = self.strata[criterion]
            outcome = rng.choice(sorted(by_outcome))
            chosen.append(rng.choice(by_outcome[outcome]))
        demographics_from: Fixture | None = next((f for f in chosen if f.criterion in self.demographic), None)
        for n, fx in enumerate(chosen):
            self._inject(g, base_patient, fx, f"f{n}")
        for prop in (ELIGO.birthDate, ELIGO.gender):
            g.remove((base_patient, prop, None))
        if demographics_from is not None:
            fg = self._graphs[demographics_from.id]
            fp = next(iter(fg.subjects(RDF.type, ELIGO.Patient)))
            for prop in (ELIGO.birthDate, ELIGO.gender):
                for v in fg.objects(fp, prop):
                    g.add((base_patient, prop, v))
        else:
            year = rng.randint(1940, 1995)
            g.add((base_patient, ELIGO.birthDate, Literal(dt.date(year, rng.randint(1, 12), rng.randint(1, 28)),
                                                          datatype=XSD.date)))
            g.add((base_patient, ELIGO.gender, Literal("female" if rng.random() < 0.97 else "male")))
        if rng.random() < 0.10:
            attestations = sorted(g.subjects(RDF.type, ELIGO.Attestation), key=str)
            if attestations:
                victim = rng.choice(attestations)
                g.remove((victim, None, None))
        g.set((base_patient, ELIGO.sourceId, Literal(f"Patient/{pid}")))
        bundle = to_bundle(g)
        for entry in bundle["entry"]:
            res = entry["resource"]
            if res["resourceType"] != "Patient":
                res["id"] = f"{pid}-{res['id']}"
            entry["fullUrl"] = f"urn:uuid:{res['resourceType']}-{res['id']}"
        return SynthPatient(pid, bundle, tuple(fx.id for fx in chosen))

    def _inject(self, g: Graph, patient: Any, fx: Fixture, tag: str) -> None:
        fg = self._graphs[fx.id]
        fpatient = next(iter(fg.subjects(RDF.type, ELIGO.Patient)))
        frecords = set(fg.subjects(ELIGO.subject, fpatient))
        groups: set[URIRef] = set()
        for r in frecords:
            groups |= self._groups(fg, r)
        therapy = any((r, RDF.type, ELIGO.MedicationExposure) in fg for r in frecords)
        evidence = self.base_evidence.get(fx.criterion, set())
        for rec in list(g.subjects(ELIGO.subject, patient)):
            replace = bool(self._groups(g, rec) & groups) or (
                therapy and (rec, RDF.type, ELIGO.MedicationExposure) in g) or (
                str(g.value(rec, ELIGO.sourceId)) in evidence)
            if replace:
                for comp in list(g.objects(rec, ELIGO.component)):
                    g.remove((comp, None, None))
                g.remove((rec, None, None))
        rename = {r: URIRef(f"{SYNTH_NS}{tag}/{i}") for i, r in enumerate(sorted(frecords, key=str))}
        for s, p, o in fg:
            if s == fpatient or (s not in rename and not _is_component(fg, s)):
                continue
            s2 = rename.get(s, s)
            o2 = patient if o == fpatient else rename.get(o, o)
            if p == ELIGO.sourceId:
                rtype, _, rid = str(o).partition("/")
                o2 = Literal(f"{rtype}/{tag}-{rid}")
            g.add((s2, p, o2))


def _is_component(g: Graph, node: Any) -> bool:
    return (None, ELIGO.component, node) in g


def generate(n: int, *, seed: int, trial: Trial, terms: TermModule, index_date: dt.date) -> Iterator[SynthPatient]:
    """``n`` patients, the same for the same seed, trial and index date."""
    gen = Generator(trial, terms, index_date=index_date)
    for i in range(1, n + 1):
        yield gen.patient(i, random.Random(f"{seed}:{i}"))


def write_bulk(patients: Iterator[SynthPatient], out: Path) -> dict[str, int]:
    """Write FHIR Bulk Data NDJSON, one file per resource type; return counts per type."""
    out.mkdir(parents=True, exist_ok=True)
    handles: dict[str, Any] = {}
    counts: dict[str, int] = {}
    try:
        for p in patients:
            for entry in p.bundle["entry"]:
                res = entry["resource"]
                rtype = res["resourceType"]
                if rtype not in handles:
                    handles[rtype] = (out / f"{rtype}.ndjson").open("w", encoding="utf-8")
                handles[rtype].write(json.dumps(res, separators=(",", ":")) + "\n")
                counts[rtype] = counts.get(rtype, 0) + 1
    finally:
        for h in handles.values():
            h.close()
    return counts
