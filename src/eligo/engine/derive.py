"""Derivation: the facts relative to the index date that shapes read.

Generic (trial-agnostic) steps, then the trial's own SPARQL rules. The result
is a working copy of the patient graph; the input graph is never modified.
See docs/authoring.md, "What the engine derives before validation".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from eligo.dates import DateInterval, parse_date, whole_years, window_start
from eligo.engine import sparqlfuncs  # noqa: F401  (registers the rule functions)
from eligo.engine.plausible import PlausibleRange, finite_decimal, plausible_ranges
from eligo.engine.units import convert
from eligo.errors import PatientGraphError, UnitConversionError
from eligo.model import ATTESTATION_TOPIC, CODE_PROPERTIES, ELIGO, PATIENT
from eligo.model import RDF_TERMS as RDF
from eligo.model import RDFS_TERMS as RDFS
from eligo.model import XSD_TERMS as XSD
from eligo.notices import DataWarning, WarningKind
from eligo.terms import TermModule
from eligo.trial import Parameter, Rule, Trial
from eligo.triples import GraphLike

ONGOING_STATUSES = frozenset({"active", "in-progress", "on-hold"})
ERROR_STATUSES = frozenset({"entered-in-error"})
#: The earliest and latest bounds derived from eligo:date, eligo:start and eligo:end, in that order.
_BOUNDS = tuple((ELIGO[f"{name}Earliest"], ELIGO[f"{name}Latest"]) for name in ("date", "start", "end"))
#: A birth date giving an age above this on the index date is taken as a data error (no age is derived).
MAX_PLAUSIBLE_AGE = 130


@dataclass(frozen=True, slots=True)
class Derived:
    """A working graph ready for validation, with what derivation noticed."""

    graph: Graph
    patient: URIRef
    warnings: tuple[DataWarning, ...]


def find_patient(graph: GraphLike, *, source: str | None = None) -> URIRef:
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


def source_id(graph: GraphLike, node: Node) -> str:
    """The source id of a record; a component is cited by its observation's id."""
    suffix = ""
    seen: set[Node] = set()
    while node not in seen:  # a cycle of components in RDF input must not loop
        seen.add(node)
        sid = graph.value(node, ELIGO.sourceId)
        if sid is not None:
            return str(sid) + suffix
        parent = graph.value(None, ELIGO.component, node)
        if parent is None:
            break
        node, suffix = parent, " (component)"
    return str(node) + suffix


def _problem(graph: GraphLike, node: Node, warning: DataWarning, warnings: list[DataWarning]) -> None:
    """Record a data-quality problem on a record (criteria that needed it say so) and warn."""
    graph.add((node, ELIGO.dataProblem, Literal(str(warning))))
    warnings.append(warning)


def _interval(graph: GraphLike, node: Node, prop: URIRef, warnings: list[DataWarning] | None) -> DateInterval | None:
    value = graph.value(node, prop)
    if value is None:
        return None
    try:
        return parse_date(str(value))
    except ValueError:
        if warnings is not None:
            _problem(graph, node, DataWarning(WarningKind.UNREADABLE_DATE,
                                              f"unreadable date {str(value)!r} in {prop.fragment}; the record is "
                                              "treated as undated", source_id(graph, node)), warnings)
        return None


def _first_record(graph: GraphLike, nodes: list[Node]) -> str:
    """The source id a warning about a code cites: the first, by source id, of the records that have it
    (looked up only for a code that is warned about)."""
    return min(source_id(graph, node) for node in nodes)


@lru_cache(maxsize=65536)  # dates and day counts repeat across records and patients; literals are immutable
def _date_lit(d: dt.date) -> Literal:
    return Literal(d, datatype=XSD.date)


@lru_cache(maxsize=65536)
def _int_lit(n: int) -> Literal:
    return Literal(n, datatype=XSD.integer)


#: Decimals both engines compute with exactly (docs/decisions.md, "Arithmetic in rules"): Oxigraph keeps
#: 18 fractional digits and fails comparisons beyond its range, so every derived number is rounded to 18
#: places (half to even, as eligo:divide rounds) and one of 10^20 or more is not used.
_PLACES = Decimal(1).scaleb(-18)
_LIMIT = Decimal(10) ** 20


def _shared_decimal(value: Decimal) -> Decimal | None:
    """``value`` as both engines can hold it, or None when it is out of their range."""
    if abs(value) >= _LIMIT:
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -18:
        return value.quantize(_PLACES, rounding=ROUND_HALF_EVEN)
    return value


@lru_cache(maxsize=4096)
def _window_start(index: dt.date, window: Parameter) -> dt.date:
    return window_start(index, days=window.days, months=window.months, years=window.years)


