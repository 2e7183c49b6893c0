"""Term coverage of a population (`eligo terms coverage`): the codes eligo does not recognise.

Over a population (FHIR Bundles, Bulk NDJSON exports, RDF files; discovered as
`eligo screen` does, one patient at a time) every code the FHIR mapping itself
reads (``Mapping.codings``, :mod:`eligo.ingest.fhir_records`) is looked up in
the term module, through the site's code map when one is given. A code is unrecognised when
``TermModule.is_known(code_iri(system, code))`` is false. Each unrecognised code
gets a :class:`CoverageRow`: how many records and patients carry it, the display
most often written with it, the resource types it occurs in, and the trial's
criteria that read those resource types (from the criteria's fixtures, as
``docs/data-requirements.md`` lists them). :func:`skeleton_concept_map` turns
the rows into a FHIR ConceptMap for the site to fill in and give back with
``--code-map``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from eligo.authoring.fixtures import load_fixtures
from eligo.codemap import CodeMap
from eligo.ingest.batch import InputProblem, Unit, UnitKind, discover, unit_resources
from eligo.ingest.fhir_codes import code_iri
from eligo.ingest.fhir_map import map_patient
from eligo.ingest.fhir_records import MEDICATION_TYPES
from eligo.model import CODE_PROPERTIES, CODE_SYSTEMS, ELIGO
from eligo.progress import Progress
from eligo.terms import TermModule
from eligo.trial import Trial

FORMATS = ("table", "csv", "json")


#: The eligo record classes (what criteria read) and the FHIR resource types mapped to them. An attestation is
#: an Observation too, but one with an eligo code: a criterion that reads only attestations reads no local code.
RECORD_CLASS_TYPES: dict[URIRef, tuple[str, ...]] = {
    ELIGO.Condition: ("Condition",), ELIGO.Observation: ("Observation",),
    ELIGO.MedicationExposure: MEDICATION_TYPES, ELIGO.Procedure: ("Procedure",),
    ELIGO.Immunization: ("Immunization",), ELIGO.Consent: ("Consent",),
}


@dataclass(frozen=True, slots=True)
class Coding:
    """One code in one record: its system and code as written, the text written with it."""

    system: str
    code: str
    display: str | None


def _fhir_records(unit: Unit) -> Iterator[tuple[str, list[Coding]]]:
    """Each record the FHIR mapping reads, with the codings it read into codes (the one mapping: its
    elements, the Medication's and ingredients' codes, references resolved as for screening)."""
    m = map_patient(unit_resources(unit), source=unit.source)
    by_record: dict[str, list[Coding]] = defaultdict(list)
    for read in m.codings:
        by_record[read.record].append(Coding(*split_code_iri(str(read.code)), read.display))
    for sid, rtype in m.records:
        yield rtype, by_record.pop(sid, [])


def split_code_iri(iri: str) -> tuple[str, str]:
    """(system, code) of a code IRI: the inverse of :func:`code_iri` for known systems and ``system#code``."""
    for system, ns in CODE_SYSTEMS.items():
        if iri.startswith(str(ns)):
            return system, unquote(iri[len(str(ns)):])
    system, _, code = iri.rpartition("#")
    return (system, unquote(code)) if system else ("", iri)


def _rdf_records(payload: str) -> Iterator[tuple[str, list[Coding]]]:
    g = Graph().parse(data=payload, format="nt")
    for cls, types in {**RECORD_CLASS_TYPES, ELIGO.Attestation: ("Observation",)}.items():
        for rec in g.subjects(RDF.type, cls):
            nodes = [rec, *g.objects(rec, ELIGO.component)]
            codes = [o for n in nodes for p in CODE_PROPERTIES for o in g.objects(n, p) if isinstance(o, URIRef)]
            yield (types[0] if len(types) == 1 else str(cls).rsplit("#", 1)[-1],
                   [Coding(*split_code_iri(str(c)), None) for c in codes])


