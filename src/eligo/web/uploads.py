"""An uploaded or pasted patient document, read exactly as `eligo check` reads a file.

The bytes are written to a private temporary folder under a safe name and read with
:func:`eligo.ingest.read_patient`, so the graph, the warnings and the one-line error messages are those of
the CLI; the temporary folder's path is then taken out of every message, which names the upload instead.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eligo.errors import EligoError
from eligo.ingest import MAX_DOCUMENT_BYTES, PatientInput, read_patient
from eligo.notices import DataWarning
from eligo.web.state import WebError

#: File types `eligo check` reads.
SUFFIXES = (".json", ".ndjson", ".ttl", ".turtle", ".nt", ".jsonld", ".rdf", ".owl", ".n3")
CONTENT_TYPES = {
    "application/fhir+json": ".json", "application/json": ".json", "text/turtle": ".ttl",
    "application/x-turtle": ".ttl", "application/n-triples": ".nt", "application/ld+json": ".jsonld",
    "application/rdf+xml": ".rdf", "application/x-ndjson": ".ndjson", "application/fhir+ndjson": ".ndjson",
}


@dataclass(frozen=True, slots=True)
class Upload:
    """One patient read from an upload."""

    name: str
    patient: PatientInput
    #: Patient.name as written in a FHIR upload (for the page header only; eligo's model has no name)
    display_name: str | None


def safe_name(filename: str | None) -> str | None:
    """The upload's base name with only letters, digits, dot, dash and underscore (None if nothing is left)."""
    if not filename:
        return None
    base = re.sub(r"[^A-Za-z0-9._-]", "_", filename.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return base[:100] or None


def sniff_suffix(data: bytes, content_type: str | None) -> str:
    """The file type of a body without a usable name: its media type, else its first character."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in CONTENT_TYPES:
        return CONTENT_TYPES[media]
    head = data.lstrip()[:64]
    if head.startswith((b"{", b"[")):
        return ".json"
    if head.startswith((b"<?xml", b"<rdf")):
        return ".rdf"
    return ".ttl"


def read_upload(data: bytes, *, filename: str | None, content_type: str | None, default_stem: str) -> Upload:
    """Read one patient from uploaded bytes. Bad input raises the CLI's EligoError, its message naming the
    upload; a file over 64 MB a WebError (413)."""
    name = safe_name(filename)
    if name is None or Path(name).suffix.lower() not in SUFFIXES:
        name = (Path(name).stem if name else default_stem) + sniff_suffix(data, content_type)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise WebError(413, f"{name}: the file is {len(data) / 2**20:.0f} MB; a patient file is read whole and may "
                            f"be at most {MAX_DOCUMENT_BYTES // 2**20} MB. A file this large is a population: screen "
                            "it with `eligo screen` (which streams FHIR Bulk Data NDJSON), or split it")
    with tempfile.TemporaryDirectory(prefix="eligo-web-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        prefix = f"{tmp}/"
        try:
            read = read_patient(path)
        except EligoError as exc:
            raise type(exc)(exc.message.replace(prefix, ""), source=name) from None
        except RecursionError:
            raise WebError(400, f"{name}: the document is nested too deeply to read") from None
    warnings = tuple(_scrub(w, prefix) for w in read.warnings)
    return Upload(name, PatientInput(read.graph, name, warnings), _fhir_name(data) if name.endswith(".json") else None)


def _scrub(warning: DataWarning, prefix: str) -> DataWarning:
    """The warning without the temporary folder in its text or record."""
    record = warning.record.replace(prefix, "") if warning.record is not None else None
    return dataclasses.replace(warning, text=warning.text.replace(prefix, ""), record=record)


def _fhir_name(data: bytes) -> str | None:
    """Patient.name[0] of a FHIR resource or Bundle (text, else given and family), if there is one."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    resources: list[Any] = [doc]
    if isinstance(doc, dict) and isinstance(doc.get("entry"), list):
        resources = [e.get("resource") for e in doc["entry"] if isinstance(e, dict)]
    for res in resources:
        if isinstance(res, dict) and res.get("resourceType") == "Patient" and isinstance(res.get("name"), list):
            for n in res["name"]:
                if not isinstance(n, dict):
                    continue
                if isinstance(n.get("text"), str) and n["text"].strip():
                    return n["text"].strip()[:200]
                parts = [p for p in [*(n.get("given") or []), n.get("family")] if isinstance(p, str)]
                if parts:
                    return " ".join(parts)[:200]
    return None
