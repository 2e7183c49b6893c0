"""The trial's SHACL-AF rules run once over a whole batch of patients in one pyoxigraph store (issue #13).

In SHACL-AF, ``$this`` is a pre-bound variable: the reference engine (:meth:`eligo.engine.derive.Deriver.
apply_rule`) runs each rule once per patient with ``$this`` bound to that patient, on that patient's graph.
Here each rule runs once per batch, with ``$this`` a free variable that ranges over every patient of the
store; each rule's results are inserted before the next rule runs, in ``sh:order`` (then rule IRI), as
:attr:`eligo.trial.Trial.rules` sorts them. The two give the same facts exactly when every pattern of a
rule hangs off ``$this`` (``eligo shapes lint``, check ``rule-anchored``, states the rule and
docs/authoring.md, "Rules that run set-at-a-time", explains it).

A rule's ``CONSTRUCT`` becomes a ``SELECT`` of ``?this`` and the template's variables over the rule's own
``WHERE`` clause (the text is cut at the template, not rewritten), so every constructed triple is known
with the patient it was derived for; the template is instantiated here with CONSTRUCT's rules (a triple
with an unbound or ill-placed term is left out; a template blank node is new for each solution).
``$this`` needs no rewriting: in SPARQL ``$this`` and ``?this`` are one variable. Solutions whose
``?this`` is not an ``eligo:Patient`` of the store are dropped (in the reference, ``$this`` is always the
patient).

The ``eligo:`` functions rules call (:mod:`eligo.engine.sparqlfuncs`) are passed to Oxigraph as
``custom_functions``: the very functions the rdflib path registers, behind an adapter for pyoxigraph
terms.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef, Variable
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from eligo.engine.sparqlfuncs import FUNCTIONS, FunctionError, Lit, call
from eligo.errors import TrialError
from eligo.model import PATIENT
from eligo.trial import Rule, Trial

THIS = "this"

# --------------------------------------------------------------------------------------------- functions


def _ox_lit(term: object) -> Lit | None:
    if isinstance(term, ox.Literal):
        return Lit(term.value, term.datatype.value)
    return None


#: Results kept per function: the functions are pure, and a batch calls them with the same arguments over and
#: over (every patient's index date minus the same window). The call from Oxigraph into Python still happens;
#: the cache saves reading the arguments and the exact arithmetic.
FUNCTION_CACHE_SIZE = 1 << 16


def _ox_function(iri: str) -> Callable[..., ox.Literal | None]:
    @functools.lru_cache(maxsize=FUNCTION_CACHE_SIZE)
    def apply(*args: object) -> ox.Literal | None:  # pyoxigraph terms hash and compare as RDF terms
        try:
            out = call(iri, tuple(_ox_lit(a) for a in args))
        except FunctionError:
            return None  # a SPARQL error: the expression is unbound, as in rdflib
        return ox.Literal(out.lexical, datatype=ox.NamedNode(out.datatype))
    return apply


#: The ``eligo:`` functions for ``Store.query(..., custom_functions=...)``.
OXIGRAPH_FUNCTIONS: dict[ox.NamedNode, Callable[..., ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None]] = {
    ox.NamedNode(iri): _ox_function(iri) for iri in FUNCTIONS}

# --------------------------------------------------------------------------------------------- rule texts

#: A template term, as plain data (picklable): ("var", name), ("iri", iri), ("bnode", label),
#: ("literal", lexical, datatype or "", language or "").
TemplateTerm = tuple[str, ...]
TemplateTriple = tuple[TemplateTerm, TemplateTerm, TemplateTerm]

_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_NAME_CHAR = re.compile(r"[A-Za-z0-9_:?$\-]")


def _skip_string(text: str, i: int) -> int:
    """The index after the string literal starting at ``text[i]``."""
    for quote in ('"""', "'''"):
        if text.startswith(quote, i):
            end = i + 3
            while True:
                j = text.find(quote, end)
                if j < 0:
                    raise ValueError("unterminated long string")
                if text[j - 1] != "\\" or text[j - 2] == "\\":  # an escaped quote does not end it
                    return j + 3
                end = j + 1
    quote, j = text[i], i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        if text[j] == "\n":
            break
        j += 1
    raise ValueError("unterminated string")


