"""``eligo.triples``: the plain triple set answers as rdflib's Graph does, and its N-Triples text loads into
Oxigraph as exactly the triples the store's own terms would give (the batch engine's load path)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import Node

from eligo.engine.batch_store import TermConverter
from eligo.triples import NTriplesWriter, Triples

EX = "https://eligo.dev/example/"
S, P, Q = URIRef(EX + "s"), URIRef(EX + "p"), URIRef(EX + "q")

LITERALS = [
    Literal("plain"),
    Literal("with \"quotes\", a \\ backslash,\na newline and\r a return"),
    Literal("tab\tand unicode é 中文 \U0001f600"),
    Literal("hello", lang="en-GB"),
    Literal(Decimal("1.50"), datatype=XSD.decimal),
    Literal("01", datatype=XSD.integer),  # a non-canonical lexical form, kept as written
    Literal(dt.date(2026, 12, 1)),
    Literal(True),
    Literal("x", datatype=XSD.string),
    Literal("> <https://evil/> <https://evil/> .", datatype=URIRef(EX + "odd")),
]


def _store_via_writer(triples: Triples) -> ox.Store:
    """As the batch engine loads a batch (``ox.parse`` keeps blank node labels; ``Store.load`` would not)."""
    store = ox.Store()
    store.extend(ox.parse("".join(NTriplesWriter().lines(triples)), format=ox.RdfFormat.N_TRIPLES))
    return store


def _store_via_terms(triples: Triples) -> ox.Store:
    """The reference: a pyoxigraph term per RDF term (the population store's conversion)."""
    term = TermConverter().term
    store = ox.Store()
    store.extend(ox.Quad(term(s), term(p), term(o)) for s, p, o in triples)  # type: ignore[arg-type]
    return store


def test_every_kind_of_literal_loads_as_the_stores_own_term() -> None:
    triples = Triples((S, P, lit) for lit in LITERALS)
    triples.add((S, Q, BNode("b1")))
    triples.add((BNode("b1"), P, S))
    via_text, via_terms = _store_via_writer(triples), _store_via_terms(triples)
    assert len(via_text) == len(LITERALS) + 2
    assert set(via_text) == set(via_terms)


def test_n_quads_put_every_line_in_the_graph() -> None:
    graph = URIRef(EX + "graph")
    store = ox.Store()
    store.load("".join(NTriplesWriter().lines(Triples([(S, P, Literal("a")), (S, Q, S)]), graph=graph)),
               format=ox.RdfFormat.N_QUADS)
    assert {q.graph_name for q in store} == {ox.NamedNode(str(graph))}
    assert len(store) == 2


@pytest.mark.parametrize("bad", [
    URIRef(EX + "a b"),
    URIRef(EX + "a> <" + EX + "injected"),
    URIRef("no-scheme"),
    Literal("x", datatype=URIRef(EX + "bad type")),
    BNode("has space"),
])
def test_a_term_that_cannot_be_written_is_refused_never_spliced(bad: Node) -> None:
    """A term whose text could end its line early (and so add a triple of its own) is an error, as
    building the store's term would be."""
    triples = Triples([(S, P, bad)] if not isinstance(bad, URIRef) else [(bad, P, S)])
    with pytest.raises(ValueError, match="not a valid"):
        NTriplesWriter().lines(triples)


_terms = st.sampled_from([S, P, Q, URIRef(EX + "r"), BNode("n1"), Literal("a"), Literal(1), Literal("a", lang="fr")])
_subjects = st.sampled_from([S, Q, URIRef(EX + "r"), BNode("n1")])
_predicates = st.sampled_from([P, Q, RDF.type])
_triples = st.lists(st.tuples(_subjects, _predicates, _terms), max_size=25)
_patterns = st.tuples(st.none() | _subjects, st.none() | _predicates, st.none() | _terms)


@settings(max_examples=200, deadline=None)
@given(_triples, _triples, _patterns)
def test_triples_answers_as_rdflib_graph(added: list, removed: list, pattern: tuple) -> None:
    ours, theirs = Triples(), Graph()
    for t in added:
        ours.add(t)
        theirs.add(t)
    for t in removed:
        ours.remove(t)
        theirs.remove(t)
    s, p, o = pattern
    assert set(ours) == set(theirs) and len(ours) == len(theirs)
    assert set(ours.triples(pattern)) == set(theirs.triples(pattern))
    assert sorted(ours.objects(s, p)) == sorted(theirs.objects(s, p))
    assert sorted(ours.subjects(p, o)) == sorted(theirs.subjects(p, o))
    assert sorted(ours.subject_objects(p)) == sorted(theirs.subject_objects(p))
    assert (ours.value(s, p) is None) == (theirs.value(s, p) is None)
    if s is not None and p is not None:
        assert ours.value(s, p) in set(theirs.objects(s, p)) | {None}
    if p is not None and o is not None:
        assert ours.value(None, p, o) in set(theirs.subjects(p, o)) | {None}
    assert all((t in ours) == (t in theirs) for t in added + removed)


def test_the_code_hierarchy_shared_by_graphs_is_written_once_and_nothing_else_is_left_out() -> None:
    code, other = URIRef("http://snomed.info/id/1"), URIRef("http://snomed.info/id/2")
    group, wider = URIRef("https://eligo.dev/terms#G"), URIRef("https://eligo.dev/terms#W")
    sub = RDFS.subClassOf
    first = Triples([(URIRef("urn:p1"), RDF.type, group), (code, sub, group), (code, sub, wider)])
    second = Triples([(URIRef("urn:p2"), RDF.type, group), (code, sub, group), (other, sub, group),
                      (code, URIRef("urn:label"), Literal("x"))])
    w, written = NTriplesWriter(), {}
    lines = w.lines(first, hierarchy_written=written) + w.lines(second, hierarchy_written=written)
    everything = w.lines(first) + w.lines(second)
    assert len(everything) - len(lines) == 1  # only the second copy of (code, subClassOf, group)
    assert sorted(set(lines)) == sorted(set(everything))
    assert written == {code: {group, wider}, other: {group}}
