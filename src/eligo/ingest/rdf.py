"""Read patient files in the eligo RDF model (Turtle, N-Triples, JSON-LD, RDF/XML)."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections import defaultdict
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from eligo.errors import InputError
from eligo.ingest.files import read_nonempty_bytes
from eligo.triples import GraphLike, Triples

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
    data = read_nonempty_bytes(path)
    fmt = fmt or RDF_FORMATS.get(path.suffix.lower())
    if fmt is None and path.suffix.lower() == ".json":
        fmt = _json_kind(path, data)
    if fmt is None:
        raise InputError(
            f"unknown file type {path.suffix!r}; use .ttl, .nt, .jsonld or .rdf", source=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}, line {_line_of(data, exc.start)}): RDF files "
                         "must be UTF-8", source=str(path)) from exc
    if fmt == "json-ld":
        _check_json_ld(path, text)
    g = Graph()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            g.parse(data=text, format=fmt, publicID=path.resolve().as_uri())
        except Exception as exc:  # rdflib raises many parser-specific types
            where, detail = _parse_problem(fmt, exc, text)
            raise InputError(f"malformed {fmt}{where}: {detail}", source=str(path)) from exc
    for w in caught:
        # rdflib reads an xsd:boolean that is not true/false/1/0 as false, and rewrites it so: a "yes" would
        # become a favourable "no" (not symptomatic, not irradiated). Refuse the file instead, naming the value.
        m = _WEIRD_BOOLEAN.search(str(w.message))
        if m:
            raise InputError(f"{m.group(1)!r} is not an xsd:boolean (true, false, 1 or 0)"
                             f"{_line_with(text, m.group(1))}; correct it", source=str(path))
    return g


#: Where eligo mints Skolem IRIs (RDF 1.1 Concepts, section 3.5: ``/.well-known/genid/``).
GENID_BASE = "https://eligo.dev/.well-known/genid/"


def skolemise(graph: Graph, base: str) -> Graph:
    """``graph`` with every blank node replaced by a Skolem IRI ``{base}{label}`` (the graph itself when it has
    none).

    Stores refuse blank nodes in ``INSERT DATA`` (Virtuoso) or give each request fresh ones, so eligo writes
    IRIs instead, the same on every backend and route. ``base`` scopes them (a patient's, a trial's), and the
    labels come from the graph's content, not from the parser's random blank-node ids: each blank node is
    coloured by its own triples and its neighbours' colours until the colouring is stable (colour refinement),
    so loading the same file twice, or through another route, gives the same IRIs. Blank nodes no
    refinement can tell apart (identical structures) are numbered in turn; they are interchangeable.
    """
    iri = skolem_iris(graph, base)
    if not iri:
        return graph
    skolem = Graph()
    for s, p, o in graph:
        skolem.add((iri.get(s, s), p, iri.get(o, o)))
    return skolem


def skolemise_triples(triples: Triples, base: str) -> Triples:
    """:func:`skolemise` for a :class:`~eligo.triples.Triples` set (the same IRIs for the same triples)."""
    iri = skolem_iris(triples, base)
    if not iri:
        return triples
    return Triples((iri.get(s, s), p, iri.get(o, o)) for s, p, o in triples)


def skolem_iris(graph: GraphLike, base: str) -> dict[Node, URIRef]:
    """The Skolem IRI of every blank node of ``graph`` (see :func:`skolemise`); empty when there is none."""
    nodes = {t for triple in graph for t in (triple[0], triple[2]) if isinstance(t, BNode)}
    if not nodes:
        return {}
    out_edges: dict[BNode, list[tuple[str, object]]] = defaultdict(list)
    in_edges: dict[BNode, list[tuple[object, str]]] = defaultdict(list)
    for s, p, o in graph:
        if isinstance(s, BNode):
            out_edges[s].append((p.n3(), o))
        if isinstance(o, BNode):
            in_edges[o].append((s, p.n3()))
    colour: dict[BNode, str] = dict.fromkeys(nodes, "")

    def name(term: object) -> str:
        return "_:" + colour[term] if isinstance(term, BNode) else term.n3()  # type: ignore[attr-defined]

    classes = 1
    for _ in range(len(nodes)):
        refined = {}
        for b in nodes:
            lines = sorted(f"> {p} {name(o)}" for p, o in out_edges[b])
            lines += sorted(f"< {name(s)} {p}" for s, p in in_edges[b])
            refined[b] = hashlib.sha256(("\n".join([colour[b], *lines])).encode("utf-8")).hexdigest()[:32]
        colour = refined
        now = len(set(refined.values()))
        if now == classes:
            break
        classes = now
    seen: dict[str, int] = defaultdict(int)
    iri: dict[Node, URIRef] = {}
    for b in sorted(nodes, key=lambda n: (colour[n], str(n))):
        k = seen[colour[b]]
        seen[colour[b]] += 1
        iri[b] = URIRef(f"{base}{colour[b]}" + (f"-{k}" if k else ""))
    return iri


_WEIRD_BOOLEAN = re.compile(r"weird boolean, '(.*)' does not map")


def _line_with(text: str, lexical: str) -> str:
    for number, line in enumerate(text.splitlines(), start=1):
        if f'"{lexical}"' in line:
            return f" at line {number}"
    return ""


_TURTLE_LINE = re.compile(r"at line (\d+) of <[^>]*>:\s*(.*?)(?: at \^ in:.*)?$", re.S)
_XML_POSITION = re.compile(r"^<unknown>:(\d+):(\d+):\s*(.*)$")


def _parse_problem(fmt: str, exc: BaseException, text: str) -> tuple[str, str]:
    """Where the file is malformed (" at line N[, column C]", or "" when the parser does not say) and what
    is wrong, on one line."""
    message = " ".join(str(exc).split())
    if fmt in ("turtle", "n3") and (m := _TURTLE_LINE.search(message)):
        line = int(m.group(1))
        return f" at line {line}", f"{m.group(2)}{_quote_line(text, line)}"
    if fmt == "xml" and (m := _XML_POSITION.match(message)):
        return f" at line {m.group(1)}, column {m.group(2)}", m.group(3)
    if fmt == "nt":
        for number, row in enumerate(text.splitlines(), start=1):
            try:
                Graph().parse(data=row + "\n", format="nt")
            except Exception:  # the first line that does not parse on its own
                return f" at line {number}", f"{_one_line(exc)}{_quote_line(text, number)}"
    return "", _one_line(exc)


def _quote_line(text: str, number: int) -> str:
    lines = text.splitlines()
    if not 1 <= number <= len(lines) or not lines[number - 1].strip():
        return ""
    line = lines[number - 1].strip()
    return f" (line {number}: {line[:80]}{'...' if len(line) > 80 else ''})"


def _check_json_ld(path: Path, text: str) -> None:
    """JSON syntax with its position, and no remote context: eligo never fetches from the network."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed json-ld at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                         source=str(path)) from exc
    except (RecursionError, ValueError) as exc:
        raise InputError(f"unreadable JSON-LD ({type(exc).__name__})", source=str(path)) from exc
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("@context", "@import") and _names_remote(value):
                    raise InputError("the JSON-LD refers to a remote @context; eligo does not fetch from the network: "
                                     "put the context inline", source=str(path))
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _names_remote(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and any(isinstance(v, str) for v in value)


def _json_kind(path: Path, data: bytes) -> str:
    try:
        json.loads(data)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                         source=str(path)) from exc
    except (RecursionError, ValueError) as exc:
        raise InputError(f"unreadable JSON ({type(exc).__name__})", source=str(path)) from exc
    return "json-ld"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _line_of(data: bytes, offset: int) -> int:
    """The 1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1