def _tokens(text: str) -> Iterable[tuple[int, str]]:
    """(index, character or keyword) of the query's significant characters: strings, IRIs and comments
    skipped; words yielded whole."""
    i = 0
    while i < len(text):
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = len(text) if j < 0 else j + 1
        elif c in "\"'":
            i = _skip_string(text, i)
        elif c == "<" and (m := _IRIREF.match(text, i)) is not None:
            i = m.end()
        elif _NAME_CHAR.match(c):
            j = i
            while j < len(text) and (_NAME_CHAR.match(text[j]) or text[j] == "."
                                     and j + 1 < len(text) and _NAME_CHAR.match(text[j + 1])):
                j += 1
            yield i, text[i:j]
            i = j
        else:
            if not c.isspace():
                yield i, c
            i += 1


def construct_span(text: str) -> tuple[int, int]:
    """Where the ``CONSTRUCT`` keyword and its template are in a rule's text: ``(start, end)`` with
    ``text[end:]`` the ``WHERE`` clause and what follows it (for ``CONSTRUCT WHERE { ... }``, the span of
    the keyword alone)."""
    toks = iter(_tokens(text))
    for i, tok in toks:
        if tok.upper() == "CONSTRUCT":
            j, nxt = next(toks, (len(text), ""))
            if nxt.upper() == "WHERE":
                return i, j
            if nxt != "{":
                break
            depth = 1
            for k, t in toks:
                depth += {"{": 1, "}": -1}.get(t, 0)
                if depth == 0:
                    return i, k + 1
            break
    raise ValueError("no CONSTRUCT template found")


def _template_term(node: Node) -> TemplateTerm:
    if isinstance(node, Variable):
        return ("var", str(node))
    if isinstance(node, URIRef):
        return ("iri", str(node))
    if isinstance(node, BNode):
        return ("bnode", str(node))
    if isinstance(node, Literal):
        return ("literal", str(node), str(node.datatype or ""), node.language or "")
    raise TrialError(f"a CONSTRUCT template holds {node!r}, which is not an RDF term")


def _ox_term(t: TemplateTerm) -> ox.NamedNode | ox.Literal:
    if t[0] == "iri":
        return ox.NamedNode(t[1])
    _kind, lexical, datatype, language = t
    if language:
        return ox.Literal(lexical, language=language)
    if datatype and datatype != str(XSD.string):
        return ox.Literal(lexical, datatype=ox.NamedNode(datatype))
    return ox.Literal(lexical)


@dataclass(frozen=True, slots=True)
class BatchRule:
    """One rule ready for a batch store: a SELECT text and the template to instantiate (plain data)."""

    iri: str
    #: the rule IRI's local name (the key of ``timings``)
    name: str
    #: the prefixed ``SELECT ?this ?v... WHERE ...`` text run on the store
    select: str
    #: the projected variables, ``this`` first
    variables: tuple[str, ...]
    template: tuple[TemplateTriple, ...]

    @classmethod
    def from_rule(cls, rule: Rule) -> BatchRule:
        """The rule's text, its ``CONSTRUCT`` template cut out for a ``SELECT``, under the prefixes its query
        was parsed with (eligo's, the trial's and rdflib's own: the text means in Oxigraph what it means in
        rdflib)."""
        template = tuple(tuple(_template_term(n) for n in t) for t in rule.query.algebra.get("template") or ())
        if not template:
            raise TrialError(f"rule {rule.iri} is not a CONSTRUCT query")
        names = sorted({t[1] for triple in template for t in triple if t[0] == "var"} - {THIS})
        variables = (THIS, *names)
        try:
            start, end = construct_span(rule.text)
        except ValueError as exc:
            raise TrialError(f"rule {rule.iri}: cannot find where its CONSTRUCT template ends ({exc})") from exc
        distinct = "" if any(t[0] == "bnode" for triple in template for t in triple) else "DISTINCT "
        projection = " ".join(f"?{v}" for v in variables)
        header = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in rule.query.prologue.namespace_manager.namespaces())
        text = f"{header}{rule.text[:start]}SELECT {distinct}{projection}\n{rule.text[end:]}"
        iri = str(rule.iri)
        return cls(iri, re.split(r"[#/]", iri)[-1], text, variables, template)  # type: ignore[arg-type]

    def solutions(self, store: ox.Store) -> ox.QuerySolutions:
        result = store.query(self.select, custom_functions=OXIGRAPH_FUNCTIONS)
        assert isinstance(result, ox.QuerySolutions)
        return result


#: the triples derived for each patient (as quads of the default graph: the store takes them as they are)
ByPatient = dict[ox.NamedNode, set[ox.Quad]]

_SUBJECT_TYPES = (ox.NamedNode, ox.BlankNode)
_OBJECT_TYPES = (ox.NamedNode, ox.BlankNode, ox.Literal)


