"""A small in-memory set of RDF triples with the part of rdflib's ``Graph`` interface eligo uses.

The batch engine maps, derives and translates thousands of patients per second; an rdflib ``Graph``
per patient (a store with three indexes, events, namespace management) costs more than the work itself.
:class:`Triples` keeps two plain dict indexes and offers the same calls with the same meaning (``add``,
``remove``, ``value``, ``objects``, ``subjects``, ``subject_objects``, ``in``, iteration), so the mapping, the
generic derivation and the translation run unchanged on either: ``GraphLike`` is what they accept.
Terms are rdflib terms, so the two engines compare equal term for term.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeAlias

from rdflib import Graph
from rdflib.term import Node

Triple = tuple[Node, Node, Node]


class Triples:
    """A set of triples indexed by subject and by predicate; insertion order is kept."""

    __slots__ = ("_pos", "_spo")

    def __init__(self, triples: Iterable[Triple] = ()) -> None:
        self._spo: dict[Node, dict[Node, dict[Node, None]]] = {}
        self._pos: dict[Node, dict[Node, dict[Node, None]]] = {}
        for t in triples:
            self.add(t)

    def add(self, triple: Triple) -> Triples:
        s, p, o = triple
        po = self._spo.get(s)
        if po is None:
            po = self._spo[s] = {}
        objs = po.get(p)
        if objs is None:
            objs = po[p] = {}
        elif o in objs:
            return self
        objs[o] = None
        os_ = self._pos.get(p)
        if os_ is None:
            os_ = self._pos[p] = {}
        subs = os_.get(o)
        if subs is None:
            os_[o] = {s: None}
        else:
            subs[s] = None
        return self

    def __iadd__(self, triples: Iterable[Triple]) -> Triples:
        for t in triples:
            self.add(t)
        return self

    def _discard(self, s: Node, p: Node, o: Node) -> None:
        po = self._spo.get(s)
        if po is None or o not in po.get(p, ()):
            return
        del po[p][o]
        if not po[p]:
            del po[p]
        if not po:
            del self._spo[s]
        os_ = self._pos[p]
        del os_[o][s]
        if not os_[o]:
            del os_[o]
        if not os_:
            del self._pos[p]

    def remove(self, triple: tuple[Node | None, Node | None, Node | None]) -> Triples:
        """Remove every triple matching the pattern (``None`` matches anything), as rdflib does."""
        for t in list(self.triples(triple)):
            self._discard(*t)
        return self

    def triples(self, pattern: tuple[Node | None, Node | None, Node | None]) -> Iterator[Triple]:
        s, p, o = pattern
        if s is not None:
            po = self._spo.get(s, {})
            for pp in ([p] if p is not None else list(po)):
                for oo in list(po.get(pp, ())):
                    if o is None or oo == o:
                        yield s, pp, oo
        elif p is not None:
            os_ = self._pos.get(p, {})
            for oo in ([o] if o is not None else list(os_)):
                for ss in list(os_.get(oo, ())):
                    yield ss, p, oo
        else:
            for ss, po in list(self._spo.items()):
                for pp, objs in list(po.items()):
                    for oo in list(objs):
                        if o is None or oo == o:
                            yield ss, pp, oo

    def value(self, subject: Node | None = None, predicate: Node | None = None, object: Node | None = None,
              default: Node | None = None, any: bool = True) -> Node | None:
        """The first object of (subject, predicate), or the first subject of (predicate, object)."""
        if subject is not None:
            for _s, _p, o in self.triples((subject, predicate, None)):
                return o
        else:
            for s, _p, _o in self.triples((None, predicate, object)):
                return s
        return default

    def objects(self, subject: Node | None = None, predicate: Node | None = None,
                unique: bool = False) -> Iterator[Node]:
        for _s, _p, o in self.triples((subject, predicate, None)):
            yield o

    def subjects(self, predicate: Node | None = None, object: Node | None = None,
                 unique: bool = False) -> Iterator[Node]:
        for s, _p, _o in self.triples((None, predicate, object)):
            yield s

    def subject_objects(self, predicate: Node | None = None, unique: bool = False) -> Iterator[tuple[Node, Node]]:
        for s, _p, o in self.triples((None, predicate, None)):
            yield s, o

    def grouped(self) -> Iterator[tuple[Node, Node, Iterable[Node]]]:
        """Every (subject, predicate, objects) group: the triples without repeating subjects and predicates."""
        for s, po in self._spo.items():
            for p, objs in po.items():
                yield s, p, objs

    def subject_nodes(self) -> Iterator[Node]:
        """Every node that is the subject of a triple."""
        return iter(list(self._spo))

    def __contains__(self, triple: object) -> bool:
        if not isinstance(triple, tuple) or len(triple) != 3:
            return False
        s, p, o = triple
        return o in self._spo.get(s, {}).get(p, {})

    def __iter__(self) -> Iterator[Triple]:
        return self.triples((None, None, None))

    def __len__(self) -> int:
        return sum(len(objs) for po in self._spo.values() for objs in po.values())




#: What eligo's mapping, generic derivation and translation accept: either kind of graph.
GraphLike: TypeAlias = "Graph | Triples"

__all__ = ["GraphLike", "Triple", "Triples"]