# ------------------------------------------------------------------------------ the report
@dataclass(frozen=True, slots=True)
class CoverageRow:
    """An unrecognised code and where it occurs."""

    system: str
    code: str
    display: str | None  # the display (or CodeableConcept.text) most often written with it
    records: int
    patients: int
    resource_types: tuple[str, ...]
    criteria: tuple[str, ...]  # the trial's criteria that read those resource types, in catalogue order

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "code": self.code, "display": self.display, "records": self.records,
                "patients": self.patients, "resource_types": list(self.resource_types),
                "criteria": list(self.criteria)}


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Every unrecognised code of a population, most patients first, with the totals."""

    trial: str
    code_map: str | None  # the code map's name, when one was applied
    patients: int  # patients read
    records: int  # records (resources of the types eligo reads) read
    codes_seen: int  # distinct codes in the elements eligo reads
    codes_recognised: int
    patients_affected: int  # patients with at least one unrecognised code
    rows: tuple[CoverageRow, ...]
    problems: tuple[str, ...] = field(default=())  # input that could not be read ("SOURCE: message")

    @property
    def recognised_share(self) -> float:
        """The share of distinct codes seen that eligo recognises (1.0 when no code was seen)."""
        return self.codes_recognised / self.codes_seen if self.codes_seen else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "code_map": self.code_map, "patients": self.patients, "records": self.records,
                "codes_seen": self.codes_seen, "codes_recognised": self.codes_recognised,
                "recognised_share": round(self.recognised_share, 4), "patients_affected": self.patients_affected,
                "unrecognised": [r.to_json() for r in self.rows], "problems": list(self.problems)}


def criteria_by_resource_type(trial: Trial) -> dict[str, tuple[str, ...]]:
    """FHIR resource type -> the criteria that read it (their fixtures hold such a record), in catalogue order."""
    found: dict[str, set[str]] = defaultdict(set)
    for fx in load_fixtures(trial):
        for cls in set(fx.graph().objects(None, RDF.type)):
            for rtype in RECORD_CLASS_TYPES.get(cls, ()) if isinstance(cls, URIRef) else ():
                found[rtype].add(fx.criterion)
            if cls == ELIGO.MedicationExposure:
                found["MedicationExposure"].add(fx.criterion)
    order = [c.id for c in trial.criteria]
    return {t: tuple(c for c in order if c in ids) for t, ids in found.items()}


def coverage(inputs: list[Path], *, trial: Trial, terms: TermModule, code_map: CodeMap | None = None,
             progress: bool | None = None) -> CoverageReport:
    """The unrecognised codes of every patient in ``inputs`` (read through ``code_map`` when given)."""
    terms = terms.with_code_map(code_map)
    known: dict[tuple[str, str], bool] = {}
    records: Counter[tuple[str, str]] = Counter()
    patients: dict[tuple[str, str], set[str]] = defaultdict(set)
    displays: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    types: dict[tuple[str, str], set[str]] = defaultdict(set)
    problems: list[str] = []
    n_patients = n_records = 0
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(0, sys.stderr if show else None, noun="patients read")

    def announce(n: int) -> None:  # an NDJSON export says how many patients it holds once it is indexed
        bar.total += n

    try:
        for item in discover(inputs, on_count=announce):
            if isinstance(item, InputProblem):
                problems.append(f"{item.source}: {item.message}")
                continue
            n_patients += 1
            bar.total = max(bar.total, n_patients)
            for rtype, codings in _unit_records(item):
                n_records += 1
                for key in dict.fromkeys((c.system, c.code) for c in codings):  # a record counts once per code
                    if key not in known:
                        known[key] = bool(key[0]) and terms.is_known(code_iri(*key))
                    if not known[key]:
                        records[key] += 1
                        patients[key].add(item.key)
                        types[key].add(rtype)
                for c in codings:
                    if not known[(c.system, c.code)] and c.display:
                        displays[(c.system, c.code)][c.display] += 1
            bar.tick()
    finally:
        bar.done()
    reads = criteria_by_resource_type(trial)
    order = {c.id: i for i, c in enumerate(trial.criteria)}
    rows = [CoverageRow(system=k[0], code=k[1], records=records[k], patients=len(patients[k]),
                        display=min(displays[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] if displays[k] else None,
                        resource_types=tuple(sorted(types[k])),
                        criteria=tuple(sorted({c for t in types[k] for c in reads.get(t, ())}, key=order.__getitem__)))
            for k in records]
    rows.sort(key=lambda r: (-r.patients, r.system, r.code))
    affected = set().union(*patients.values()) if patients else set()
    return CoverageReport(trial=trial.id, code_map=code_map.name if code_map else None, patients=n_patients,
                          records=n_records, codes_seen=len(known), codes_recognised=sum(known.values()),
                          patients_affected=len(affected), rows=tuple(rows), problems=tuple(problems))


def _unit_records(unit: Unit) -> Iterator[tuple[str, list[Coding]]]:
    return _fhir_records(unit) if unit.kind is UnitKind.FHIR else _rdf_records(unit.payload)


# ------------------------------------------------------------------------------ output
_COLUMNS = ("patients", "records", "system", "code", "display", "resource_types", "criteria")


def _cells(r: CoverageRow) -> list[str]:
    return [str(r.patients), str(r.records), r.system, r.code, r.display or "", " ".join(r.resource_types),
            " ".join(r.criteria)]


def render(report: CoverageReport, fmt: str) -> str:
    """The report as an aligned text table (with the totals on top), CSV (one row per code) or JSON."""
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(_COLUMNS)
        w.writerows(_cells(r) for r in report.rows)
        return buf.getvalue().rstrip("\n")
    head = (f"{report.patients} patients, {report.records} records, {report.codes_seen} distinct codes, "
            f"{report.codes_recognised} recognised ({report.recognised_share:.1%}); {len(report.rows)} unrecognised, "
            f"in {report.patients_affected} patients (trial {report.trial}"
            + (f", code map {report.code_map})" if report.code_map else ")"))
    table = [list(_COLUMNS)] + [[*c[:4], c[4] if len(c[4]) <= 40 else c[4][:39] + "…", *c[5:]]
                                for c in map(_cells, report.rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(_COLUMNS))]
    lines = [head, ""] + ["  ".join(cell.rjust(w) if i < 2 else cell.ljust(w)
                                    for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
                          for row in table]
    return "\n".join(lines + [f"input problem: {p}" for p in report.problems])


def skeleton_concept_map(report: CoverageReport) -> dict[str, Any]:
    """A FHIR R4 ConceptMap with one group per source system and one element per unrecognised code, each
    with an ``unmatched`` target: valid ``--code-map`` input that changes nothing until the site fills it in
    (set ``group.target`` to the target system; give each target a ``code`` and an ``equivalence``)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(report.rows, key=lambda r: (r.system, r.code)):
        if not r.system:
            continue  # an RDF code IRI without a system cannot be mapped by system and code
        element: dict[str, Any] = {"code": r.code}
        if r.display:
            element["display"] = r.display
        element["target"] = [{"equivalence": "unmatched",
                              "comment": f"seen in {r.patients} patient(s), {r.records} record(s) "
                                         f"({', '.join(r.resource_types)}); to map it, give this target a code and "
                                         "an equivalence, and the group its target system"}]
        groups[r.system].append(element)
    return {"resourceType": "ConceptMap", "id": "eligo-local-codes", "name": "EligoLocalCodes",
            "title": "Local codes eligo does not recognise", "status": "draft",
            "description": f"Written by `eligo terms coverage` for trial {report.trial}: each element is a code eligo "
                           "does not recognise. Fill in the targets and pass the file back with --code-map; "
                           "targets left unmatched change nothing.",
            "group": [{"source": s, "element": els} for s, els in sorted(groups.items())]}


def write_skeleton(report: CoverageReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(skeleton_concept_map(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
