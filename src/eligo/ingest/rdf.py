"""Read patient files in the eligo RDF model (Turtle, N-Triples, JSON-LD, RDF/XML)."""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import Graph

from eligo.errors import InputError

RDF_FORMATS = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".jsonld": "json-ld",
    ".rdf": "xml",
    ".owl": "xml",
    ".n3": "n3",
}


def read_rdf(path: Path, *, fmt: str | None = None) -> Graph:
    """Parse an RDF patient file; errors name the file and, where known, the line."""
    if not path.is_file():
        raise InputError("no such file", source=str(path))
    data = path.read_bytes()
    if not data.strip():
        raise InputError("the file is empty", source=str(path))
    fmt = fmt or RDF_FORMATS.get(path.suffix.lower())
    if fmt is None and path.suffix.lower() == ".json":
        fmt = _json_kind(path, data)
    if fmt is None:
        raise InputError(
            f"unknown file type {path.suffix!r}; use .ttl, .nt, .jsonld or .rdf", source=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}): RDF files must be UTF-8",
                         source=str(path)) from exc
    g = Graph()
    try:
        g.parse(data=text, format=fmt, publicID=path.resolve().as_uri())
    except Exception as exc:  # rdflib raises many parser-specific types
        raise InputError(f"malformed {fmt}: {_one_line(exc)}", source=str(path)) from exc
    return g


def _json_kind(path: Path, data: bytes) -> str:
    try:
        json.loads(data)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                         source=str(path)) from exc
    return "json-ld"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")
