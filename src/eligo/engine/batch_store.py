"""The set-at-a-time engine: a batch of patients in one in-memory Oxigraph store (issue #13).

Each patient arrives mapped and generically derived as :class:`eligo.triples.Triples` (no rdflib
``Graph``); the batch is loaded into one store with the trial's parameters, the trial's rules run once
for the whole batch in ``sh:order`` (:mod:`eligo.engine.batch_rules`), the compiled shapes
(:mod:`eligo.engine.shape_compiler`) return every patient's violations at once, and the reference
translation (:func:`eligo.engine.verdict.translate`) turns each patient's violations into outcomes,
reasons, needs and evidence, reading the patient's own triples plus what the rules derived for it.
A batch is loaded as N-Triples text, parsed in one call (:class:`eligo.triples.NTriplesWriter`).
pySHACL with per-patient rdflib rules (:class:`eligo.engine.derive.Deriver`) is the reference; the
differential tests run both.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from eligo.engine.batch_rules import BatchRules
from eligo.engine.shape_compiler import CompiledShapes, compile_shapes
from eligo.engine.shape_eval import evaluate, to_rdflib
from eligo.engine.validate import Violation
from eligo.engine.verdict import CriterionResult, translate
from eligo.notices import DataWarning
from eligo.terms import TermModule
from eligo.trial import Trial
from eligo.triples import NTriplesWriter, Triples

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


#: IRIs kept by a :class:`TermConverter`: the repeated ones (predicates, codes, datatypes) come first;
#: patient IRIs that never repeat must not grow the cache without bound.
MAX_CACHED_IRIS = 200_000


class TermConverter:
    """rdflib terms as pyoxigraph terms; IRIs and datatypes are cached (a batch repeats them endlessly).
    The one conversion eligo has: the population store extends it (:mod:`eligo.population.store`)."""

    def __init__(self) -> None:
        self._iris: dict[str, ox.NamedNode] = {}

    def iri(self, value: str) -> ox.NamedNode:
        node = self._iris.get(value)
        if node is None:
            node = ox.NamedNode(value)  # validates the IRI
            if len(self._iris) < MAX_CACHED_IRIS:
                self._iris[value] = node
        return node

    def term(self, t: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        if isinstance(t, URIRef):
            return self.iri(t)
        if isinstance(t, Literal):
            if t.language:
                return ox.Literal(str(t), language=t.language)
            if t.datatype is None or str(t.datatype) == _XSD_STRING:
                return ox.Literal(str(t))
            return ox.Literal(str(t), datatype=self.iri(str(t.datatype)))
        if isinstance(t, BNode):
            return ox.BlankNode(str(t))
        raise TypeError(f"not an RDF term: {t!r}")


@dataclass(frozen=True, slots=True)
class Prepared:
    """One patient of a batch: mapped and generically derived, with what was noticed so far."""

    graph: Triples
    patient: URIRef
    warnings: tuple[DataWarning, ...]


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One patient's results from the batch engine."""

    patient: URIRef
    results: tuple[CriterionResult, ...]
    warnings: tuple[DataWarning, ...]
    #: the compiled shapes' violations the results were translated from (for differential tests)
    violations: tuple[Violation, ...] = ()


@dataclass
class BatchTimings:
    """Seconds spent in each step of the batch engine, summed over the batches it ran."""

    #: reading and mapping the input, and the generic derivation (filled in by :class:`eligo.batch.BatchScreener`)
    map: float = 0.0
    derive: float = 0.0
    load: float = 0.0
    rules: float = 0.0
    shapes: float = 0.0
    translate: float = 0.0
    #: per rule (local name): seconds
    per_rule: dict[str, float] = field(default_factory=dict)


