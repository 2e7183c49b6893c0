"""FHIR Bulk Data NDJSON exports, read in two passes so memory stays bounded by the largest patient.

The first pass parses each line once, keeps only where it is (file, byte offset, length) under the
patient it refers to, and discards it; the second pass reads one patient's lines at a time, with the
Medications and Substances they refer to.

Safety: a line that cannot be read but names a patient (``"reference": "Patient/x"``) makes that
patient's record incomplete, so that patient is not screened; an input problem says why. A whole NDJSON
file that cannot be read stops the screening of every patient of that export, for the same reason. A
line that names no patient is reported as an input problem of its own.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from eligo.ingest.batch_items import InputProblem, Unit, UnitKind
from eligo.ingest.fhir_identity import (
    REFERENCED_TYPES,
    SHARED_TYPES,
    PatientCopies,
    patient_aliases,
    resource_id,
    subject_reference,
)
from eligo.ingest.fhir_json import invalid_unicode_at
from eligo.notices import WarningKind

MAX_LINE_BYTES = 16 * 1024 * 1024
#: Input problems reported one by one per file; the rest are counted in one summary problem.
MAX_PROBLEMS_PER_FILE = 100

_PATIENT_REF = re.compile(rb'"reference"\s*:\s*"((?:Patient/|urn:uuid:)[^"\\]{1,200})"')


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
    copies: PatientCopies = field(default_factory=PatientCopies)
    records: dict[str, array[int]] = field(default_factory=dict)  # reference as written -> flat (file, offset, length)
    medications: dict[str, _Where] = field(default_factory=dict)  # "Medication/id" -> its line
    tainted: dict[str, str] = field(default_factory=dict)  # reference -> the unreadable line that names it
    unreadable_file: str | None = None  # "FILE (reason)": a whole file could not be read, nobody is screened

    def where(self, w: _Where) -> str:
        return f"{self.files[w.file]} line {w.line}"


class _ProblemLog:
    """Input problems of one file, the first MAX_PROBLEMS_PER_FILE one by one, the rest counted."""

    def __init__(self, path: Path) -> None:
        self.path, self.more = path, 0
        self.items: list[InputProblem] = []

    def add(self, problem: InputProblem) -> None:
        if len(self.items) < MAX_PROBLEMS_PER_FILE:
            self.items.append(problem)
        else:
            self.more += 1

    def flush(self) -> list[InputProblem]:
        out = list(self.items)
        if self.more:
            out.append(InputProblem(str(self.path), f"{self.more} more problem line(s) like the ones above were "
                                                   "skipped", kind=WarningKind.FILE_NOT_READ))
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
                problems.append(InputProblem(str(path), "the file is empty", kind=WarningKind.FILE_NOT_READ))
                continue
            with path.open("rb") as fh:
                for number, offset, line, complete in _lines(fh):
                    _index_line(index, log, fi, number, offset, line, complete)
        except OSError as exc:
            index.unreadable_file = f"{path} ({exc.strerror or exc})"
            problems.append(InputProblem(str(path), f"the file could not be read ({exc.strerror or exc}); no "
                                                    "patient of this export is screened, since any may have "
                                                    "records in it", kind=WarningKind.PATIENT_NOT_SCREENED))
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
        log.add(InputProblem(where, f"the line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB; skipped",
                             kind=WarningKind.MALFORMED_LINE))
        _taint(index, line, where)
        return
    if not line.strip():
        return
    try:
        text = line.decode("utf-8-sig" if offset == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        log.add(InputProblem(where, f"not UTF-8 text (byte {exc.start} of the line); line skipped",
                             kind=WarningKind.MALFORMED_LINE))
        _taint(index, line, where)
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        log.add(InputProblem(where, f"malformed JSON at column {exc.colno}: {exc.msg}; line skipped",
                             kind=WarningKind.MALFORMED_LINE))
        _taint(index, line, where)
        return
    except (RecursionError, ValueError) as exc:
        log.add(InputProblem(where, f"unreadable JSON ({type(exc).__name__}); line skipped",
                             kind=WarningKind.MALFORMED_LINE))
        _taint(index, line, where)
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceType"), str):
        log.add(InputProblem(where, "not a FHIR resource (no resourceType); line skipped",
                             kind=WarningKind.MALFORMED_LINE))
        _taint(index, line, where)
        return
    if invalid_unicode_at(doc, text=text) is not None:
        log.add(InputProblem(where, "a string is not valid Unicode (an escaped lone surrogate); line skipped",
                             kind=WarningKind.MALFORMED_LINE))
        _taint(index, line, where)
        return
    w = _Where(fi, offset, len(line), number)
    rtype = doc["resourceType"]
    rid = resource_id(doc)
    if rtype == "Patient":
        if rid is None:
            log.add(InputProblem(where, "a Patient resource without an id was skipped",
                                 kind=WarningKind.MALFORMED_LINE))
            return
        seen = index.copies.add(rid, doc, where)
        if seen == "new":
            index.patients[rid] = w
        elif seen == "identical":
            log.add(InputProblem(where, f"an identical copy of Patient/{rid}; read once",
                                 kind=WarningKind.DUPLICATE_RESOURCES))
        return
    if rtype in REFERENCED_TYPES:
        if rid is not None:
            index.medications.setdefault(f"{rtype}/{rid}", w)
        return
    if rtype in SHARED_TYPES:
        return
    ref = subject_reference(doc) or ""
    index.records.setdefault(ref, array("q")).extend((fi, offset, len(line)))


def _text_at(handles: dict[int, BinaryIO], files: list[Path], fi: int, offset: int, length: int) -> str:
    """The text of one indexed line (checked in pass 1: a JSON object, valid UTF-8 and Unicode)."""
    fh = handles.get(fi)
    if fh is None:
        fh = handles[fi] = files[fi].open("rb")
    fh.seek(offset)
    return fh.read(length).decode("utf-8-sig" if offset == 0 else "utf-8")


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


def _text_refs(text: str) -> set[str]:
    """:func:`_medication_refs` of a line's JSON. A line can hold a ``medicationReference`` or
    ``itemReference`` key only if it holds ``Reference`` or a ``\\u`` escape (a key may be written
    escaped), so the others, most of an export, are not parsed here at all."""
    if "Reference" not in text and "\\u" not in text:
        return set()
    return set(_medication_refs(json.loads(text)))


def _patient_payload(index: _Index, handles: dict[int, BinaryIO], pid: str) -> str:
    """Pass 2 for one patient: its Patient line, its records and the Medications they reference, as a
    JSON list. The lines' texts are joined as they are (pass 1 checked each is a JSON object), not parsed
    and written again: the worker that maps the patient parses them once."""
    w = index.patients[pid]
    patient = _text_at(handles, index.files, w.file, w.offset, w.length)
    spots: list[tuple[int, int, int]] = []
    for alias in patient_aliases(pid):
        flat = index.records.get(alias)
        if flat is not None:
            spots += [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]
    records = [_text_at(handles, index.files, *spot) for spot in sorted(spots)]
    meds: dict[str, str] = {}
    todo = sorted(set().union(*map(_text_refs, records)))
    while todo:  # a Medication's ingredients may refer to further Medications or Substances
        ref = todo.pop()
        mw = index.medications.get(ref)
        if mw is not None and ref not in meds:
            meds[ref] = _text_at(handles, index.files, mw.file, mw.offset, mw.length)
            todo.extend(sorted(_text_refs(meds[ref]) - set(meds)))
    return "[" + ",".join([patient, *meds.values(), *records]) + "]"


def read_ndjson(files: list[Path], source: str,
                on_count: Callable[[int], None] | None) -> Iterator[Unit | InputProblem]:
    """FHIR Bulk Data NDJSON: one resource per line, any number of files, read in two passes."""
    index, problems = _index_ndjson(files)
    if on_count is not None:
        on_count(len(index.patients))
    yield from problems
    aliases = {alias: pid for pid in index.patients for alias in patient_aliases(pid)}
    for ref, locations in sorted(index.records.items()):
        if ref not in aliases:
            yield InputProblem(source, f"{len(locations) // 3} resource(s) refer to {ref or 'no subject'}, which is "
                                       "not a Patient in the input", kind=WarningKind.ORPHAN_RESOURCES)
    handles: dict[int, BinaryIO] = {}
    try:
        for pid in sorted(index.patients):
            key = f"Patient/{pid}"
            bad = next((index.tainted[a] for a in patient_aliases(pid) if a in index.tainted), None)
            if pid in index.copies.conflicts:
                yield InputProblem(key, index.copies.conflict_message(pid), kind=WarningKind.PATIENT_NOT_SCREENED)
            elif index.unreadable_file is not None:
                yield InputProblem(key, f"{key} was not screened: eligo could not read {index.unreadable_file}, "
                                        "which may hold records of this patient", kind=WarningKind.PATIENT_NOT_SCREENED)
            elif bad is not None:
                yield InputProblem(key, f"{key} was not screened: {bad} could not be read and refers to this "
                                        "patient, whose record is therefore incomplete; fix or remove that line",
                                   kind=WarningKind.PATIENT_NOT_SCREENED)
            if pid in index.copies.conflicts or index.unreadable_file is not None or bad is not None:
                continue
            try:
                payload = _patient_payload(index, handles, pid)
            except (OSError, ValueError) as exc:  # the export changed between the two passes
                yield InputProblem(key, f"{key} was not screened: its lines could not be read again "
                                        f"({type(exc).__name__}: {exc}); was the export changed during the run?",
                                   kind=WarningKind.PATIENT_NOT_SCREENED)
                continue
            yield Unit(key, source, UnitKind.FHIR, payload)
    finally:
        for fh in handles.values():
            fh.close()
