"""Run compiled shapes (:mod:`eligo.engine.shape_compiler`) over a pyoxigraph store, set-at-a-time."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from eligo.engine.shape_compiler import CompiledShapes
from eligo.engine.validate import Violation

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term: object) -> Node:
    """A pyoxigraph term as an rdflib term (blank node ids kept)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:
            return Literal(term.value)  # RDF 1.1: "a" and "a"^^xsd:string are one term; rdflib parses "a" plainly
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"not an RDF term: {term!r}")


def quads(graph: Graph) -> Iterable[ox.Quad]:
    """An rdflib graph as pyoxigraph quads of the default graph, through N-Triples (blank node ids kept)."""
    data = graph.serialize(format="nt", encoding="utf-8")
    return ox.parse(data, format=ox.RdfFormat.N_TRIPLES)


def load(graphs: Iterable[Graph], store: ox.Store | None = None) -> ox.Store:
    """A store holding every graph (blank node ids kept: graphs must not share ids by accident)."""
    store = store if store is not None else ox.Store()
    for g in graphs:
        store.extend(quads(g))
    return store


def evaluate(compiled: CompiledShapes, store: ox.Store) -> list[Violation]:
    """Every violation of every focus node in ``store``, one query per targeted shape."""
    out: list[Violation] = []
    for q in compiled.queries:
        result = store.query(q.text)
        assert isinstance(result, ox.QuerySolutions)
        for row in result:
            k, focus, value = row["k"], row["this"], row["value"]
            assert isinstance(k, ox.Literal) and focus is not None
            check = q.checks[int(k.value)]
            out.append(Violation(
                focus=to_rdflib(focus),
                source_shape=check.source_shape,
                value=to_rdflib(value) if value is not None else None,
                path=check.path,
                message=check.message or "",
            ))
    return out


__all__ = ["evaluate", "load", "quads", "to_rdflib"]
