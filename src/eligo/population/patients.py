"""A patient's graph as ``eligo load`` stores it, written as N-Quads text for the store to parse in one call.

The mapping is the one `eligo screen` uses (:func:`eligo.ingest.batch.unit_triples`: FHIR straight to a
:class:`~eligo.triples.Triples` set, no rdflib ``Graph``); blank nodes (RDF input only: the FHIR mapping makes
none) become Skolem IRIs under the patient's key (:func:`eligo.ingest.rdf.skolemise_triples`); the triples
are written as N-Quads lines in the patient's named graph (:class:`~eligo.triples.NTriplesWriter`). This runs
in worker processes (:func:`map_items`, a batch of discovered items per task); the store writes the text.

:func:`stored_graph` is the same graph through rdflib, the reference the fast path is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from rdflib import Graph, URIRef

from eligo.batch import collector_paused
from eligo.errors import EligoError
from eligo.ingest.batch import InputProblem, Unit, UnitKind, unit_input, unit_triples
from eligo.ingest.rdf import GENID_BASE, skolemise, skolemise_triples
from eligo.population.results import patient_graph
from eligo.triples import NTriplesWriter

__all__ = ["PatientData", "map_items", "patient_data", "patient_genid", "stored_graph", "unit_graph"]


def patient_genid(key: str) -> str:
    """Where the Skolem IRIs of a patient's blank nodes go (RDF input; FHIR mapping makes none)."""
    return f"{GENID_BASE}patient/{quote(key, safe='')}/"


def unit_graph(unit: Unit) -> Graph:
    """The eligo-model graph of one discovered patient (the same mapping `eligo screen` uses)."""
    return unit_input(unit).graph


def stored_graph(unit: Unit) -> Graph:
    """A patient's graph as ``eligo load`` stores it, through rdflib: :func:`unit_graph` with its blank nodes
    (RDF input) skolemised under the patient's key, so no store or route ever sees one. :func:`patient_data`
    writes the same triples without an rdflib graph."""
    return skolemise(unit_graph(unit), patient_genid(unit.key))


@dataclass(frozen=True, slots=True)
class PatientData:
    """One discovered item, ready to store: a patient's graph as N-Quads lines, or a problem line.

    ``key`` is the patient's key (``Patient/id``), or the source of an input problem that belongs to no
    patient; ``problem`` is the line ``eligo load`` reports (naming the key or the source) instead of a graph.
    """

    key: str
    nquads: str = ""
    triples: int = 0
    problem: str | None = None


def patient_data(unit: Unit, writer: NTriplesWriter) -> PatientData:
    """A patient's stored graph (:func:`stored_graph`'s triples) as N-Quads lines in its named graph, or
    the problem that keeps it out of the store (a mapping error, a term no store can hold)."""
    try:
        triples, _warnings = unit_triples(unit)
    except EligoError as exc:
        return PatientData(unit.key, problem=f"{unit.key}: {exc}")
    if unit.kind is not UnitKind.FHIR:  # the FHIR mapping makes no blank node: no need to look for one
        triples = skolemise_triples(triples, patient_genid(unit.key))
    try:
        lines = writer.lines(triples, graph=URIRef(patient_graph(unit.key).value))
    except (ValueError, TypeError) as exc:  # an IRI or language tag no store accepts
        return PatientData(unit.key, problem=f"{unit.key}: its graph cannot be stored: {exc}")
    return PatientData(unit.key, "".join(lines), len(lines))


class _Writer:
    """The writer of this (worker) process: its cache of written terms lives as long as the process."""

    writer: NTriplesWriter | None = None


def map_items(items: list[Unit | InputProblem]) -> list[PatientData]:
    """Every discovered item of a task, in order: a patient's graph as N-Quads, or a problem line (an
    input problem as ``source: message``). Never raises for one patient's data."""
    if _Writer.writer is None:
        _Writer.writer = NTriplesWriter()
    writer = _Writer.writer
    out = []
    with collector_paused():
        for item in items:
            if isinstance(item, InputProblem):
                out.append(PatientData(item.source, problem=f"{item.source}: {item.message}"))
            else:
                out.append(patient_data(item, writer))
    return out
