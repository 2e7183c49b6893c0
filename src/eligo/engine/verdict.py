"""From a validation report to outcomes, an overall verdict, reasons and evidence."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rdflib import BNode, URIRef
from rdflib.term import Node

from eligo.engine.derive import source_id
from eligo.engine.validate import Violation
from eligo.model import ELIGO
from eligo.model import RDF_TERMS as RDF
from eligo.model import RDFS_TERMS as RDFS
from eligo.notices import DataWarning, WarningKind
from eligo.terms import TermModule
from eligo.trial import Criterion, Kind, Outcome, ShapeMeaning
from eligo.triples import GraphLike


class Verdict(enum.Enum):
    """The overall verdict for one patient (CRITERIA.md, Outcomes)."""

    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    NEEDS_DATA = "needs-data"
    PENDING_ATTESTATION = "pending-attestation"


@dataclass(frozen=True, slots=True)
class Evidence:
    """A record a criterion's outcome rests on."""

    source_id: str
    record_type: str
    concept: str | None
    value: str | None
    date: str | None

    def describe(self) -> str:
        parts = [self.concept or self.record_type]
        if self.value:
            parts.append(self.value)
        if self.date:
            parts.append(f"on {self.date}")
        return f"{' '.join(parts)} ({self.source_id})"


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """The outcome of one criterion for one patient, with why."""

    id: str
    kind: Kind
    label: str
    outcome: Outcome
    attestation: bool
    reason: str
    needs: tuple[str, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Screening:
    """The result of checking one patient against one trial."""

    patient: str
    trial: str
    index_date: dt.date
    verdict: Verdict
    criteria: tuple[CriterionResult, ...]
    warnings: tuple[DataWarning, ...]

    def result(self, criterion_id: str) -> CriterionResult:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)


def overall_verdict(results: tuple[CriterionResult, ...] | list[CriterionResult]) -> Verdict:
    """CRITERIA.md: ineligible > needs-data > pending-attestation > eligible."""
    if any(r.outcome is Outcome.NOT_MET for r in results):
        return Verdict.INELIGIBLE
    if any(r.outcome is Outcome.UNKNOWN and not r.attestation for r in results):
        return Verdict.NEEDS_DATA
    if any(r.outcome is Outcome.UNKNOWN for r in results):
        return Verdict.PENDING_ATTESTATION
    return Verdict.ELIGIBLE


#: In an ``eligo:needs`` text, replaced by the records the violation cites (as in their evidence line).
RECORDS_PLACEHOLDER = "{records}"

_PRECEDENCE = (Outcome.NOT_APPLICABLE, Outcome.NOT_MET, Outcome.UNKNOWN)


@lru_cache(maxsize=1024)  # record types are few; rdflib parses the whole IRI for each .fragment
def _fragment(rtype: Node | None) -> str:
    return rtype.fragment if isinstance(rtype, URIRef) else ""


def _evidence(g: GraphLike, node: Node, terms: TermModule) -> Evidence | None:
    if not isinstance(node, URIRef | BNode) or g.value(node, ELIGO.sourceId) is None:
        return None
    rtype = g.value(node, RDF.type)
    concept = None
    codes = [c for c in sorted(g.objects(node, ELIGO.code), key=str) if isinstance(c, URIRef)]
    labels = [label for c in codes if (label := terms.label(c)) is not None]
    texts = sorted(str(t) for t in g.objects(node, ELIGO.codeText))
    if labels:
        concept = labels[0]
    elif texts:  # a record whose codes are unrecognised is named as its source wrote it
        concept = f"'{texts[0]}'" + (f" [{codes[0]}]" if codes else "")
    elif codes:
        concept = str(codes[0])
    value = None
    for prop in (ELIGO.value, ELIGO.valueCode, ELIGO.valueString, ELIGO.valueBoolean):
        v = g.value(node, prop)
        if v is not None:
            if isinstance(v, URIRef):
                value = terms.label(v) or str(v)
            else:
                unit = g.value(node, ELIGO.unit)
                value = f"{v}{' ' + str(unit) if unit is not None and prop == ELIGO.value else ''}"
            break
    if rtype == ELIGO.Patient and (birth := g.value(node, ELIGO.birthDate)) is not None:
        value = f"born {birth}"
    date = None
    for prop in (ELIGO.date, ELIGO.start):
        d = g.value(node, prop)
        if d is not None:
            date = str(d)
            end = g.value(node, ELIGO.end)
            if prop == ELIGO.start and end is not None:
                date = f"{d} to {end}"
            break
    return Evidence(
        source_id=source_id(g, node),
        record_type=_fragment(rtype) or "record",
        concept=concept,
        value=value,
        date=date,
    )


def _data_problems(graph: GraphLike, patient: URIRef, cited: list[Node], concepts: frozenset[URIRef]) -> list[str]:
    """Data problems of the records a criterion cites, and of the patient's records of the concepts it
    reads (an LVEF whose date could not be read is cited by no window, but the LVEF criterion needed it)."""
    nodes: list[Node] = list(cited)
    if ELIGO.Patient in concepts:
        nodes.append(patient)
    if concepts:
        for rec in sorted(set(graph.subjects(ELIGO.dataProblem, None)), key=str):
            if rec != patient and any((code, RDFS.subClassOf, g) in graph
                                     for code in graph.objects(rec, ELIGO.code) for g in concepts):
                nodes.append(rec)
    return list(dict.fromkeys(str(p) for n in nodes for p in sorted(graph.objects(n, ELIGO.dataProblem), key=str)))