class BatchEngine:
    """Runs one trial's rules and compiled shapes over batches of prepared patients."""

    def __init__(self, trial: Trial, terms: TermModule, *, rules: BatchRules | None = None,
                 shapes: CompiledShapes | None = None) -> None:
        self.trial = trial
        self.terms = terms
        self.rules = rules if rules is not None else BatchRules.from_trial(trial)
        self.shapes = shapes if shapes is not None else compile_shapes(trial.shapes_graph)
        self._write = NTriplesWriter()
        self._rdflib: dict[object, Node] = {}
        self._parameters = self._write.lines(Triples(trial.parameter_graph))
        self._concepts = {c.id: trial.concepts(c.id) for c in trial.criteria}
        self.timings = BatchTimings()

    def _back(self, term: object) -> Node:
        """A derived term as an rdflib term (cached: derived facts repeat their predicates and values)."""
        node = self._rdflib.get(term)
        if node is None:
            node = to_rdflib(term)
            if len(self._rdflib) < MAX_CACHED_IRIS:
                self._rdflib[term] = node
        return node

    def run(self, batch: Sequence[Prepared]) -> list[Evaluated]:
        """Every patient's criterion results, in the order of ``batch`` (patient IRIs must be distinct)."""
        if not batch:
            return []
        t0 = time.perf_counter()
        # which patients' graphs hold each subject (a violation's focus is the patient; another focus is a
        # shapes bug that translate reports): a shared node (a code IRI) is held by every patient that has it
        owners: dict[Node, list[int]] = {}
        store = ox.Store()
        lines: list[str] = list(self._parameters)
        hierarchy: dict[Node, set[Node]] = {}  # the code hierarchy, repeated in each graph, is written once
        for i, p in enumerate(batch):
            for node in p.graph.subject_nodes():
                owners.setdefault(node, []).append(i)
            lines.extend(self._write.lines(p.graph, hierarchy_written=hierarchy))
        text = "".join(lines)
        # parsed in one call, cheaper than a store term per triple. Store.load is cheaper still (about
        # 0.4 ms per patient) but renames blank nodes, which the translation's evidence must keep: it is used
        # only when the text can hold none (every blank node is written "_:label"; FHIR input makes none).
        # Leniently: Oxigraph then skips its RFC 3987 check of each IRI (a quarter of the parse) and takes an
        # IRI rdflib takes (`%zz`), as the reference does; the text is still parsed as N-Triples, and the
        # writer refuses a term that could end its line early
        if "_:" in text:
            store.extend(ox.parse(text, format=ox.RdfFormat.N_TRIPLES, lenient=True))
        else:
            store.load(text, format=ox.RdfFormat.N_TRIPLES, lenient=True)
        t1 = time.perf_counter()
        derived = {q.value: facts for q, facts in
                   self.rules.run_by_patient(store, timings=self.timings.per_rule).items()}
        back = self._back
        for p in batch:  # each rule row names its patient ($this): its facts go to that patient's graph
            for triple in derived.get(str(p.patient), ()):
                p.graph.add((back(triple.subject), back(triple.predicate), back(triple.object)))
        t2 = time.perf_counter()
        violations: list[list[Violation]] = [[] for _ in batch]
        for v in evaluate(self.shapes, store):
            for i in owners.get(v.focus, ()):  # a focus that is not the patient: translate warns (shapes bug)
                violations[i].append(v)
        t3 = time.perf_counter()
        out: list[Evaluated] = []
        for p, found in zip(batch, violations, strict=True):
            results, engine_warnings = translate(
                criteria=self.trial.criteria, meanings=self.trial.shape_meanings,
                violations=found, graph=p.graph, patient=p.patient, terms=self.terms, concepts=self._concepts)
            out.append(Evaluated(p.patient, tuple(results), p.warnings + tuple(engine_warnings), tuple(found)))
        t4 = time.perf_counter()
        self.timings.load += t1 - t0
        self.timings.rules += t2 - t1
        self.timings.shapes += t3 - t2
        self.timings.translate += t4 - t3
        return out


__all__ = ["BatchEngine", "BatchTimings", "Evaluated", "Prepared", "TermConverter"]
