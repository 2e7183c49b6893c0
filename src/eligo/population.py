"""Finding the patients in batch inputs: Bulk NDJSON folders, Bundles, RDF files.

Each patient becomes a :class:`Unit` of work that carries its own data as
text, so it can be sent to another process or machine. Problems that belong
to no patient (a malformed NDJSON line, a resource whose subject is not in the
population) become :class:`InputProblem` records; they never stop the run.

Memory stays bounded by the largest patient, not by the input: NDJSON is read
in two passes. The first pass parses each line once, keeps only where it is
(file, byte offset, length) under the patient it refers to, and discards it;
the second pass reads one patient's lines at a time. A single JSON document or
RDF file must be read whole, so those are refused above
:data:`MAX_DOCUMENT_BYTES` (with a message saying to export NDJSON instead).

Safety: a line that cannot be read but names a patient (``"reference":
"Patient/x"``) makes that patient's record incomplete, so that patient is not
screened; an input problem says why. A whole NDJSON file that cannot be read
stops the screening of every patient of that export, for the same reason. A
line that names no patient is reported as an input problem of its own.
"""

from __future__ import annotations

import hashlib
import json
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from rdflib import Graph
from rdflib.namespace import RDF

from eligo.errors import EligoError
from eligo.ingest import MAX_DOCUMENT_BYTES, PatientInput
from eligo.ingest.fhir_json import Located, invalid_unicode_at, read_text, resources_from_document
from eligo.ingest.fhir_map import map_patient
from eligo.ingest.rdf import RDF_FORMATS, read_rdf
from eligo.model import ELIGO

#: The longest NDJSON line (one resource) read; a longer one is skipped and reported.
MAX_LINE_BYTES = 16 * 1024 * 1024
#: Input problems reported one by one per file; the rest are counted in one summary problem.
MAX_PROBLEMS_PER_FILE = 100
#: Resource types that belong to no patient (referenced from patients' records, or not at all).
SHARED_TYPES = frozenset({"Medication", "Substance", "Practitioner", "PractitionerRole", "Organization",
                          "Location", "Device", "Group"})

_PATIENT_REF = re.compile(rb'"reference"\s*:\s*"((?:Patient/|urn:uuid:)[^"\\]{1,200})"')


@dataclass(frozen=True, slots=True)
class Unit:
    """One patient's data, self-contained."""

    key: str  # the patient id used in output rows: FHIR Patient/id, or the RDF sourceId
    source: str  # where it came from, for messages
    kind: str  # "fhir" (payload: JSON list of resources) or "rdf" (payload: N-Triples)
    payload: str


@dataclass(frozen=True, slots=True)
class InputProblem:
    """Input that could not be attributed to a patient, or a patient that could not be screened."""

    source: str
    message: str


def _patient_ref(res: dict[str, Any]) -> str | None:
    for key in ("subject", "patient"):
        ref = res.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return ref["reference"]
    return None


def _rid(res: dict[str, Any]) -> str | None:
    rid = res.get("id")
    if isinstance(rid, int) and not isinstance(rid, bool):
        return str(rid)
    return rid if isinstance(rid, str) and rid.strip() else None


def _digest(res: Any) -> str:
    text = json.dumps(res, sort_keys=True, ensure_ascii=False, allow_nan=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------------------------ NDJSON
@dataclass
class _Where:
    """Where a line is: file index, byte offset and length, and its line number (for messages)."""

    file: int
    offset: int
    length: int
    line: int


@dataclass
class _Index:
    """Pass 1 over an NDJSON export: where each patient's lines are, and what went wrong."""

    files: list[Path]
    patients: dict[str, _Where] = field(default_factory=dict)  # pid -> its Patient line
    patient_digest: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, tuple[str, str]] = field(default_factory=dict)  # pid -> the two places that disagree
    records: dict[str, array] = field(default_factory=dict)  # reference as written -> flat (file, offset, length)
    medications: dict[str, _Where] = field(default_factory=dict)  # "Medication/id" -> its line
    tainted: dict[str, str] = field(default_factory=dict)  # reference -> the unreadable line that names it
    unreadable_file: str | None = None  # "FILE (reason)": a whole file could not be read, nobody is screened

    def where(self, w: _Where) -> str:
        return f"{self.files[w.file]} line {w.line}"


