"""Derivation: the facts relative to the index date that shapes read.

Generic (trial-agnostic) steps, then the trial's own SPARQL rules. The result
is a working copy of the patient graph; the input graph is never modified.
See docs/authoring.md, "What the engine derives before validation".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD
from rdflib.term import Node

from eligo import sparqlfuncs  # noqa: F401  (registers the rule functions)
from eligo.dates import DateInterval, parse_date, whole_years, window_start
from eligo.errors import PatientGraphError, UnitConversionError
from eligo.model import CODE_PROPERTIES, ELIGO, PATIENT
from eligo.terms import TermModule
from eligo.trial import Parameter, Rule, Trial
from eligo.units import convert

ONGOING_STATUSES = frozenset({"active", "in-progress", "on-hold"})
ERROR_STATUSES = frozenset({"entered-in-error"})


@dataclass(frozen=True, slots=True)
class Derived:
    """A working graph ready for validation, with what derivation noticed."""

    graph: Graph
    patient: URIRef
    warnings: tuple[str, ...]


def find_patient(graph: Graph, *, source: str | None = None) -> URIRef:
    """The one ``eligo:Patient`` of a patient graph."""
    patients = sorted(set(graph.subjects(RDF.type, PATIENT)), key=str)
    if not patients:
        raise PatientGraphError("no eligo:Patient in the graph; a patient file describes one patient",
                                source=source)
    if len(patients) > 1:
        raise PatientGraphError(
            f"{len(patients)} patients in one graph ({', '.join(map(str, patients[:3]))}); "
            "check one patient at a time, or use `eligo screen` for populations", source=source)
    if not isinstance(patients[0], URIRef):
        raise PatientGraphError("the patient node must be an IRI, not a blank node", source=source)
    return patients[0]


def source_id(graph: Graph, node: Node) -> str:
    """The source id of a record; a component is cited by its observation's id."""
    sid = graph.value(node, ELIGO.sourceId)
    if sid is not None:
        return str(sid)
    parent = graph.value(None, ELIGO.component, node)
    if parent is not None:
        return source_id(graph, parent) + " (component)"
    return str(node)


def _interval(graph: Graph, node: Node, prop: URIRef, warnings: list[str]) -> DateInterval | None:
    value = graph.value(node, prop)
    if value is None:
        return None
    try:
        return parse_date(str(value))
    except ValueError:
        warnings.append(f"{source_id(graph, node)}: unreadable date {str(value)!r} in "
                        f"{prop.fragment}; the record is treated as undated")
        return None


def _date_lit(d: dt.date) -> Literal:
    return Literal(d, datatype=XSD.date)


def _int_lit(n: int) -> Literal:
    return Literal(n, datatype=XSD.integer)