def _instantiate(rule: BatchRule, rows: Iterable[ox.QuerySolution], patients: set[ox.NamedNode],
                 out: ByPatient) -> list[ox.Quad]:
    """The template's triples for each solution, by patient (``out``); returns the triples new to ``out``."""
    index = {v: i for i, v in enumerate(rule.variables)}
    consts = {t: _ox_term(t) for triple in rule.template for t in triple if t[0] in ("iri", "literal")}
    # per template position: (variable index, constant, blank node label): one of the three is set
    plan = [tuple((index[t[1]] if t[0] == "var" else -1, consts.get(t), t[1] if t[0] == "bnode" else None)
                  for t in triple) for triple in rule.template]
    has_bnodes = any(label is not None for triple in plan for _i, _c, label in triple)
    quad, subject_types, object_types = ox.Quad, _SUBJECT_TYPES, _OBJECT_TYPES
    new: list[ox.Quad] = []
    for row in rows:
        values = tuple(row)
        this = values[0]
        fresh: dict[str, ox.BlankNode] = {}
        facts: set[ox.Quad] | None = None
        for triple in plan:
            s, p, o = (values[i] if i >= 0 else c if label is None else
                       fresh.setdefault(label, ox.BlankNode()) for i, c, label in triple)
            if (not isinstance(s, subject_types) or not isinstance(p, ox.NamedNode)
                    or not isinstance(o, object_types)):
                continue  # CONSTRUCT leaves out a triple with an unbound or ill-placed term
            if facts is None:
                if this is None:
                    raise TrialError(f"rule {rule.iri} derived {s} {p} {o} for no patient: its pattern does not "
                                     "bind $this everywhere (`eligo shapes lint`, check rule-anchored)")
                if this not in patients:
                    break  # in the reference, $this is always the patient
                facts = out.get(this)
                if facts is None:
                    facts = out[this] = set()
            fact = quad(s, p, o)
            if has_bnodes or fact not in facts:
                facts.add(fact)
                new.append(fact)
    return new


@dataclass(frozen=True, slots=True)
class BatchRules:
    """A trial's rules prepared once (picklable: plain strings), run over any number of batch stores."""

    rules: tuple[BatchRule, ...]

    @classmethod
    def from_rules(cls, rules: Sequence[Rule]) -> BatchRules:
        """``rules`` in the order given (:attr:`Trial.rules` is already in ``sh:order``, then IRI)."""
        return cls(tuple(BatchRule.from_rule(r) for r in rules))

    @classmethod
    def from_trial(cls, trial: Trial, rules: Sequence[Rule] | None = None) -> BatchRules:
        """The trial's rules (or ``rules``, e.g. those of :meth:`Trial.restricted_to`)."""
        return cls.from_rules(trial.rules if rules is None else rules)

    def run_by_patient(self, store: ox.Store, *, timings: dict[str, float] | None = None) -> ByPatient:
        """Run every rule in order over every ``eligo:Patient`` of ``store``, inserting each rule's new
        triples before the next runs; return the triples derived for each patient. ``timings`` (rule
        local name -> seconds) is added to when given."""
        patients = _patients(store)
        out: ByPatient = {}
        for rule in self.rules:
            t0 = time.perf_counter()
            new = _instantiate(rule, rule.solutions(store), patients, out)
            if new:
                store.extend(new)
            if timings is not None:
                timings[rule.name] = timings.get(rule.name, 0.0) + time.perf_counter() - t0
        return out

    def run(self, store: ox.Store, *, timings: dict[str, float] | None = None) -> list[ox.Triple]:
        """Like :meth:`run_by_patient`; every derived triple once, in no particular order."""
        found = self.run_by_patient(store, timings=timings)
        return list({ox.Triple(q.subject, q.predicate, q.object) for quads in found.values() for q in quads})


def _patients(store: ox.Store) -> set[ox.NamedNode]:
    """The patients of a store: its ``eligo:Patient`` IRIs."""
    found = store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(PATIENT)))
    return {q.subject for q in found if isinstance(q.subject, ox.NamedNode)}


def run_rules(store: ox.Store, rules: Sequence[Rule] | BatchRules, *,
              timings: dict[str, float] | None = None) -> list[ox.Triple]:
    """Run ``rules`` (in the order given) over every patient of ``store``; see :meth:`BatchRules.run`. Prepare
    them once (:meth:`BatchRules.from_trial`) when running many batches."""
    prepared = rules if isinstance(rules, BatchRules) else BatchRules.from_rules(rules)
    return prepared.run(store, timings=timings)


__all__ = ["OXIGRAPH_FUNCTIONS", "BatchRule", "BatchRules", "ByPatient", "construct_span", "run_rules"]