class _ProblemLog:
    """Input problems of one file, the first MAX_PROBLEMS_PER_FILE one by one, the rest counted."""

    def __init__(self, path: Path) -> None:
        self.path, self.items, self.more = path, [], 0

    def add(self, line: int, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS_PER_FILE:
            self.items.append(InputProblem(f"{self.path} line {line}", message))
        else:
            self.more += 1

    def flush(self) -> list[InputProblem]:
        out = list(self.items)
        if self.more:
            out.append(InputProblem(str(self.path), f"{self.more} more problem line(s) like the ones above were "
                                                   "skipped"))
        return out


def _lines(fh: BinaryIO) -> Iterator[tuple[int, int, bytes, bool]]:
    """(line number, byte offset, line bytes, complete) for each line. A line over MAX_LINE_BYTES is not
    held whole: its first MAX_LINE_BYTES bytes come with complete=False and the rest is skipped."""
    offset, number = 0, 0
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        start = offset
        offset += len(line)
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while True:  # skip the rest of the line in bounded chunks
                chunk = fh.readline(1 << 20)
                offset += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield number, start, line, False
            continue
        yield number, start, line, True


def _index_ndjson(files: list[Path]) -> tuple[_Index, list[InputProblem]]:
    index = _Index(files)
    problems: list[InputProblem] = []
    for fi, path in enumerate(files):
        log = _ProblemLog(path)
        try:
            if path.stat().st_size == 0:
                problems.append(InputProblem(str(path), "the file is empty"))
                continue
            with path.open("rb") as fh:
                for number, offset, line, complete in _lines(fh):
                    _index_line(index, log, fi, number, offset, line, complete)
        except OSError as exc:
            index.unreadable_file = f"{path} ({exc.strerror or exc})"
            problems.append(InputProblem(str(path), f"the file could not be read ({exc.strerror or exc}); no "
                                                    "patient of this export is screened, since any may have "
                                                    "records in it"))
        problems += log.flush()
    return index, problems


def _taint(index: _Index, raw: bytes, where: str) -> None:
    for m in _PATIENT_REF.finditer(raw):
        ref = m.group(1).decode("utf-8", "replace")
        index.tainted.setdefault(ref, where)


def _index_line(index: _Index, log: _ProblemLog, fi: int, number: int, offset: int, line: bytes,
                complete: bool) -> None:
    where = f"{index.files[fi]} line {number}"
    if not complete:
        log.add(number, f"the line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB; skipped")
        _taint(index, line, where)
        return
    if not line.strip():
        return
    try:
        text = line.decode("utf-8-sig" if offset == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        log.add(number, f"not UTF-8 text (byte {exc.start} of the line); line skipped")
        _taint(index, line, where)
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        log.add(number, f"malformed JSON at column {exc.colno}: {exc.msg}; line skipped")
        _taint(index, line, where)
        return
    except (RecursionError, ValueError) as exc:
        log.add(number, f"unreadable JSON ({type(exc).__name__}); line skipped")
        _taint(index, line, where)
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceType"), str):
        log.add(number, "not a FHIR resource (no resourceType); line skipped")
        _taint(index, line, where)
        return
    if invalid_unicode_at(doc) is not None:
        log.add(number, "a string is not valid Unicode (an escaped lone surrogate); line skipped")
        _taint(index, line, where)
        return
    w = _Where(fi, offset, len(line), number)
    rtype = doc["resourceType"]
    rid = _rid(doc)
    if rtype == "Patient":
        if rid is None:
            log.add(number, "a Patient resource without an id was skipped")
            return
        digest = _digest(doc)
        first = index.patients.get(rid)
        if first is None:
            index.patients[rid] = w
            index.patient_digest[rid] = digest
        elif index.patient_digest[rid] == digest:
            log.add(number, f"an identical copy of Patient/{rid}; read once")
        else:
            index.conflicts.setdefault(rid, (index.where(first), where))
        return
    if rtype in ("Medication", "Substance"):
        if rid is not None:
            index.medications.setdefault(f"{rtype}/{rid}", w)
        return
    if rtype in SHARED_TYPES:
        return
    ref = _patient_ref(doc) or ""
    index.records.setdefault(ref, array("q")).extend((fi, offset, len(line)))


def _read_at(handles: dict[int, BinaryIO], files: list[Path], fi: int, offset: int, length: int) -> Any:
    fh = handles.get(fi)
    if fh is None:
        fh = handles[fi] = files[fi].open("rb")
    fh.seek(offset)
    return json.loads(fh.read(length).decode("utf-8-sig" if offset == 0 else "utf-8"))


def _medication_refs(node: Any) -> Iterator[str]:
    """The Medications (and their ingredients' Medications or Substances) a record refers to."""
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            for key in ("medicationReference", "itemReference"):
                mref = x.get(key)
                if isinstance(mref, dict) and isinstance(mref.get("reference"), str):
                    yield mref["reference"]
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def _patient_payload(index: _Index, handles: dict[int, BinaryIO], pid: str) -> str:
    """Pass 2 for one patient: its Patient line, its records and the Medications they reference, as JSON."""
    w = index.patients[pid]
    resources = [_read_at(handles, index.files, w.file, w.offset, w.length)]
    spots: list[tuple[int, int, int]] = []
    for alias in (f"Patient/{pid}", f"urn:uuid:{pid}"):
        flat = index.records.get(alias)
        if flat is not None:
            spots += [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]
    records = [_read_at(handles, index.files, *spot) for spot in sorted(spots)]
    meds: dict[str, Any] = {}
    todo = sorted(set(_medication_refs(records)))
    while todo:  # a Medication's ingredients may refer to further Medications or Substances
        ref = todo.pop()
        mw = index.medications.get(ref)
        if mw is not None and ref not in meds:
            meds[ref] = _read_at(handles, index.files, mw.file, mw.offset, mw.length)
            todo.extend(sorted(set(_medication_refs(meds[ref])) - set(meds)))
    return json.dumps([*resources, *meds.values(), *records], separators=(",", ":"))


def _ndjson(files: list[Path], source: str, on_count: Callable[[int], None] | None) -> Iterator[Unit | InputProblem]:
    """FHIR Bulk Data NDJSON: one resource per line, any number of files, read in two passes."""
    index, problems = _index_ndjson(files)
    if on_count is not None:
        on_count(len(index.patients))
    yield from problems
    aliases = {alias: pid for pid in index.patients for alias in (f"Patient/{pid}", f"urn:uuid:{pid}")}
    for ref, locations in sorted(index.records.items()):
        if ref not in aliases:
            yield InputProblem(source, f"{len(locations) // 3} resource(s) refer to {ref or 'no subject'}, which is "
                                       "not a Patient in the input")
    handles: dict[int, BinaryIO] = {}
    try:
        for pid in sorted(index.patients):
            key = f"Patient/{pid}"
            bad = index.tainted.get(key) or index.tainted.get(f"urn:uuid:{pid}")
            if pid in index.conflicts:
                first, again = index.conflicts[pid]
                yield InputProblem(key, f"{key} appears at {first} and again at {again} with different content; it "
                                        "was not screened: keep one version")
            elif index.unreadable_file is not None:
                yield InputProblem(key, f"{key} was not screened: eligo could not read {index.unreadable_file}, "
                                        "which may hold records of this patient")
            elif bad is not None:
                yield InputProblem(key, f"{key} was not screened: {bad} could not be read and refers to this "
                                        "patient, whose record is therefore incomplete; fix or remove that line")
            if pid in index.conflicts or index.unreadable_file is not None or bad is not None:
                continue
            try:
                payload = _patient_payload(index, handles, pid)
            except (OSError, ValueError) as exc:  # the export changed between the two passes
                yield InputProblem(key, f"{key} was not screened: its lines could not be read again "
                                        f"({type(exc).__name__}: {exc}); was the export changed during the run?")
                continue
            yield Unit(key, source, "fhir", payload)
    finally:
        for fh in handles.values():
            fh.close()


# ------------------------------------------------------------------------------------ whole documents
def _fhir_units(resources: list[tuple[dict[str, Any], str]], source: str) -> Iterator[Unit | InputProblem]:
    """Group the FHIR resources of one document by patient."""
    patients: dict[str, dict[str, Any]] = {}
    first_at: dict[str, str] = {}
    conflicts: dict[str, str] = {}  # pid -> where the different copy is
    for res, where in resources:
        if res.get("resourceType") != "Patient":
            continue
        pid = _rid(res)
        if pid is None:
            yield InputProblem(where, "a Patient resource without an id was skipped")
            continue
        if pid not in patients:
            patients[pid], first_at[pid] = res, where
        elif _digest(patients[pid]) == _digest(res):
            yield InputProblem(where, f"an identical copy of Patient/{pid}; read once")
        else:
            conflicts.setdefault(pid, where)
    aliases = {alias: pid for pid in patients for alias in (f"Patient/{pid}", f"urn:uuid:{pid}")}
    groups: dict[str, list[dict[str, Any]]] = {}
    orphans: dict[str, int] = {}
    for res, _where in resources:
        if res.get("resourceType") == "Patient" or res.get("resourceType") in SHARED_TYPES:
            continue
        ref = _patient_ref(res)
        pid = aliases.get(ref or "")
        if pid is None:
            orphans[ref or "no subject"] = orphans.get(ref or "no subject", 0) + 1
            continue
        groups.setdefault(pid, []).append(res)
    for ref, n in sorted(orphans.items()):
        yield InputProblem(source, f"{n} resource(s) refer to {ref}, which is not a Patient in the input")
    shared = [res for res, _ in resources if res.get("resourceType") in ("Medication", "Substance")]
    for pid in sorted(patients):
        if pid in conflicts:
            yield InputProblem(f"Patient/{pid}", f"Patient/{pid} appears at {first_at[pid]} and again at "
                                                 f"{conflicts[pid]} with different content; it was not screened: "
                                                 "keep one version")
            continue
        payload = json.dumps([patients[pid], *shared, *groups.get(pid, [])], separators=(",", ":"))
        yield Unit(f"Patient/{pid}", source, "fhir", payload)


def _too_big(path: Path) -> InputProblem | None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return InputProblem(str(path), f"cannot read the file ({exc.strerror or exc})")
    if size > MAX_DOCUMENT_BYTES:
        return InputProblem(str(path), f"the file is {size / 2**20:.0f} MB; a single JSON or RDF document is read "
                                       f"whole and may be at most {MAX_DOCUMENT_BYTES // 2**20} MB: export the "
                                       "population as FHIR Bulk Data NDJSON, which eligo streams")
    return None


def _json_file(path: Path) -> Iterator[Unit | InputProblem]:
    big = _too_big(path)
    if big is not None:
        yield big
        return
    try:
        text = read_text(path)
        doc = json.loads(text)
        if invalid_unicode_at(doc) is not None:
            yield InputProblem(str(path), "a string is not valid Unicode (an escaped lone surrogate)")
            return
        located = list(resources_from_document(doc, str(path)))
    except json.JSONDecodeError as exc:
        yield InputProblem(str(path), f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        return
    except (RecursionError, ValueError) as exc:
        yield InputProblem(str(path), f"unreadable JSON ({type(exc).__name__})")
        return
    except EligoError as exc:
        yield InputProblem(str(path), exc.message)
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


def discover(inputs: list[Path], *, on_count: Callable[[int], None] | None = None) -> Iterator[Unit | InputProblem]:
    """Every patient (and every unattributable problem) in the inputs, in a stable order, lazily.

    ``on_count`` is told how many patients an NDJSON export holds as soon as it is indexed, before its
    first unit (for progress reports)."""
    for path in inputs:
        if path.is_dir():
            if any(path.glob("*.ndjson")):
                yield from _ndjson(sorted(path.glob("*.ndjson")), str(path), on_count)
            files = sorted(f for f in path.iterdir() if f.suffix.lower() in {".json", *RDF_FORMATS})
            for f in files:
                yield from (_json_file(f) if f.suffix.lower() == ".json" else _rdf_file(f))
        elif path.suffix.lower() == ".ndjson":
            yield from _ndjson([path], str(path), on_count)
        elif path.suffix.lower() == ".json":
            yield from _json_file(path)
        elif path.is_file():
            yield from _rdf_file(path)
        else:
            yield InputProblem(str(path), "no such file or folder")


def unit_input(unit: Unit) -> PatientInput:
    """One discovered patient in the eligo model: the mapping `eligo screen` and `eligo load` share."""
    if unit.kind == "fhir":
        resources = json.loads(unit.payload)
        located = [Located(r, f"{unit.source} ({r.get('resourceType')}/{r.get('id')})") for r in resources]
        m = map_patient(located, source=unit.source)
        return PatientInput(m.graph, unit.source, tuple(m.warnings))
    return PatientInput(Graph().parse(data=unit.payload, format="nt"), unit.source, ())