def _decimal(value: Node) -> Decimal | None:
    if not isinstance(value, Literal):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class Deriver:
    """Derives working graphs for one trial and term module."""

    def __init__(self, trial: Trial, terms: TermModule) -> None:
        self.trial = trial
        self.terms = terms
        self.windows: list[Parameter] = [p for p in trial.parameters.values() if p.is_window]

    def derive(self, patient_graph: Graph, *, index_date: dt.date, rules: list[Rule] | None = None,
               source: str | None = None) -> Derived:
        g = Graph()
        g += patient_graph
        patient = find_patient(g, source=source)
        warnings: list[str] = []
        g.add((patient, ELIGO.indexDate, _date_lit(index_date)))
        records = sorted({s for s in g.subjects(ELIGO.subject, patient)}, key=str)
        records = self._drop_unusable(g, records, index_date, warnings)
        self._patient_facts(g, patient, index_date, warnings)
        for rec in records:
            self._time_facts(g, rec, index_date, warnings)
        self._codes(g, warnings)
        for rec in records:
            self._units(g, rec, warnings)
        g += self.trial.parameter_graph
        for rule in self.trial.rules if rules is None else rules:
            result = g.query(rule.query, initBindings={"this": patient})
            for triple in result:
                g.add(triple)  # type: ignore[arg-type]
        return Derived(g, patient, tuple(warnings))

    # ------------------------------------------------------------- steps
    def _drop_unusable(self, g: Graph, records: list[Node], index: dt.date,
                       warnings: list[str]) -> list[Node]:
        kept = []
        for rec in records:
            statuses = {str(v) for p in (ELIGO.status, ELIGO.verificationStatus) for v in g.objects(rec, p)}
            reason = None
            if statuses & ERROR_STATUSES:
                reason = "is marked entered-in-error and was ignored"
            else:
                first = None
                for prop in (ELIGO.date, ELIGO.start):
                    iv = _interval(g, rec, prop, [])
                    if iv is not None:
                        first = iv
                        break
                if first is not None and first.earliest > index:
                    reason = (f"is dated {first.earliest.isoformat()}, after the index date "
                              f"{index.isoformat()}, and was not used")
            if reason is None:
                kept.append(rec)
                continue
            warnings.append(f"{source_id(g, rec)} {reason}")
            g.remove((rec, None, None))
        return kept

    def _patient_facts(self, g: Graph, patient: URIRef, index: dt.date, warnings: list[str]) -> None:
        birth = _interval(g, patient, ELIGO.birthDate, warnings)
        if birth is None:
            return
        if birth.earliest > index:
            warnings.append(f"{source_id(g, patient)}: birth date {birth.earliest} is after the index date; "
                            "age is unknown")
            return
        low = whole_years(birth.latest, index) if birth.latest <= index else 0
        high = whole_years(birth.earliest, index)
        g.add((patient, ELIGO.ageYearsMin, _int_lit(low)))
        g.add((patient, ELIGO.ageYearsMax, _int_lit(high)))
        if low == high:
            g.add((patient, ELIGO.ageYears, _int_lit(low)))

    def _time_facts(self, g: Graph, rec: Node, index: dt.date, warnings: list[str]) -> None:
        point = _interval(g, rec, ELIGO.date, warnings)
        start = _interval(g, rec, ELIGO.start, warnings)
        end = _interval(g, rec, ELIGO.end, warnings)
        for prop, iv in ((ELIGO.date, point), (ELIGO.start, start), (ELIGO.end, end)):
            if iv is not None:
                g.add((rec, ELIGO[f"{prop.fragment}Earliest"], _date_lit(iv.earliest)))
                g.add((rec, ELIGO[f"{prop.fragment}Latest"], _date_lit(iv.latest)))
        first = point or start
        if first is None:
            return
        if first is point and start is None:
            # a single-date record: its date also serves as start, for rules that read starts
            pass
        g.add((rec, ELIGO.daysAgoMin, _int_lit((index - first.latest).days)))
        g.add((rec, ELIGO.daysAgoMax, _int_lit((index - first.earliest).days)))
        if first.exact:
            g.add((rec, ELIGO.daysAgo, _int_lit((index - first.earliest).days)))
        if end is not None:
            g.add((rec, ELIGO.endDaysAgoMin, _int_lit((index - end.latest).days)))
            g.add((rec, ELIGO.endDaysAgoMax, _int_lit((index - end.earliest).days)))
            if end.exact:
                g.add((rec, ELIGO.endDaysAgo, _int_lit((index - end.earliest).days)))
        # the span the record covers
        if end is not None:
            last = end
        elif start is not None and {str(s) for s in g.objects(rec, ELIGO.status)} & ONGOING_STATUSES:
            last = DateInterval(index, index)
        else:
            last = first
        for w in self.windows:
            ws = window_start(index, days=w.days, months=w.months, years=w.years)
            certain = first.latest <= index and last.earliest >= ws
            possible = first.earliest <= index and last.latest >= ws
            if certain:
                g.add((rec, ELIGO.inWindow, w.iri))
            elif possible:
                g.add((rec, ELIGO.maybeInWindow, w.iri))

    def _codes(self, g: Graph, warnings: list[str]) -> None:
        seen: set[URIRef] = set()
        for prop in CODE_PROPERTIES:
            pairs = sorted(g.subject_objects(prop), key=lambda sc: (str(sc[1]), source_id(g, sc[0])))
            for node, code in pairs:
                if not isinstance(code, URIRef) or code in seen:
                    continue
                seen.add(code)
                if not self.terms.is_known(code):
                    warnings.append(f"{source_id(g, node)}: unrecognised code {code} "
                                    f"({prop.fragment}); it is kept but matches no criterion concept")
                for group in self.terms.ancestors(code):
                    g.add((code, RDFS.subClassOf, group))

    def _units(self, g: Graph, rec: Node, warnings: list[str]) -> None:
        value = g.value(rec, ELIGO.value)
        if value is None:
            return
        number = _decimal(value)
        if number is None:
            g.add((rec, ELIGO.unitProblem, Literal(f"value {str(value)!r} is not a number")))
            warnings.append(f"{source_id(g, rec)}: value {str(value)!r} is not a number")
            return
        spec = None
        for code in g.objects(rec, ELIGO.code):
            if isinstance(code, URIRef):
                spec = self.terms.unit_for(code)
                if spec is not None:
                    break
        if spec is None:
            g.add((rec, ELIGO.normValue, Literal(number, datatype=XSD.decimal)))
            return
        unit = g.value(rec, ELIGO.unit)
        if unit is None:
            problem = f"no unit given; expected a unit convertible to {spec.canonical_unit!r}"
            g.add((rec, ELIGO.unitProblem, Literal(problem)))
            warnings.append(f"{source_id(g, rec)}: {problem}")
            return
        try:
            norm = convert(number, str(unit), spec.canonical_unit, molar_mass=spec.molar_mass)
        except UnitConversionError as exc:
            problem = f"unit {str(unit)!r} cannot be converted to {spec.canonical_unit!r}: {exc.message}"
            g.add((rec, ELIGO.unitProblem, Literal(problem)))
            warnings.append(f"{source_id(g, rec)}: {problem}")
            return
        g.add((rec, ELIGO.normValue, Literal(norm, datatype=XSD.decimal)))
        high = _decimal(g.value(rec, ELIGO.referenceHigh))
        if high is not None:
            high_unit = str(g.value(rec, ELIGO.referenceHighUnit) or unit)
            try:
                g.add((rec, ELIGO.normReferenceHigh, Literal(
                    convert(high, high_unit, spec.canonical_unit, molar_mass=spec.molar_mass),
                    datatype=XSD.decimal)))
            except UnitConversionError as exc:
                warnings.append(f"{source_id(g, rec)}: reference range high in {high_unit!r} cannot be "
                                f"converted to {spec.canonical_unit!r} ({exc.message}); the default ULN applies")
