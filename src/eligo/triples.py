"""A small in-memory set of RDF triples with the part of rdflib's ``Graph`` interface eligo uses.

The batch engine maps, derives and translates thousands of patients per second; an rdflib ``Graph``
per patient (a store with three indexes, events, namespace management) costs more than the work itself.
:class:`Triples` keeps two plain dict indexes and offers the same calls with the same meaning (``add``,
``remove``, ``value``, ``objects``, ``subjects``, ``subject_objects``, ``in``, iteration), so the mapping, the
generic derivation and the translation run unchanged on either: ``GraphLike`` is what they accept.
Terms are rdflib terms, so the two engines compare equal term for term.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TypeAlias

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDFS
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
        # the object is hashed twice, not four times: an rdflib Literal's hash is computed in Python
        s, p, o = triple
        po = self._spo.get(s)
        if po is None:
            po = self._spo[s] = {}
        objs = po.get(p)
        if objs is None:
            objs = po[p] = {}
        n = len(objs)
        objs[o] = None
        if len(objs) == n:
            return self  # already held
        os_ = self._pos.get(p)
        if os_ is None:
            os_ = self._pos[p] = {}
        os_.setdefault(o, {})[s] = None
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
        """The first object of (subject, predicate), or the first subject of (predicate, object); as in
        rdflib, None unless two of the three are given."""
        if (subject is None) + (predicate is None) + (object is None) > 1:
            return None
        if subject is not None and predicate is not None:  # the common case, straight from the index
            objs = self._spo.get(subject, {}).get(predicate)
            return next(iter(objs)) if objs else default
        if subject is None and predicate is not None and object is not None:
            subs = self._pos.get(predicate, {}).get(object)
            return next(iter(subs)) if subs else default
        if subject is not None:
            for _s, _p, o in self.triples((subject, predicate, None)):
                return o
        else:
            for s, _p, _o in self.triples((None, predicate, object)):
                return s
        return default

    def objects(self, subject: Node | None = None, predicate: Node | None = None,
                unique: bool = False) -> Iterator[Node]:
        if subject is not None and predicate is not None:
            return iter(list(self._spo.get(subject, {}).get(predicate, ())))
        return (o for _s, _p, o in self.triples((subject, predicate, None)))

    def subjects(self, predicate: Node | None = None, object: Node | None = None,
                 unique: bool = False) -> Iterator[Node]:
        if predicate is not None and object is not None:
            return iter(list(self._pos.get(predicate, {}).get(object, ())))
        return (s for s, _p, _o in self.triples((None, predicate, object)))

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



_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_SUBCLASS_OF = str(RDFS.subClassOf)
_BNODE_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?<!\.)")
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
#: Terms a :class:`NTriplesWriter` keeps written: the repeated ones (predicates, codes, dates, windows)
#: come first; terms that never repeat must not grow the cache without bound.
MAX_CACHED_TERMS = 200_000


class NTriplesWriter:
    """Triples as N-Triples (or N-Quads) text, for a store to parse in one call (Oxigraph's ``load`` and
    ``bulk_load``; ``ox.parse`` keeps blank node labels, ``Store.load`` renames them): much cheaper than
    building a store term per triple in Python. Written terms are cached (a batch repeats its predicates,
    codes, dates and windows endlessly). A term that cannot be written (an IRI with a space or ``>``, a
    blank node label N-Triples cannot hold) raises ``ValueError``, as building the store's term would: no
    text of a term can end its line early and add a triple of its own."""

    __slots__ = ("_terms",)

    def __init__(self) -> None:
        self._terms: dict[Node, str] = {}

    def term(self, t: Node) -> str:
        text = self._terms.get(t)
        if text is not None:
            return text
        if isinstance(t, URIRef):
            text = f"<{_iri(t)}>"
        elif isinstance(t, Literal):
            lexical = str(t).translate(_ESCAPES)
            if t.language:  # rdflib has checked the tag
                text = f'"{lexical}"@{t.language}'
            elif t.datatype is None or str(t.datatype) == _XSD_STRING:
                text = f'"{lexical}"'
            else:
                text = f'"{lexical}"^^<{_iri(t.datatype)}>'
        elif isinstance(t, BNode):
            if not _BNODE_LABEL.fullmatch(t):  # kept as it is: the store's node is the graph's node
                raise ValueError(f"not a valid blank node label: {t!r}")
            text = f"_:{t}"
        else:
            raise TypeError(f"not an RDF term: {t!r}")
        if len(self._terms) < MAX_CACHED_TERMS:
            self._terms[t] = text
        return text

    def lines(self, triples: Triples, graph: URIRef | None = None, *,
              hierarchy_written: dict[Node, set[Node]] | None = None) -> list[str]:
        """One line per triple (in ``graph`` as N-Quads when given), each ending in a newline.

        With ``hierarchy_written`` (subject -> objects), an ``rdfs:subClassOf`` triple already there is left
        out, and the others are added to it: one store holds many patients, and each patient's graph repeats
        the code hierarchy of the codes it has (an eighth of its triples)."""
        term, cached = self.term, self._terms.get  # a term's text is never empty: `or` falls to writing it
        end = f" {term(graph)} .\n" if graph is not None else " .\n"
        out: list[str] = []
        append = out.append
        for s, p, objs in triples.grouped():  # each subject and predicate written once per group
            # (compared as text: rdflib's == runs in Python)
            if hierarchy_written is not None and isinstance(p, URIRef) and str.__eq__(p, _SUBCLASS_OF):
                done = hierarchy_written.setdefault(s, set())
                objs = [o for o in objs if o not in done]
                done.update(objs)
                if not objs:
                    continue
            head = f"{cached(s) or term(s)} {cached(p) or term(p)} "
            for o in objs:
                append(head + (cached(o) or term(o)) + end)
        return out


def _iri(value: str) -> str:
    if _NOT_IN_IRI.search(value) or ":" not in value:
        raise ValueError(f"not a valid absolute IRI: <{value}>")
    return value


#: What eligo's mapping, generic derivation and translation accept: either kind of graph.
GraphLike: TypeAlias = "Graph | Triples"

__all__ = ["GraphLike", "NTriplesWriter", "Triple", "Triples"]
