"""Finding the patients in batch inputs: Bulk NDJSON folders, Bundles, RDF files.

Each patient becomes a :class:`Unit` of work that carries its own data as
text, so it can be sent to another process or machine. Problems that belong
to no patient (a malformed NDJSON line, a resource whose subject is not in the
population) become :class:`InputProblem` records; they never stop the run.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import RDF

from eligo.errors import EligoError, InputError
from eligo.ingest.fhir_json import read_text, resources_from_document
from eligo.ingest.rdf import RDF_FORMATS, read_rdf
from eligo.model import ELIGO


@dataclass(frozen=True, slots=True)
class Unit:
    """One patient's data, self-contained."""

    key: str  # the patient id used in output rows: FHIR Patient/id, or the RDF sourceId
    source: str  # where it came from, for messages
    kind: str  # "fhir" (payload: JSON list of resources) or "rdf" (payload: N-Triples)
    payload: str


@dataclass(frozen=True, slots=True)
class InputProblem:
    """Input that could not be attributed to a patient."""

    source: str
    message: str


def _patient_ref(res: dict) -> str | None:
    for key in ("subject", "patient"):
        ref = res.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return ref["reference"]
    return None


def _fhir_units(resources: list[tuple[dict, str]], source: str) -> Iterator[Unit | InputProblem]:
    """Group FHIR resources by patient."""
    patients: dict[str, dict] = {}
    aliases: dict[str, str] = {}
    for res, where in resources:
        if res.get("resourceType") == "Patient":
            pid = str(res.get("id", ""))
            if not pid:
                yield InputProblem(where, "a Patient resource without an id was skipped")
                continue
            if pid in patients:
                yield InputProblem(where, f"duplicate Patient/{pid}; the later copy was ignored")
                continue
            patients[pid] = res
            aliases[f"Patient/{pid}"] = pid
            aliases[f"urn:uuid:{pid}"] = pid
    groups: dict[str, list[dict]] = defaultdict(list)
    orphans: dict[str, int] = defaultdict(int)
    for res, _where in resources:
        if res.get("resourceType") == "Patient":
            continue
        ref = _patient_ref(res)
        pid = aliases.get(ref or "")
        if pid is None:
            if res.get("resourceType") not in ("Medication", "Practitioner", "Organization", "Location"):
                orphans[ref or "no subject"] += 1
            continue
        groups[pid].append(res)
    for ref, count in sorted(orphans.items()):
        yield InputProblem(source, f"{count} resource(s) refer to {ref}, which is not a Patient in the input")
    shared = [res for res, _ in resources if res.get("resourceType") == "Medication"]
    for pid in sorted(patients):
        payload = json.dumps([patients[pid], *shared, *groups.get(pid, [])], separators=(",", ":"))
        yield Unit(f"Patient/{pid}", source, "fhir", payload)


def _ndjson(files: list[Path], source: str) -> Iterator[Unit | InputProblem]:
    """FHIR Bulk Data NDJSON: one resource per line, any number of files."""
    resources: list[tuple[dict, str]] = []
    for f in files:
        try:
            text = read_text(f)
        except InputError as exc:
            yield InputProblem(str(f), exc.message)
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{f} line {n}"
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                yield InputProblem(where, f"malformed JSON at column {exc.colno}: {exc.msg}; line skipped")
                continue
            if not isinstance(doc, dict) or "resourceType" not in doc:
                yield InputProblem(where, "not a FHIR resource (no resourceType); line skipped")
                continue
            resources.append((doc, where))
    yield from _fhir_units(resources, source)


def _json_file(path: Path) -> Iterator[Unit | InputProblem]:
    try:
        text = read_text(path)
        doc = json.loads(text)
        located = list(resources_from_document(doc, str(path)))
    except json.JSONDecodeError as exc:
        yield InputProblem(str(path), f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        return
    except EligoError as exc:
        yield InputProblem(str(path), exc.message)
        return
    yield from _fhir_units([(loc.resource, loc.where) for loc in located], str(path))


def _rdf_file(path: Path) -> Iterator[Unit | InputProblem]:
    try:
        g = read_rdf(path)
    except EligoError as exc:
        yield InputProblem(str(path), exc.message)
        return
    patients = sorted(g.subjects(RDF.type, ELIGO.Patient), key=str)
    if not patients:
        yield InputProblem(str(path), "no eligo:Patient in the file")
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
        yield Unit(key, str(path), "rdf", sub.serialize(format="nt"))


def discover(inputs: list[Path]) -> Iterator[Unit | InputProblem]:
    """Every patient (and every unattributable problem) in the inputs, in a stable order."""
    for path in inputs:
        if path.is_dir():
            if any(path.glob("*.ndjson")):
                yield from _ndjson(sorted(path.glob("*.ndjson")), str(path))
            files = sorted(f for f in path.iterdir() if f.suffix.lower() in {".json", *RDF_FORMATS})
            for f in files:
                yield from (_json_file(f) if f.suffix.lower() == ".json" else _rdf_file(f))
        elif path.suffix.lower() == ".ndjson":
            yield from _ndjson([path], str(path))
        elif path.suffix.lower() == ".json":
            yield from _json_file(path)
        elif path.is_file():
            yield from _rdf_file(path)
        else:
            yield InputProblem(str(path), "no such file or folder")
