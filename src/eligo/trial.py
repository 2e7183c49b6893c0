"""A trial folder: criteria metadata, parameters, rules and shapes.

A trial is data (``shapes/<trial-id>/``); this module reads it into typed
objects. Nothing here evaluates a patient.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from eligo.cache import cached, files_digest
from eligo.errors import TrialError
from eligo.model import AGE_PROPERTIES, ELIGO, ETERM, PREFIXES
from eligo.paths import SHAPES_DIR
from eligo.placeholders import render_texts
from eligo.rule_queries import parse_rule, query_iris


class Kind(enum.Enum):
    INCLUSION = "inclusion"
    EXCLUSION = "exclusion"


class Outcome(enum.Enum):
    """The outcome of one criterion for one patient."""

    MET = "met"
    NOT_MET = "not-met"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not-applicable"


OUTCOME_IRIS: dict[Node, Outcome] = {
    ELIGO.Met: Outcome.MET,
    ELIGO.NotMet: Outcome.NOT_MET,
    ELIGO.Unknown: Outcome.UNKNOWN,
    ELIGO.NotApplicable: Outcome.NOT_APPLICABLE,
}
KIND_IRIS: dict[Node, Kind] = {ELIGO.Inclusion: Kind.INCLUSION, ELIGO.Exclusion: Kind.EXCLUSION}


@dataclass(frozen=True, slots=True)
class Criterion:
    """One eligibility criterion as its shapes file declares it."""

    iri: URIRef
    id: str
    kind: Kind
    order: int
    label: str
    protocol_text: str
    attestation: bool
    #: its outcome depends on the patient's birth date or sex (``eligo:demographic``)
    demographic: bool
    possible_outcomes: frozenset[Outcome]
    evidence_paths: tuple[URIRef, ...]
    met_reason: str
    not_applicable_reason: str
    comment: str
    file: Path


@dataclass(frozen=True, slots=True)
class Parameter:
    """A window, threshold or washout, with its provenance."""

    iri: URIRef
    label: str
    provenance: str
    value: Literal | None = None
    unit: str | None = None
    days: int = 0
    months: int = 0
    years: int = 0
    is_window: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A SPARQL CONSTRUCT rule run on the patient graph before validation."""

    iri: URIRef
    order: Decimal
    criterion: URIRef | None
    text: str
    query: Query = field(repr=False, compare=False)
    #: every IRI the query names (see :func:`query_iris`)
    iris: frozenset[URIRef] = field(default=frozenset(), repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ShapeMeaning:
    """What a violation of one shape means for its criterion."""

    criterion: URIRef
    on_violation: Outcome
    needs: tuple[str, ...]


class Trial:
    """A loaded trial folder."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise TrialError("no such trial folder", source=str(folder))
        self.folder = folder
        self.graph = Graph()
        self.file_of: dict[URIRef, Path] = {}
        files = sorted(folder.glob("*.ttl"))
        if not files:
            raise TrialError("the trial folder holds no .ttl files", source=str(folder))
        for f in files:
            part = Graph()
            try:
                part.parse(f, format="turtle")
            except Exception as exc:  # rdflib raises many types for bad Turtle
                raise TrialError(f"cannot parse: {exc}", source=str(f)) from exc
            for s in part.subjects(RDF.type, None):
                if isinstance(s, URIRef):
                    self.file_of.setdefault(s, f)
            self.graph += part
        trial_node = self.graph.value(None, RDF.type, ELIGO.Trial)
        if not isinstance(trial_node, URIRef):
            raise TrialError("no eligo:Trial node (trial.ttl)", source=str(folder))
        self.iri: URIRef = trial_node
        self.id = str(self.graph.value(trial_node, ELIGO.trialId) or folder.name)
        self.title = str(self.graph.value(trial_node, RDFS.label) or self.id)
        self.prefixes = self._declared_prefixes(trial_node)
        self.parameters = self._read_parameters()
        # texts name parameters ({labWindow}); render them before criteria, meanings and shapes read them
        render_texts(self.graph, self.parameters, files=self.file_of, folder=folder)
        self.criteria = self._read_criteria()
        self.rules = self._read_rules()
        self.shape_meanings = self._read_shape_meanings()
        self.parameter_graph = self._parameter_graph()
        self.shapes_graph = self._resolved_shapes_graph()
        self._reads = {c.id: self._criterion_reads(c) for c in self.criteria}
        self._concepts = {cid: frozenset({i for i in iris if i.startswith(str(ETERM))}
                                         | ({ELIGO.Patient} if iris & AGE_PROPERTIES else set()))
                          for cid, iris in self._reads.items()}

    # ------------------------------------------------------------------ loading
    @staticmethod
    def resolve(trial: str | Path, *, shapes_dir: Path = SHAPES_DIR) -> Path:
        """The folder of a trial given by path or by id (a folder name under ``shapes/``)."""
        path = Path(trial)
        if not path.is_dir():
            path = shapes_dir / str(trial)
        if not path.is_dir():
            known = sorted(p.name for p in shapes_dir.iterdir() if p.is_dir()) if shapes_dir.is_dir() else []
            raise TrialError(f"unknown trial {str(trial)!r}; known trials: {', '.join(known) or 'none'}")
        return path

    @classmethod
    def load(cls, trial: str | Path, *, shapes_dir: Path = SHAPES_DIR, cache_dir: Path | None = None) -> Trial:
        """Load a trial by folder path or by id (a folder name under ``shapes/``).

        With ``cache_dir``, reuse the trial loaded from the same files before (see :mod:`eligo.cache`).
        """
        folder = cls.resolve(trial, shapes_dir=shapes_dir)
        if cache_dir is None:
            return cls(folder)
        return cached(cache_dir, "trial", folder, files_digest(sorted(folder.glob("*.ttl")), folder), cls,
                      lambda: cls(folder))

    def _declared_prefixes(self, node: URIRef) -> dict[str, str]:
        out: dict[str, str] = {}
        for decl in self.graph.objects(node, SH.declare):
            p, ns = self.graph.value(decl, SH.prefix), self.graph.value(decl, SH.namespace)
            if p is not None and ns is not None:
                out[str(p)] = str(ns)
        return out

    def _file(self, node: Node) -> Path:
        """The file that defines ``node`` (the trial folder when unknown), for messages."""
        return self.file_of.get(node, self.folder) if isinstance(node, URIRef) else self.folder

    def _text(self, node: URIRef, prop: URIRef, default: str = "") -> str:
        v = self.graph.value(node, prop)
        return str(v) if v is not None else default

    def _read_parameters(self) -> dict[URIRef, Parameter]:
        params: dict[URIRef, Parameter] = {}
        for p in sorted(set(self.graph.subjects(RDF.type, ELIGO.Parameter)) |
                        set(self.graph.subjects(RDF.type, ELIGO.Window)), key=str):
            if not isinstance(p, URIRef):
                continue
            value = self.graph.value(p, ELIGO.value)
            unit = self.graph.value(p, ELIGO.unit)
            params[p] = Parameter(
                iri=p,
                label=self._text(p, RDFS.label, str(p)),
                provenance=self._text(p, ELIGO.provenance),
                value=value if isinstance(value, Literal) else None,
                unit=str(unit) if unit is not None else None,
                days=int(str(self.graph.value(p, ELIGO.days) or 0)),
                months=int(str(self.graph.value(p, ELIGO.months) or 0)),
                years=int(str(self.graph.value(p, ELIGO.years) or 0)),
                is_window=(p, RDF.type, ELIGO.Window) in self.graph,
            )
        return params

    def _read_criteria(self) -> list[Criterion]:
        out: list[Criterion] = []
        for c in self.graph.subjects(RDF.type, ELIGO.Criterion):
            if not isinstance(c, URIRef):
                continue
            cid = self._text(c, ELIGO.criterionId)
            if not cid:
                raise TrialError(f"criterion {c} has no eligo:criterionId",
                                 source=str(self.file_of.get(c, self.folder)))
            kind_iri = self.graph.value(c, ELIGO.kind)
            if not isinstance(kind_iri, URIRef) or kind_iri not in KIND_IRIS:
                raise TrialError(f"criterion {cid} has no valid eligo:kind (eligo:Inclusion or eligo:Exclusion)",
                                 source=str(self.file_of.get(c, self.folder)))
            order = self.graph.value(c, ELIGO.order)
            out.append(Criterion(
                iri=c,
                id=cid,
                kind=KIND_IRIS[kind_iri],
                order=int(str(order)) if order is not None else 10_000,
                label=self._text(c, RDFS.label, cid),
                protocol_text=self._text(c, ELIGO.protocolText),
                attestation=isinstance(a := self.graph.value(c, ELIGO.attestation), Literal) and bool(a.toPython()),
                demographic=isinstance(d := self.graph.value(c, ELIGO.demographic), Literal) and d.toPython() is True,
                possible_outcomes=frozenset(
                    OUTCOME_IRIS[o] for o in self.graph.objects(c, ELIGO.possibleOutcome)
                    if isinstance(o, URIRef) and o in OUTCOME_IRIS
                ),
                evidence_paths=tuple(sorted(p for p in self.graph.objects(c, ELIGO.evidencePath)
                                            if isinstance(p, URIRef))),
                met_reason=self._text(c, ELIGO.metReason, "Criterion satisfied."),
                not_applicable_reason=self._text(c, ELIGO.notApplicableReason, "Does not apply to this patient."),
                comment=self._text(c, RDFS.comment),
                file=self.file_of.get(c, self.folder),
            ))
        kinds_order = {Kind.INCLUSION: 0, Kind.EXCLUSION: 1}
        out.sort(key=lambda c: (kinds_order[c.kind], c.order, c.id))
        seen: set[str] = set()
        for crit in out:
            if crit.id in seen:
                raise TrialError(f"duplicate criterion id {crit.id}", source=str(crit.file))
            seen.add(crit.id)
        return out

    def _read_rules(self) -> list[Rule]:
        rules: list[Rule] = []
        for r in self.graph.subjects(RDF.type, SH.SPARQLRule):
            text = self.graph.value(r, SH.construct)
            if text is None:
                raise TrialError(f"rule {r} has no sh:construct", source=str(self._file(r)))
            try:
                q = parse_rule(str(text), self.prefixes)
            except Exception as exc:  # pyparsing errors carry line/column
                raise TrialError(f"rule {r} is not valid SPARQL: {exc}",
                                 source=str(self._file(r))) from exc
            order = self.graph.value(r, SH.order)
            crit = self.graph.value(r, ELIGO.criterion)
            rules.append(Rule(
                iri=r,  # type: ignore[arg-type]
                order=Decimal(str(order)) if order is not None else Decimal(0),
                criterion=crit if isinstance(crit, URIRef) else None,
                text=str(text),
                query=q,
                iris=query_iris(q),
            ))
        rules.sort(key=lambda r: (r.order, str(r.iri)))
        return rules

    def _read_shape_meanings(self) -> dict[object, ShapeMeaning]:
        meanings: dict[object, ShapeMeaning] = {}
        for shape, crit in self.graph.subject_objects(ELIGO.criterion):
            if (shape, RDF.type, SH.SPARQLRule) in self.graph or not isinstance(crit, URIRef):
                continue
            base = self._meaning(shape, crit, None)
            if base is None:
                raise TrialError(f"shape {shape} of {crit} has no eligo:onViolation",
                                 source=str(self._file(shape)))
            meanings[shape] = base
            for prop in self.graph.objects(shape, SH.property):
                m = self._meaning(prop, crit, base)
                if m is not None:
                    meanings[prop] = m
        return meanings

    def _meaning(self, node: Node, crit: URIRef, inherit: ShapeMeaning | None) -> ShapeMeaning | None:
        ov = self.graph.value(node, ELIGO.onViolation)
        needs = tuple(sorted(str(n) for n in self.graph.objects(node, ELIGO.needs)))
        if ov is None:
            if inherit is None:
                return None
            return ShapeMeaning(crit, inherit.on_violation, needs or inherit.needs)
        if ov not in OUTCOME_IRIS:
            raise TrialError(f"shape {node}: eligo:onViolation must be eligo:NotMet, eligo:Unknown or "
                             f"eligo:NotApplicable, not {ov}")
        return ShapeMeaning(crit, OUTCOME_IRIS[ov], needs)

    def _parameter_graph(self) -> Graph:
        g = Graph()
        for p in self.parameters:
            for pred, obj in self.graph.predicate_objects(p):
                g.add((p, pred, obj))
        return g

    def _resolved_shapes_graph(self) -> Graph:
        """The shapes graph with parameter IRIs replaced by their values, rules removed."""
        g = Graph()
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns)
        rule_nodes = set(self.graph.subjects(RDF.type, SH.SPARQLRule))
        sh_ns = str(SH)
        for s, p, o in self.graph:
            if s in rule_nodes:
                continue
            if isinstance(o, URIRef) and o in self.parameters and str(p).startswith(sh_ns):
                param = self.parameters[o]
                if param.value is None:
                    raise TrialError(f"parameter {o} is used as a constraint value but has no eligo:value",
                                     source=str(self.file_of.get(o, self.folder)))
                o = param.value
            g.add((s, p, o))
        return g

    def _criterion_reads(self, c: Criterion) -> frozenset[URIRef]:
        """The IRIs a criterion's shapes name (with their property shapes, lists and nested shapes) and its
        rules name: those with its eligo:criterion, and the shared ones (no eligo:criterion) in its file."""
        g, found, seen = self.graph, set[URIRef](), set[Node]()
        stack: list[Node] = [s for s in g.subjects(ELIGO.criterion, c.iri) if (s, RDF.type, SH.SPARQLRule) not in g]
        while stack:
            if (node := stack.pop()) in seen:
                continue
            seen.add(node)
            found |= {o for o in g.objects(node, None) if isinstance(o, URIRef)}
            stack += [o for o in g.objects(node, None) if isinstance(o, BNode) or (o, RDF.type, SH.NodeShape) in g
                      or (o, RDF.type, SH.PropertyShape) in g]
        found.update(*(r.iris for r in self.rules if r.criterion == c.iri
                       or (r.criterion is None and self.file_of.get(r.iri) == c.file)))
        return frozenset(found)

    # ------------------------------------------------------------------ views
    def reads(self, criterion_id: str) -> frozenset[URIRef]:
        """Every IRI a criterion's shapes and rules name (computed once, at load)."""
        return self._reads[self.criterion(criterion_id).id]

    def concepts(self, criterion_id: str) -> frozenset[URIRef]:
        """The grouping classes (``eterm:``) a criterion's shapes and rules read, and ``eligo:Patient`` when
        they read the patient's age or birth date (computed once, at load)."""
        return self._concepts[self.criterion(criterion_id).id]

    def criterion(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise TrialError(f"trial {self.id} has no criterion {cid!r}; it has "
                         f"{', '.join(c.id for c in self.criteria)}")

    def restricted_to(self, ids: Iterable[str]) -> tuple[list[Criterion], list[Rule], Graph]:
        """Criteria, rules and a shapes graph limited to the criteria ``ids``.

        Shapes of other criteria lose their targets, so they never fire;
        shared rules (with no eligo:criterion) are kept.
        """
        wanted = [self.criterion(i) for i in ids]
        keep = {c.iri for c in wanted}
        rules = [r for r in self.rules if r.criterion is None or r.criterion in keep]
        g = Graph()
        g += self.shapes_graph
        for shape, crit in self.graph.subject_objects(ELIGO.criterion):
            if crit not in keep:
                for t in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
                    g.remove((shape, t, None))
        return wanted, rules, g


__all__ = ["Criterion", "Kind", "Outcome", "Parameter", "Rule", "ShapeMeaning", "Trial", "parse_rule", "query_iris"]
