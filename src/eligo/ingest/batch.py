"""Finding the patients in batch inputs: Bulk NDJSON folders, Bundles, RDF files.

Each patient becomes a :class:`Unit` of work that carries its own data as
text, so it can be sent to another process or machine. Problems that belong
to no patient (a malformed NDJSON line, a resource whose subject is not in the
population) become :class:`InputProblem` records; they never stop the run.

Memory stays bounded by the largest patient, not by the input: NDJSON is
streamed in two passes (:mod:`eligo.ingest.ndjson`). A single JSON document or
RDF file must be read whole, so those are refused above
:data:`~eligo.ingest.MAX_DOCUMENT_BYTES` (with a message saying to export
NDJSON instead).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rdflib import Graph

from eligo.errors import EligoError
from eligo.ingest import PatientInput, check_size
from eligo.ingest.batch_items import InputProblem, Unit, UnitKind
from eligo.ingest.fhir_identity import (
    REFERENCED_TYPES,
    SHARED_TYPES,
    PatientCopies,
    patient_aliases,
    resource_id,
    subject_reference,
)
from eligo.ingest.fhir_json import Located, invalid_unicode_at, read_text, resources_from_document
from eligo.ingest.fhir_map import map_patient
from eligo.ingest.ndjson import read_ndjson
from eligo.ingest.rdf import RDF_FORMATS, read_rdf
from eligo.model import ELIGO
from eligo.model import RDF_TERMS as RDF
from eligo.notices import DataWarning, WarningKind
from eligo.triples import Triples


# ------------------------------------------------------------------------------------ whole documents
def _fhir_units(resources: list[tuple[dict[str, Any], str]], source: str) -> Iterator[Unit | InputProblem]:
    """Group the FHIR resources of one document by patient."""
    patients: dict[str, dict[str, Any]] = {}
    copies = PatientCopies()
    for res, where in resources:
        if res.get("resourceType") != "Patient":
            continue
        pid = resource_id(res)
        if pid is None:
            yield InputProblem(where, "a Patient resource without an id was skipped", kind=WarningKind.MALFORMED_LINE)
            continue
        seen = copies.add(pid, res, where)
        if seen == "new":
            patients[pid] = res
        elif seen == "identical":
            yield InputProblem(where, f"an identical copy of Patient/{pid}; read once",
                               kind=WarningKind.DUPLICATE_RESOURCES)
    aliases = {alias: pid for pid in patients for alias in patient_aliases(pid)}
    groups: dict[str, list[dict[str, Any]]] = {}
    orphans: dict[str, int] = {}
    for res, _where in resources:
        if res.get("resourceType") == "Patient" or res.get("resourceType") in SHARED_TYPES:
            continue
        ref = subject_reference(res)
        pid = aliases.get(ref or "")
        if pid is None:
            orphans[ref or "no subject"] = orphans.get(ref or "no subject", 0) + 1
            continue
        groups.setdefault(pid, []).append(res)
    for ref, n in sorted(orphans.items()):
        yield InputProblem(source, f"{n} resource(s) refer to {ref}, which is not a Patient in the input",
                           kind=WarningKind.ORPHAN_RESOURCES)
    shared = [res for res, _ in resources if res.get("resourceType") in REFERENCED_TYPES]
    for pid in sorted(patients):
        if pid in copies.conflicts:
            yield InputProblem(f"Patient/{pid}", copies.conflict_message(pid), kind=WarningKind.PATIENT_NOT_SCREENED)
            continue
        payload = json.dumps([patients[pid], *shared, *groups.get(pid, [])], separators=(",", ":"))
        yield Unit(f"Patient/{pid}", source, UnitKind.FHIR, payload)


def _too_big(path: Path) -> InputProblem | None:
    try:
        check_size(path, what="a single JSON or RDF document",
                   advice=": export the population as FHIR Bulk Data NDJSON, which eligo streams")
    except EligoError as exc:
        return InputProblem(str(path), exc.message, kind=WarningKind.FILE_NOT_READ)
    return None


def _json_file(path: Path) -> Iterator[Unit | InputProblem]:
    big = _too_big(path)
    if big is not None:
        yield big
        return
    try:
        text = read_text(path)
        doc = json.loads(text)
        if invalid_unicode_at(doc, text=text) is not None:
            yield InputProblem(str(path), "a string is not valid Unicode (an escaped lone surrogate)",
                               kind=WarningKind.MALFORMED_LINE)
            return
        located = list(resources_from_document(doc, str(path)))
    except json.JSONDecodeError as exc:
        yield InputProblem(str(path), f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                           kind=WarningKind.MALFORMED_LINE)
        return
    except (RecursionError, ValueError) as exc:
        yield InputProblem(str(path), f"unreadable JSON ({type(exc).__name__})", kind=WarningKind.MALFORMED_LINE)
        return
    except EligoError as exc:
        yield InputProblem(str(path), exc.message, kind=WarningKind.FILE_NOT_READ)
        return
    yield from _fhir_units([(loc.resource, loc.where) for loc in located], str(path))


def _rdf_file(path: Path) -> Iterator[Unit | InputProblem]:
    big = _too_big(path)
    if big is not None:
        yield big
        return
    try:
        g = read_rdf(path)
    except EligoError as exc:
        yield InputProblem(str(path), exc.message, kind=WarningKind.FILE_NOT_READ)
        return
    patients = sorted(g.subjects(RDF.type, ELIGO.Patient), key=str)
    if not patients:
        yield InputProblem(str(path), "no eligo:Patient in the file", kind=WarningKind.FILE_NOT_READ)
    for p in patients:
        sub = Graph()
        stack, seen = [p, *g.subjects(ELIGO.subject, p)], set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            for s, pr, o in g.triples((node, None, None)):
                sub.add((s, pr, o))
                if pr == ELIGO.component:
                    stack.append(o)
        key = str(g.value(p, ELIGO.sourceId) or p)
        yield Unit(key, str(path), UnitKind.RDF, sub.serialize(format="nt"))


def discover(inputs: list[Path], *, on_count: Callable[[int], None] | None = None) -> Iterator[Unit | InputProblem]:
    """Every patient (and every unattributable problem) in the inputs, in a stable order, lazily.

    ``on_count`` is told how many patients an NDJSON export holds as soon as it is indexed, before its
    first unit (for progress reports)."""
    for path in inputs:
        if path.is_dir():
            if any(path.glob("*.ndjson")):
                yield from read_ndjson(sorted(path.glob("*.ndjson")), str(path), on_count)
            files = sorted(f for f in path.iterdir() if f.suffix.lower() in {".json", *RDF_FORMATS})
            for f in files:
                yield from (_json_file(f) if f.suffix.lower() == ".json" else _rdf_file(f))
        elif path.suffix.lower() == ".ndjson":
            yield from read_ndjson([path], str(path), on_count)
        elif path.suffix.lower() == ".json":
            yield from _json_file(path)
        elif path.is_file():
            yield from _rdf_file(path)
        else:
            yield InputProblem(str(path), "no such file or folder", kind=WarningKind.FILE_NOT_READ)


def unit_resources(unit: Unit) -> list[Located]:
    """The FHIR resources of a FHIR unit, each located for messages."""
    return [Located(r, f"{unit.source} ({r.get('resourceType')}/{r.get('id')})") for r in json.loads(unit.payload)]


def unit_input(unit: Unit) -> PatientInput:
    """One discovered patient in the eligo model: the mapping `eligo screen` and `eligo load` share."""
    if unit.kind is UnitKind.FHIR:
        m = map_patient(unit_resources(unit), source=unit.source)
        return PatientInput(m.graph, unit.source, tuple(m.warnings))
    return PatientInput(Graph().parse(data=unit.payload, format="nt"), unit.source, ())


def unit_triples(unit: Unit) -> tuple[Triples, tuple[DataWarning, ...]]:
    """The same mapping as :func:`unit_input`, into :class:`eligo.triples.Triples` (the batch engine's graphs,
    built without an rdflib ``Graph`` for FHIR input)."""
    if unit.kind is UnitKind.FHIR:
        triples = Triples()
        m = map_patient(unit_resources(unit), source=unit.source, into=triples)
        return triples, tuple(m.warnings)
    return Triples(Graph().parse(data=unit.payload, format="nt")), ()

__all__ = ["InputProblem", "Unit", "UnitKind", "discover", "unit_input", "unit_resources", "unit_triples"]