class Deriver:
    """Derives working graphs for one trial and term module."""

    def __init__(self, trial: Trial, terms: TermModule) -> None:
        self.trial = trial
        self.terms = terms
        self.windows: list[Parameter] = [p for p in trial.parameters.values() if p.is_window]
        self.ranges = plausible_ranges(terms)

    def derive(self, patient_graph: GraphLike, *, index_date: dt.date, rules: list[Rule] | None = None,
               source: str | None = None) -> Derived:
        g = Graph()
        g += patient_graph
        patient, warnings = self.derive_generic(g, index_date=index_date, source=source)
        g += self.trial.parameter_graph
        for rule in self.trial.rules if rules is None else rules:
            self.apply_rule(g, rule, patient)
        return Derived(g, patient, warnings)

    def derive_generic(self, g: GraphLike, *, index_date: dt.date,
                       source: str | None = None) -> tuple[URIRef, tuple[DataWarning, ...]]:
        """The generic (trial-agnostic) facts, added to ``g`` in place: the patient, and what was noticed.

        The reference engine runs it on an rdflib ``Graph`` and then the rules one patient at a time; the
        batch engine on a :class:`eligo.triples.Triples`, and the rules over a whole batch."""
        patient = find_patient(g, source=source)
        warnings: list[DataWarning] = []
        g.add((patient, ELIGO.indexDate, _date_lit(index_date)))
        records = sorted({s for s in g.subjects(ELIGO.subject, patient) if s != patient}, key=str)
        records = self._drop_unusable(g, records, index_date, warnings)
        self._patient_facts(g, patient, index_date, warnings)
        starts = [(w.iri, _window_start(index_date, w)) for w in self.windows]  # once, not once per record
        for rec in records:
            self._time_facts(g, rec, index_date, starts, warnings)
        self._codes(g, warnings)
        for rec in records:
            self._attestation(g, rec)
            self._doubts(g, rec, warnings)
        for rec in records:
            self._units(g, rec, warnings)
        return patient, tuple(warnings)

    @staticmethod
    def apply_rule(g: Graph, rule: Rule, patient: URIRef) -> None:
        """Add what one rule constructs for ``patient`` to ``g`` (rules run in order, each seeing the last)."""
        for triple in g.query(rule.query, initBindings={"this": patient}):
            g.add(triple)  # type: ignore[arg-type]

    # ------------------------------------------------------------- steps
    def _drop_unusable(self, g: GraphLike, records: list[Node], index: dt.date,
                       warnings: list[DataWarning]) -> list[Node]:
        kept = []
        for rec in records:
            statuses = {str(v) for p in (ELIGO.status, ELIGO.verificationStatus) for v in g.objects(rec, p)}
            first = None
            for prop in (ELIGO.date, ELIGO.start):
                first = _interval(g, rec, prop, None)
                if first is not None:
                    break
            if statuses & ERROR_STATUSES:
                warnings.append(DataWarning(WarningKind.ENTERED_IN_ERROR,
                                            f"{source_id(g, rec)} is marked entered-in-error and was ignored"))
            elif first is not None and first.earliest > index:
                warnings.append(DataWarning(WarningKind.AFTER_INDEX_DATE,
                                            f"{source_id(g, rec)} is dated {first.earliest.isoformat()}, after the "
                                            f"index date {index.isoformat()}, and was not used"))
            else:
                kept.append(rec)
                continue
            g.remove((rec, None, None))
        return kept

    def _patient_facts(self, g: GraphLike, patient: URIRef, index: dt.date, warnings: list[DataWarning]) -> None:
        birth = _interval(g, patient, ELIGO.birthDate, warnings)
        if birth is None:
            return
        if birth.earliest > index:
            _problem(g, patient, DataWarning(WarningKind.IMPOSSIBLE_BIRTH_DATE,
                                             f"birth date {birth.earliest} is after the index date {index}; age is "
                                             "unknown", source_id(g, patient)), warnings)
            return
        low = whole_years(birth.latest, index) if birth.latest <= index else 0
        high = whole_years(birth.earliest, index)
        if low > MAX_PLAUSIBLE_AGE:
            _problem(g, patient, DataWarning(WarningKind.IMPLAUSIBLE_VALUE,
                                             f"birth date {birth.earliest} gives an age of {low} years on the index "
                                             f"date, more than {MAX_PLAUSIBLE_AGE}; age is unknown",
                                             source_id(g, patient)), warnings)
            return
        g.add((patient, ELIGO.ageYearsMin, _int_lit(low)))
        g.add((patient, ELIGO.ageYearsMax, _int_lit(high)))
        if low == high:
            g.add((patient, ELIGO.ageYears, _int_lit(low)))

    def _time_facts(self, g: GraphLike, rec: Node, index: dt.date, starts: list[tuple[URIRef, dt.date]],
                    warnings: list[DataWarning]) -> None:
        """A record's date bounds, day counts and windows; ``starts`` is each window's (IRI, first day)."""
        point = _interval(g, rec, ELIGO.date, warnings)
        start = _interval(g, rec, ELIGO.start, warnings)
        end = _interval(g, rec, ELIGO.end, warnings)
        for (earliest, latest), iv in zip(_BOUNDS, (point, start, end), strict=True):
            if iv is not None:
                g.add((rec, earliest, _date_lit(iv.earliest)))
                g.add((rec, latest, _date_lit(iv.latest)))
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
        for iri, ws in starts:
            certain = first.latest <= index and last.earliest >= ws
            possible = first.earliest <= index and last.latest >= ws
            if certain:
                g.add((rec, ELIGO.inWindow, iri))
            elif possible:
                g.add((rec, ELIGO.maybeInWindow, iri))

    def _codes(self, g: GraphLike, warnings: list[DataWarning]) -> None:
        seen: set[URIRef] = set()
        for prop in CODE_PROPERTIES:
            by_code: dict[URIRef, list[Node]] = {}
            for node, code in g.subject_objects(prop):
                if isinstance(code, URIRef) and code not in seen:
                    by_code.setdefault(code, []).append(node)
            for code in sorted(by_code, key=str):
                seen.add(code)
                found = self.terms.recognise(code)
                if found is None:
                    warnings.append(DataWarning(WarningKind.UNRECOGNISED_CODE,
                                                f"unrecognised code {code} ({prop.fragment}); it is kept but matches "
                                                "no criterion concept", _first_record(g, by_code[code])))
                elif found.code_map is not None:
                    warnings.append(DataWarning(WarningKind.CODE_READ_AS_LISTED,
                                                f"local code {code} read as {found.via} through the code map "
                                                f"{found.code_map}", _first_record(g, by_code[code])))
                elif found.hierarchy is not None and found.via is not None:
                    warnings.append(DataWarning(WarningKind.CODE_READ_AS_LISTED,
                                                f"code {code} read as {found.via} "
                                                f"({self.terms.label(found.via) or 'listed'}), the {found.hierarchy} "
                                                "it extends", _first_record(g, by_code[code])))
                for group in self.terms.ancestors(code):
                    g.add((code, RDFS.subClassOf, group))

    def _attestation(self, g: GraphLike, rec: Node) -> None:
        """An observation coded under eterm:AttestationTopic is a coordinator's statement: eligo:Attestation."""
        codes = [c for c in g.objects(rec, ELIGO.code) if isinstance(c, URIRef)]
        if (rec, RDF.type, ELIGO.Observation) in g and any(ATTESTATION_TOPIC in self.terms.ancestors(c) for c in codes):
            g.remove((rec, RDF.type, ELIGO.Observation))
            g.add((rec, RDF.type, ELIGO.Attestation))

    def _doubts(self, g: GraphLike, rec: Node, warnings: list[DataWarning]) -> None:
        """Unrecognised is not absent (CRITERIA.md, Terminology): mark a record none of whose codes is
        recognised (eligo:codeUnrecognised), and a record that may belong to a grouping class its codes do not
        put it in (eligo:mayBe): its text names the class (eligo:nameSynonym) while its codes are unrecognised
        or only say a class confusable with it, or the site's code map relates its code to a member without
        equivalence. Exclusions read these to answer unknown instead of met."""
        codes = [c for c in g.objects(rec, ELIGO.code) if isinstance(c, URIRef)]
        known = [c for c in codes if self.terms.is_known(c)]
        if not known:
            g.add((rec, ELIGO.codeUnrecognised, Literal(True)))
        groups = [self.terms.ancestors(c) for c in known]
        member_of = frozenset().union(*groups) if groups else frozenset()
        doubts: dict[URIRef, str] = {}
        for code in codes:
            for group in sorted(self.terms.possible_groups(code) - member_of, key=str):
                doubts.setdefault(group, f"the code map relates {code} to it without equivalence")
        texts = sorted(str(t) for t in g.objects(rec, ELIGO.codeText))
        for screen in self.terms.name_screens if texts else ():
            if screen.group in member_of:
                continue
            if known and not all(anc & screen.confusable for anc in groups):
                continue
            for text in texts:
                name = screen.find(text)
                if name is not None:
                    doubts.setdefault(screen.group, f"its text {text!r} names {name!r}")
                    break
        for group, why in sorted(doubts.items()):
            g.add((rec, ELIGO.mayBe, group))
            g.add((rec, ELIGO.mayBeBecause, Literal(why)))
            label = self.terms.label(group) or str(group)
            warnings.append(DataWarning(WarningKind.POSSIBLE_MEMBER, f"may be {label}: {why}; its codes do not say so",
                                        source_id(g, rec)))

    def _unit_problem(self, g: GraphLike, rec: Node, warning: DataWarning, warnings: list[DataWarning]) -> None:
        g.add((rec, ELIGO.unitProblem, Literal(warning.text)))
        _problem(g, rec, warning, warnings)

    def _range_for(self, g: GraphLike, rec: Node) -> PlausibleRange | None:
        for code in sorted(g.objects(rec, ELIGO.code), key=str):
            if isinstance(code, URIRef):
                for group in sorted(self.terms.ancestors(code), key=str):
                    if group in self.ranges:
                        return self.ranges[group]
        return None

    def _units(self, g: GraphLike, rec: Node, warnings: list[DataWarning]) -> None:
        value = g.value(rec, ELIGO.value)
        if value is None:
            return
        number = finite_decimal(value)
        sid = source_id(g, rec)
        if number is None:
            self._unit_problem(g, rec, DataWarning(WarningKind.UNIT_PROBLEM,
                                                   f"value {str(value)[:40]!r} is not a finite number; it is not used",
                                                   sid), warnings)
            return
        spec = None
        for code in sorted(g.objects(rec, ELIGO.code), key=str):
            if isinstance(code, URIRef):
                spec = self.terms.unit_for(code)
                if spec is not None:
                    break
        unit = g.value(rec, ELIGO.unit)
        if spec is None:
            norm, norm_unit = number, (str(unit) if unit is not None else None)
        elif unit is None:
            self._unit_problem(g, rec, DataWarning(WarningKind.UNIT_PROBLEM,
                                                   f"no unit given; expected a unit convertible to "
                                                   f"{spec.canonical_unit!r}", sid), warnings)
            return
        else:
            norm_unit = spec.canonical_unit
            try:
                norm = convert(number, str(unit), spec.canonical_unit, molar_mass=spec.molar_mass)
            except UnitConversionError as exc:
                self._unit_problem(g, rec, DataWarning(WarningKind.UNIT_PROBLEM,
                                                       f"unit {str(unit)!r} cannot be converted to "
                                                       f"{spec.canonical_unit!r}: {exc.message}", sid), warnings)
                return
            except ArithmeticError:
                self._unit_problem(g, rec, DataWarning(WarningKind.UNIT_PROBLEM,
                                                       f"value {number} {unit} is out of any computable range; it is "
                                                       "not used", sid), warnings)
                return
        limits = self._range_for(g, rec)
        if limits is not None and not limits.contains(norm):
            label = self.terms.label(limits.group) or str(limits.group)
            shown = f"{number} {unit}" if unit is not None else f"{number}"
            _problem(g, rec, DataWarning(WarningKind.IMPLAUSIBLE_VALUE,
                                         f"{label} {shown} is outside the plausible range "
                                         f"{limits.describe(norm_unit)}; the value is not used", sid), warnings)
            return
        shared = _shared_decimal(norm)
        if shared is None:
            self._unit_problem(g, rec, DataWarning(WarningKind.UNIT_PROBLEM,
                                                   f"value {number}{' ' + str(unit) if unit is not None else ''} "
                                                   "is out of any computable range; it is not used", sid), warnings)
            return
        g.add((rec, ELIGO.normValue, Literal(shared, datatype=XSD.decimal)))
        if spec is None or unit is None:
            return
        high = finite_decimal(g.value(rec, ELIGO.referenceHigh))
        if high is not None:
            high_unit = str(g.value(rec, ELIGO.referenceHighUnit) or unit)
            try:
                uln = convert(high, high_unit, spec.canonical_unit, molar_mass=spec.molar_mass)
            except (UnitConversionError, ArithmeticError) as exc:
                why = exc.message if isinstance(exc, UnitConversionError) else "out of range"
                warnings.append(DataWarning(WarningKind.REFERENCE_RANGE_NOT_USABLE,
                                            f"reference range high in {high_unit!r} cannot be converted to "
                                            f"{spec.canonical_unit!r} ({why}); the default ULN applies", sid))
                return
            if uln <= 0:
                warnings.append(DataWarning(WarningKind.REFERENCE_RANGE_NOT_USABLE,
                                            f"reference range high {high} {high_unit} is not positive; the default "
                                            "ULN applies", sid))
                return
            shared_uln = _shared_decimal(uln)
            if shared_uln is None:
                warnings.append(DataWarning(WarningKind.REFERENCE_RANGE_NOT_USABLE,
                                            f"reference range high {high} {high_unit} is out of any computable "
                                            "range; the default ULN applies", sid))
                return
            g.add((rec, ELIGO.normReferenceHigh, Literal(shared_uln, datatype=XSD.decimal)))
