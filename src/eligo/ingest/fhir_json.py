"""Reading FHIR R4 JSON: Bundles, single resources and Bulk Data NDJSON.

This module only finds resources and reports where each came from; the
mapping to the eligo model is :mod:`eligo.ingest.fhir_map`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eligo.errors import InputError

BUNDLE_TYPES = frozenset({"collection", "transaction", "searchset", "document", "batch",
                          "transaction-response", "batch-response", "history", "message"})


@dataclass(frozen=True, slots=True)
class Located:
    """A FHIR resource and where it was read (for error messages)."""

    resource: dict[str, Any]
    where: str  # "FILE entry 3" or "FILE line 12"
    full_url: str | None = None


def _load_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                         source=source) from exc


def read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    data = path.read_bytes()
    if not data.strip():
        raise InputError("the file is empty", source=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}); FHIR JSON must be UTF-8",
                         source=str(path)) from exc


def is_fhir(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("resourceType"), str)


def resources_from_document(doc: Any, source: str) -> Iterator[Located]:
    """The resources of a Bundle (recursively) or a single resource."""
    if not is_fhir(doc):
        raise InputError("not a FHIR resource: the JSON object has no resourceType", source=source)
    if doc["resourceType"] != "Bundle":
        yield Located(doc, f"{source}")
        return
    btype = doc.get("type")
    if btype not in BUNDLE_TYPES:
        raise InputError(f"Bundle.type {btype!r} is not a FHIR bundle type", source=source)
    entries = doc.get("entry", [])
    if not isinstance(entries, list):
        raise InputError("Bundle.entry is not a list", source=source)
    for i, entry in enumerate(entries):
        where = f"{source} entry {i}"
        if not isinstance(entry, dict):
            raise InputError(f"entry {i} is not an object", source=source)
        res = entry.get("resource")
        if res is None:
            continue  # a request-only entry (e.g. DELETE in a transaction)
        if not is_fhir(res):
            raise InputError(f"entry {i}: resource has no resourceType", source=source)
        if res["resourceType"] == "Bundle":
            yield from resources_from_document(res, where)
        else:
            yield Located(res, where, entry.get("fullUrl"))


def read_fhir_file(path: Path) -> list[Located]:
    """All resources of a FHIR JSON file (Bundle or resource) or an NDJSON file."""
    text = read_text(path)
    if path.suffix.lower() == ".ndjson":
        return list(read_ndjson_text(text, str(path)))
    return list(resources_from_document(_load_json(text, str(path)), str(path)))


def read_ndjson_text(text: str, source: str) -> Iterator[Located]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {n}: malformed JSON at column {exc.colno}: {exc.msg}",
                             source=source) from exc
        yield from resources_from_document(doc, f"{source} line {n}")


def looks_like_fhir_json(path: Path) -> bool:
    """True for a .json file whose top-level object has a resourceType."""
    if path.suffix.lower() == ".ndjson":
        return True
    if path.suffix.lower() != ".json":
        return False
    doc = _load_json(read_text(path), str(path))
    return is_fhir(doc)
