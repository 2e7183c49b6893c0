"""Reading FHIR R4 JSON: Bundles, single resources and Bulk Data NDJSON.

This module only finds resources and reports where each came from; the
mapping to the eligo model is :mod:`eligo.ingest.fhir_map`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eligo.errors import InputError
from eligo.ingest.files import read_nonempty_bytes

BUNDLE_TYPES = frozenset({"collection", "transaction", "searchset", "document", "batch",
                          "transaction-response", "batch-response", "history", "message"})


@dataclass(frozen=True, slots=True)
class Located:
    """A FHIR resource and where it was read (for error messages)."""

    resource: dict[str, Any]
    where: str  # "FILE entry 3" or "FILE line 12"
    full_url: str | None = None


_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")  # an escaped or a raw surrogate


def invalid_unicode_at(doc: Any, *, text: str | None = None) -> str | None:
    """Where a JSON document holds a string that is not valid Unicode (an escaped lone surrogate such
    as ``"\\ud800"``, which JSON syntax allows but UTF-8 cannot carry), as a path; else None.

    ``text`` is the JSON text ``doc`` was parsed from, when the caller has it: a Python string holds a
    surrogate only if the text holds one or escapes one (``\\uD800`` to ``\\uDFFF``), so text without
    either needs no walk (the common case, and the walk is a tenth of the cost of reading an export)."""
    if text is not None and _SURROGATE.search(text) is None:
        return None
    stack: list[tuple[str, Any]] = [("$", doc)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return path
        elif isinstance(node, dict):
            for k, v in node.items():
                stack.append((f"{path}.{k!s}", k))
                stack.append((f"{path}.{k!s}", v))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(node))
    return None


def _load_json(text: str, source: str) -> Any:
    doc = _parse_json(text, source)
    bad = invalid_unicode_at(doc, text=text)
    if bad is not None:
        raise InputError(f"the string at {bad.encode('utf-8', 'backslashreplace').decode()} is not valid Unicode "
                         "(an escaped lone surrogate); FHIR JSON must be valid UTF-8 text", source=source)
    return doc


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                         source=source) from exc
    except RecursionError as exc:
        raise InputError("the JSON is nested too deeply to be FHIR", source=source) from exc
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise InputError(f"unreadable JSON: {exc}", source=source) from exc


def read_text(path: Path) -> str:
    data = read_nonempty_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}, line {_line_of(data, exc.start)}); "
                         "FHIR JSON must be UTF-8", source=str(path)) from exc


def load_json_file(path: Path) -> Any:
    """The JSON document in a file; errors name the file and the position."""
    return _load_json(read_text(path), str(path))


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
    if not isinstance(btype, str) or btype not in BUNDLE_TYPES:
        shown = repr(btype) if len(repr(btype)) <= 60 else repr(btype)[:57] + "..."
        raise InputError(f"Bundle.type {shown} is not a FHIR bundle type", source=source)
    entries = doc.get("entry", [])
    if not isinstance(entries, list):
        raise InputError("Bundle.entry is not a list", source=source)
    for i, entry in enumerate(entries):
        where = f"{source} entry {i}"
        # An entry eligo cannot read at all could be any record, an exclusion among them: rather than
        # screen the patient without it, the whole file is refused with the entry named.
        if not isinstance(entry, dict):
            raise InputError(f"entry {i} is not an object; fix or remove it (eligo does not screen a patient "
                             "whose record it cannot fully read)", source=source)
        res = entry.get("resource")
        if res is None:
            continue  # a request-only entry (e.g. DELETE in a transaction)
        if not is_fhir(res):
            raise InputError(f"entry {i}: the resource has no resourceType; fix or remove it (eligo does not "
                             "screen a patient whose record it cannot fully read)", source=source)
        full_url = entry.get("fullUrl")
        if res["resourceType"] == "Bundle":
            yield from resources_from_document(res, where)
        else:
            yield Located(res, where, full_url if isinstance(full_url, str) and full_url else None)


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
        except (RecursionError, ValueError) as exc:
            raise InputError(f"line {n}: unreadable JSON ({type(exc).__name__})", source=source) from exc
        if invalid_unicode_at(doc, text=line) is not None:
            raise InputError(f"line {n}: a string is not valid Unicode (an escaped lone surrogate)", source=source)
        yield from resources_from_document(doc, f"{source} line {n}")


def looks_like_fhir_json(path: Path) -> bool:
    """True for a .json file whose top-level object has a resourceType."""
    if path.suffix.lower() == ".ndjson":
        return True
    if path.suffix.lower() != ".json":
        return False
    doc = _load_json(read_text(path), str(path))
    return is_fhir(doc)


def _line_of(data: bytes, offset: int) -> int:
    """The 1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1