def translate(*, criteria: list[Criterion], meanings: dict[object, ShapeMeaning],
              violations: list[Violation], graph: GraphLike, patient: URIRef,
              terms: TermModule, concepts: dict[str, frozenset[URIRef]] | None = None,
              ) -> tuple[list[CriterionResult], list[DataWarning]]:
    """One result per criterion, in the given order, plus engine warnings.

    ``concepts`` (criterion id -> grouping classes it reads, see :meth:`Trial.concepts`) lets an
    ``unknown`` name the records whose data problems left it undecided."""
    by_crit: dict[URIRef, list[tuple[ShapeMeaning, Violation]]] = {}
    warnings: list[DataWarning] = []
    for v in violations:
        m = meanings.get(v.source_shape)
        if m is None:
            warnings.append(DataWarning(WarningKind.ENGINE_SAFETY_NET,
                                        f"a violation of shape {v.source_shape} maps to no criterion (shapes bug)"))
            continue
        if v.focus != patient:
            warnings.append(DataWarning(WarningKind.ENGINE_SAFETY_NET,
                                        f"shape {v.source_shape} reported focus {v.focus}, not the patient "
                                        "(shapes bug)"))
        by_crit.setdefault(m.criterion, []).append((m, v))
    results: list[CriterionResult] = []
    described: dict[Node, Evidence | None] = {}  # a record cited by several criteria is described once

    def evidence_of(node: Node) -> Evidence | None:
        if node not in described:
            described[node] = _evidence(graph, node, terms)
        return described[node]

    for c in criteria:
        hits = by_crit.get(c.iri, [])
        outcome = Outcome.MET
        deciding: list[tuple[ShapeMeaning, Violation]] = []
        for candidate in _PRECEDENCE:
            # sorted: pySHACL reports violations in an order that depends on the process's string hashing,
            # and the reason and needs texts must not
            deciding = sorted(((m, v) for m, v in hits if m.on_violation is candidate),
                              key=lambda mv: (mv[1].message, mv[0].needs, str(mv[1].path), str(mv[1].value)))
            if deciding:
                outcome = candidate
                break
        ev: dict[str, Evidence] = {}
        cited: list[Node] = []
        for prop in c.evidence_paths:
            for node in sorted(graph.objects(patient, prop), key=str):
                e = evidence_of(node)
                if e is not None:
                    ev.setdefault(e.source_id, e)
                    cited.append(node)
        records_of: dict[int, list[str]] = {}  # per deciding violation: the records it cites, described
        for i, (_m, v) in enumerate(deciding):
            # the value a violation names; for a count constraint (sh:maxCount 0 on a derived link)
            # pySHACL names none, so the records the violating path reaches are cited instead
            named = [v.value] if v.value is not None else (
                sorted(graph.objects(v.focus, v.path), key=str) if isinstance(v.path, URIRef) else [])
            for node in named:
                e = evidence_of(node)
                if e is not None:
                    ev.setdefault(e.source_id, e)
                    cited.append(node)
                    records_of.setdefault(i, []).append(e.describe())
        evidence = tuple(ev.values())
        needs: tuple[str, ...] = ()
        if outcome is Outcome.MET:
            reason = c.met_reason
            if c.kind is Kind.INCLUSION and not evidence:
                # Safety rule: an inclusion criterion is met only through positive evidence.
                outcome = Outcome.UNKNOWN
                reason = "No record supports this criterion (eligo requires positive evidence)."
                needs = ("A record documenting: " + c.label,)
                warnings.append(DataWarning(WarningKind.ENGINE_SAFETY_NET,
                                            f"{c.id} had no violations but no evidence either; read as unknown"))
        elif outcome is Outcome.NOT_APPLICABLE:
            reason = _join(v.message for _m, v in deciding) or c.not_applicable_reason
        else:
            reason = _join(v.message for _m, v in deciding) or f"{c.label}: {outcome.value}"
            if outcome is Outcome.UNKNOWN:
                needs = tuple(dict.fromkeys(
                    n.replace(RECORDS_PLACEHOLDER, "; ".join(records_of.get(i, ())) or "the cited record")
                    for i, (m, _v) in enumerate(deciding) for n in m.needs))
        if outcome is Outcome.UNKNOWN:
            problems = _data_problems(graph, patient, cited, (concepts or {}).get(c.id, frozenset()))
            if problems:
                reason += " Data problem" + ("s" if len(problems) > 1 else "") + ": " + "; ".join(problems) + "."
                needs += tuple(f"A corrected record in place of {p}" for p in problems)
        results.append(CriterionResult(
            id=c.id, kind=c.kind, label=c.label, outcome=outcome, attestation=c.attestation,
            reason=reason, needs=needs, evidence=evidence,
        ))
    return results, warnings


def _join(messages: Iterable[str | None]) -> str:
    uniq = list(dict.fromkeys(m for m in messages if m))
    return " ".join(m if m.endswith(".") else m + "." for m in uniq)


__all__ = ["CriterionResult", "Evidence", "Screening", "Verdict", "overall_verdict", "translate"]
