"""Fixtures made distinct, so that many can share one store (imported by the set-at-a-time tests)."""

from __future__ import annotations

from collections.abc import Callable

from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from eligo.model import PREFIXES


def renamer(i: int) -> Callable[[Node], Node]:
    """A fixture's own IRIs (the ex: namespace) and blank nodes with a suffix: fixtures all name their
    patient ex:p, and must not merge in one store."""
    ex = str(PREFIXES["ex"])

    def r(n: Node) -> Node:
        if isinstance(n, URIRef) and str(n).startswith(ex):
            return URIRef(f"{n}--fx{i}")
        if isinstance(n, BNode):
            return BNode(f"{n}fx{i}")
        return n

    return r


def renamed(g: Graph, r: Callable[[Node], Node]) -> Graph:
    """``g`` with every node passed through ``r``."""
    out = Graph()
    for s, p, o in g:
        out.add((r(s), p, r(o)))
    return out
