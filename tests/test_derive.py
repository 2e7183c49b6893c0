"""Generic derivation: time facts, windows, dropped records, codes and units."""

from __future__ import annotations

import datetime as dt

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import XSD

from eligo import PatientGraphError, TermModule, Trial
from eligo.engine.derive import Deriver
from eligo.model import ELIGO, EX, turtle_prefix_header
from eligo.notices import WarningKind

INDEX = dt.date(2026, 12, 1)
TDXD = "https://eligo.dev/trial/tdxd-her2-liquid-biopsy#"


def graph(body: str) -> Graph:
    return Graph().parse(data=turtle_prefix_header() + """
ex:p a eligo:Patient ; eligo:sourceId "Patient/p" ; eligo:birthDate "1970-06-15"^^xsd:date .
""" + body, format="turtle")


@pytest.fixture(scope="module")
def deriver(trial: Trial, terms: TermModule) -> Deriver:
    return Deriver(trial, terms)


def derive(deriver: Deriver, body: str):
    return deriver.derive(graph(body), index_date=INDEX, rules=[])


def windows(g: Graph, node, prop=ELIGO.inWindow) -> set[str]:
    return {str(w).removeprefix(TDXD) for w in g.objects(node, prop)}


def test_days_ago_and_window_boundaries(deriver: Deriver) -> None:
    d = derive(deriver, """
ex:o28 a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "O/28" ; eligo:date "2026-11-03"^^xsd:date .
ex:o29 a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "O/29" ; eligo:date "2026-11-02"^^xsd:date .
""")
    g = d.graph
    assert g.value(EX.o28, ELIGO.daysAgo) == Literal(28, datatype=XSD.integer)
    assert "screeningWindow" in windows(g, EX.o28) and "lvefWindow" in windows(g, EX.o28)
    assert "screeningWindow" not in windows(g, EX.o29)
    assert "labWindow" not in windows(g, EX.o28)


def test_month_window_is_calendar(deriver: Deriver) -> None:
    d = derive(deriver, """
ex:in a eligo:Condition ; eligo:subject ex:p ; eligo:sourceId "C/in" ; eligo:date "2026-06-01"^^xsd:date .
ex:out a eligo:Condition ; eligo:subject ex:p ; eligo:sourceId "C/out" ; eligo:date "2026-05-31"^^xsd:date .
""")
    assert "miWindow" in windows(d.graph, EX["in"])
    assert "miWindow" not in windows(d.graph, EX.out)


def test_partial_date_straddling_window_is_maybe(deriver: Deriver) -> None:
    d = derive(deriver, """
ex:o a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "O/m" ; eligo:date "2026-11"^^xsd:gYearMonth .
""")
    assert "labWindow" in windows(d.graph, EX.o, ELIGO.maybeInWindow)
    assert "labWindow" not in windows(d.graph, EX.o)
    assert "screeningWindow" in windows(d.graph, EX.o, ELIGO.maybeInWindow)  # window starts 3 November
    assert "vaccineWindow" in windows(d.graph, EX.o)  # 30-day window starts 1 November: all of it inside
    assert d.graph.value(EX.o, ELIGO.daysAgo) is None
    assert d.graph.value(EX.o, ELIGO.daysAgoMin) == Literal(1, datatype=XSD.integer)
    assert d.graph.value(EX.o, ELIGO.daysAgoMax) == Literal(30, datatype=XSD.integer)


def test_ongoing_period_overlaps_window(deriver: Deriver) -> None:
    d = derive(deriver, """
ex:m a eligo:MedicationExposure ; eligo:subject ex:p ; eligo:sourceId "M/1" ;
     eligo:start "2026-01-01"^^xsd:date ; eligo:status "active" .
ex:done a eligo:MedicationExposure ; eligo:subject ex:p ; eligo:sourceId "M/2" ;
     eligo:start "2026-01-01"^^xsd:date ; eligo:end "2026-11-16"^^xsd:date ; eligo:status "completed" .
""")
    assert "ivAntiInfectiveWindow" in windows(d.graph, EX.m)
    assert d.graph.value(EX.done, ELIGO.endDaysAgo) == Literal(15, datatype=XSD.integer)
    assert "ivAntiInfectiveWindow" not in windows(d.graph, EX.done)


def test_future_and_entered_in_error_records_are_dropped_with_warnings(deriver: Deriver) -> None:
    d = derive(deriver, """
ex:f a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "Observation/future" ;
     eligo:date "2026-12-02"^^xsd:date .
ex:e a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "Observation/eie" ; eligo:date "2026-11-02"^^xsd:date ;
     eligo:status "entered-in-error" .
ex:ok a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "Observation/ok" ; eligo:date "2026-12-01"^^xsd:date .
""")
    assert (EX.f, None, None) not in d.graph
    assert (EX.e, None, None) not in d.graph
    assert (EX.ok, ELIGO.daysAgo, Literal(0, datatype=XSD.integer)) in d.graph
    kinds = {w.kind: str(w) for w in d.warnings}
    assert "Observation/future" in kinds[WarningKind.AFTER_INDEX_DATE]
    assert "Observation/eie" in kinds[WarningKind.ENTERED_IN_ERROR]


def test_unknown_codes_are_kept_and_reported(deriver: Deriver) -> None:
    d = derive(deriver, """
ex:o a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "Observation/x" ;
     eligo:code <http://loinc.org/rdf/00000-0> ; eligo:date "2026-11-02"^^xsd:date .
""")
    assert any(w.kind is WarningKind.UNRECOGNISED_CODE and w.record == "Observation/x" for w in d.warnings)
    assert (EX.o, ELIGO.code, None) in d.graph


def test_age_facts(deriver: Deriver) -> None:
    d = derive(deriver, "")
    assert d.graph.value(EX.p, ELIGO.ageYears) == Literal(56, datatype=XSD.integer)


def test_no_patient_is_an_error(deriver: Deriver) -> None:
    g = Graph()
    with pytest.raises(PatientGraphError, match="no eligo:Patient"):
        deriver.derive(g, index_date=INDEX, rules=[])


def test_two_patients_is_an_error(deriver: Deriver) -> None:
    g = graph('ex:q a eligo:Patient ; eligo:sourceId "Patient/q" .')
    with pytest.raises(PatientGraphError, match="2 patients"):
        deriver.derive(g, index_date=INDEX, rules=[])


def test_input_graph_is_not_modified(deriver: Deriver) -> None:
    g = graph('ex:o a eligo:Observation ; eligo:subject ex:p ; eligo:sourceId "O" ; '
              'eligo:date "2026-11-02"^^xsd:date .')
    before = len(g)
    deriver.derive(g, index_date=INDEX)
    assert len(g) == before
