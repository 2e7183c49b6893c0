"""What keeps a rule from running set-at-a-time exactly as it runs per patient, read from the query algebra
(``eligo shapes lint``, checks ``rule-anchored`` and ``rule-arithmetic``).

**Anchoring** (:func:`leaks`): does every pattern of a rule hang off ``$this``?

The reference engine runs a rule once per patient, on that patient's graph, with ``$this`` pre-bound to the
patient (SHACL-AF). The batch engine (:mod:`eligo.engine.batch_rules`) runs it once over the union of many
patients' graphs with ``?this`` free, evaluating the algebra bottom-up as SPARQL defines it. The two agree
when every part of the rule that is evaluated on its own reaches only the patient's own data, through
``$this``. The rule, as checked here (docs/authoring.md, "Rules that run set-at-a-time"):

1. **Tied patterns.** In each *unit* (below), every triple pattern must be tied: its subject is a constant
   IRI (a trial parameter: ``<trial>:labWindow eligo:value ?d``; but not as the subject of ``rdfs:subClassOf``,
   see below), a ``VALUES`` constant or a variable already tied; or its object is ``$this`` or a variable
   *owned* by the patient, and then its subject is owned too. ``$this`` is owned, and a pattern that names
   ``$this`` binds it. A variable is tied as the object (or predicate) of a tied pattern, by ``VALUES`` or by
   ``BIND``; it is owned only by pointing at an owned node (``?o eligo:subject $this``). So ties run from
   subject to object, and from object to subject only through owned nodes: a shared value (a code, a date,
   a status constant) links many patients' records. The patterns of one unit are tied together, in any
   order (a fixpoint), property paths as one step from subject to object.
2. **Units.** The units are the rule's ``WHERE`` pattern; each ``UNION`` branch and each nested group
   ``{ ... }``, tied by its own patterns and by the variables its enclosing unit received, never by its
   siblings (it is evaluated before it is joined: an untied one is at best a cross product, at worst a
   leak); each ``OPTIONAL`` and ``MINUS`` pattern, tied also by the variables its group has tied before it;
   each ``EXISTS`` and ``NOT EXISTS`` pattern, tied also by the variables bound where it is evaluated; each
   subquery, tied by its own patterns only.
3. **``$this`` where it is read.** An ``OPTIONAL``, ``MINUS``, ``EXISTS`` or ``NOT EXISTS`` pattern that
   names ``$this``, and a ``FILTER`` or ``BIND`` expression that reads it, needs ``$this`` bound by the
   group around it at that point (in a ``UNION`` branch or nested group: by that branch or group).
   Otherwise it is evaluated with ``?this`` free and one patient's data answers for another.
4. **The whole rule** binds ``$this`` (its ``WHERE`` pattern ties it), so every solution belongs to a
   patient.
5. **Aggregates and subqueries.** A subquery that reads patient data (names ``$this`` or matches a
   pattern with a variable subject) projects ``?this``, and one that aggregates groups by ``?this``, or one
   patient's count is everyone's. No ``LIMIT`` or ``OFFSET`` in a rule (they would cut across patients);
   no ``GRAPH`` or ``SERVICE``.

Assumptions about the data (true of eligo's derived graphs): a patient's own nodes (the patient, its
records, their components) appear in no other patient's triples; a constant's triples are the same in
every patient's graph (the trial's parameters are in each). The code hierarchy is the exception: it is
copied for the codes a patient has, so a pattern whose subject is a constant and whose predicate is
``rdfs:subClassOf`` (``eterm:X rdfs:subClassOf ?g``) is not tied; rules read the hierarchy from a patient's
code (``?o eligo:code/rdfs:subClassOf eterm:X``).

**Arithmetic** (:func:`native_arithmetic`): SPARQL's ``*``, ``/`` and ``AVG`` are computed differently by
rdflib (28 significant digits) and Oxigraph (18 fractional digits; a product that needs more is an error),
so rules multiply and divide with ``eligo:multiply`` and ``eligo:divide`` (:mod:`eligo.engine.sparqlfuncs`),
which both engines call. ``+``, ``-`` and comparisons are exact in both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeGuard

from rdflib import BNode, URIRef, Variable
from rdflib.namespace import RDFS
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.paths import Path as RdfPath
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from eligo.trial import Rule

THIS = Variable("this")
OWNED, TIED = 2, 1  # OWNED: the patient or a node of its own; TIED: a value reached from the patient or a constant

Pattern = tuple[Node, object, Node]


@dataclass(frozen=True, slots=True)
class Leak:
    """One part of a rule that does not hang off ``$this``."""

    #: the unit: "rule", "UNION branch", "OPTIONAL", "MINUS", "EXISTS", "NOT EXISTS", "subquery", "expression"
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def _is_var(n: object) -> TypeGuard[Variable | BNode]:
    """A query variable; a blank node in a pattern is one too."""
    return isinstance(n, Variable | BNode)


def _show(n: object) -> str:
    if isinstance(n, Variable):
        return f"?{n}"
    if isinstance(n, BNode):
        return "[]"
    if isinstance(n, URIRef):
        return f"<{n}>"
    if isinstance(n, RdfPath):
        return n.n3()
    return str(n)


def _show_patterns(patterns: Iterable[Pattern]) -> str:
    return "; ".join(" ".join(_show(x) for x in t) for t in patterns)


def _children(node: object) -> Iterator[object]:
    """The parts of an algebra node or expression (a (NOT) EXISTS pattern, kept by rdflib as an attribute)."""
    if isinstance(node, CompValue):
        for k, v in dict.items(node):
            if k != "_vars":
                yield v
        graph = vars(node).get("graph")
        if graph is not None:
            yield graph
    elif isinstance(node, list | tuple):
        yield from node
    elif isinstance(node, dict):
        yield from node.values()
    elif isinstance(node, RdfPath):
        yield from vars(node).values()


def mentions_this(node: object) -> bool:
    """Whether ``$this`` occurs anywhere in an algebra node (its patterns, expressions, nested EXISTS)."""
    stack, seen = [node], set[int]()
    while stack:
        n = stack.pop()
        if n == THIS and isinstance(n, Variable):
            return True
        if id(n) in seen or isinstance(n, str):
            continue
        seen.add(id(n))
        stack.extend(_children(n))
    return False


def _name(node: object) -> str:
    return node.name if isinstance(node, CompValue) else ""


def _get(node: object, key: str) -> Any:
    """An item of an algebra node (``CompValue.get`` returns the key itself when it is missing)."""
    return dict.get(node, key) if isinstance(node, dict) else None


@dataclass(slots=True)
class _Group:
    """The patterns of one unit and what they tie."""

    statuses: dict[Node, int]
    bound: set[Node]
    pending: list[Pattern] = field(default_factory=list)

    def tie(self, var: Node, status: int) -> None:
        if self.statuses.get(var, 0) < status:
            self.statuses[var] = status

    def settle(self) -> None:
        """Tie every pattern that can be tied (a fixpoint: the patterns of a group are joined in any order)."""
        changed = True
        while changed:
            changed = False
            for t in list(self.pending):
                s, p, o = t
                if isinstance(p, InvPath) and isinstance(p.arg, URIRef):
                    s, p, o = o, p.arg, s
                if s == THIS or o == THIS:
                    self.tie(THIS, OWNED)  # a pattern that names $this binds it
                plain = isinstance(p, URIRef | Variable) or (
                    isinstance(p, AlternativePath) and all(isinstance(a, URIRef) for a in p.args))
                if (not _is_var(s) and not _hierarchy(p)) or s in self.statuses:
                    pass
                elif plain and self.statuses.get(o, 0) == OWNED:
                    self.tie(s, OWNED)
                else:
                    continue
                for x in (p, o):
                    if _is_var(x):
                        self.tie(x, TIED)
                self.bound.update(x for x in (s, p, o) if _is_var(x))
                self.pending.remove(t)
                changed = True


def _hierarchy(p: object) -> bool:
    """A predicate that reads the code hierarchy (``rdfs:subClassOf``, alone or first in a path)."""
    if isinstance(p, SequencePath):
        return _hierarchy(p.args[0])
    if isinstance(p, MulPath):
        return _hierarchy(p.path)
    return p == RDFS.subClassOf


class _Checker:
    def __init__(self) -> None:
        self.leaks: list[Leak] = []

    def report(self, where: str, problem: str) -> None:
        leak = Leak(where, problem)
        if leak not in self.leaks:
            self.leaks.append(leak)

    # ----------------------------------------------------------------------------------------- units
    def unit(self, node: object, *, tied: dict[Node, int], bound: set[Node], where: str,
             correlated: bool) -> _Group:
        """Analyse a pattern evaluated on its own. ``tied``: variables it may tie to (those of the
        enclosing solution it is joined or merged with); ``bound``: those bound while it is evaluated
        (substituted, for EXISTS). ``correlated``: it must share the enclosing solution's ``$this``."""
        if correlated and THIS not in tied and mentions_this(node):
            self.report(where, "names $this where $this is not bound yet: the pattern is evaluated for every "
                               "patient at once and one patient's data answers for another; bind $this in the "
                               "group around it first")
        g = _Group(dict(tied), set(bound))
        self.group(node, g, tied=tied, bound=bound, where=where, correlated=correlated)
        g.settle()
        if g.pending:
            self.report(where, f"pattern not tied to $this: {_show_patterns(g.pending)}")
        return g

    def subquery(self, node: object) -> dict[Node, int]:
        """A sub-SELECT: evaluated on its own; it must project ?this, and group by it when it aggregates."""
        m = _modifiers(node)
        if m.sliced:
            self.report("subquery", "LIMIT or OFFSET cut across patients")
        g = self.unit(m.pattern, tied={}, bound=set(), where="subquery", correlated=False)
        reads_data = mentions_this(m.pattern) or any(True for _ in _var_subject_patterns(m.pattern))
        projected = m.projected if m.projected is not None else sorted(g.bound, key=str)
        if reads_data and THIS not in projected:
            self.report("subquery", "reads patient data but does not project ?this (SELECT ?this ...)")
        per_patient = m.grouping is None or THIS in m.grouping
        if not per_patient and reads_data:
            self.report("subquery", "aggregates over every patient at once: add ?this to the projection and "
                                    "GROUP BY ?this")
        out: dict[Node, int] = {}
        for v in projected:
            if v in g.statuses:
                out[v] = g.statuses[v]
            elif m.grouping is not None and per_patient and THIS in g.statuses:
                out[v] = TIED  # an aggregate of one patient's values
        return out

    # ----------------------------------------------------------------------------------------- groups
    def group(self, node: object, g: _Group, *, tied: dict[Node, int], bound: set[Node], where: str,
              correlated: bool) -> None:
        """Add ``node``'s patterns to the group ``g`` (one unit, evaluated together)."""
        name = _name(node)
        get = _get
        if name == "BGP":
            g.pending.extend((t[0], t[1], t[2]) for t in get(node, "triples") or [])
        elif name == "Join":
            # p1 is the group so far, unless it is a FILTER (a group's filters wrap the whole group, so a
            # filtered p1 is a nested group); p2 is the next part: triples of this group, or a nested group,
            # UNION, subquery or VALUES, each evaluated on its own
            p1, p2 = get(node, "p1"), get(node, "p2")
            for part, nested in ((p1, _name(p1) == "Filter"),
                                 (p2, _name(p2) not in ("BGP", "Union", "ToMultiSet", "values"))):
                if nested:
                    inner = self.unit(part, tied=tied, bound=bound, where="group", correlated=correlated)
                    for v in inner.bound:
                        g.tie(v, inner.statuses.get(v, TIED))
                    g.bound |= inner.bound
                else:
                    self.group(part, g, tied=tied, bound=bound, where=where, correlated=correlated)
        elif name in ("Filter", "Extend"):
            self.group(get(node, "p"), g, tied=tied, bound=bound, where=where, correlated=correlated)
            g.settle()
            self.expression(get(node, "expr"), g)
            if name == "Extend":
                var, expr = get(node, "var"), get(node, "expr")
                if isinstance(expr, Variable) and expr in g.statuses:
                    g.tie(var, g.statuses[expr])
                else:
                    g.tie(var, TIED)
                g.bound.add(var)
        elif name in ("LeftJoin", "Minus"):
            self.group(get(node, "p1"), g, tied=tied, bound=bound, where=where, correlated=correlated)
            g.settle()
            label = "OPTIONAL" if name == "LeftJoin" else "MINUS"
            right = self.unit(get(node, "p2"), tied=dict(g.statuses), bound=bound, where=label, correlated=True)
            expr = get(node, "expr")
            if name == "LeftJoin" and _name(expr) != "TrueFilter":
                merged = _Group({**g.statuses, **right.statuses}, g.bound | right.bound)
                self.expression(expr, merged, where=label)
        elif name == "Union":
            branches = [self.unit(b, tied=tied, bound=bound, where="UNION branch", correlated=correlated)
                        for b in _branches(node)]
            common = set.intersection(*(set(b.statuses) for b in branches))
            for v in common:
                g.tie(v, min(b.statuses[v] for b in branches))
            g.bound.update(set.intersection(*(b.bound for b in branches)))
        elif name == "ToMultiSet":
            inner = get(node, "p")
            if isinstance(inner, CompValue) and inner.name == "values":
                self._values(inner, g)
            else:
                for v, status in self.subquery(inner).items():
                    g.tie(v, status)
                    g.bound.add(v)
        elif isinstance(node, CompValue) and name == "values":
            self._values(node, g)
        elif name in _MODIFIERS:
            for v, status in self.subquery(node).items():
                g.tie(v, status)
                g.bound.add(v)
        elif name in ("Graph", "ServiceGraphPattern"):
            self.report(where, f"{name} is not supported in rules")
        else:
            self.report(where, f"unexpected algebra node {name!r}")

    @staticmethod
    def _values(node: CompValue, g: _Group) -> None:
        for row in _get(node, "res") or []:
            for v in row:
                g.tie(v, TIED)
                g.bound.add(v)

    def expression(self, expr: object, g: _Group, where: str = "expression") -> None:
        """``$this`` read by an expression must be bound; each (NOT) EXISTS is a unit evaluated with the
        group's bound variables substituted."""
        stack = [expr]
        while stack:
            e = stack.pop()
            if isinstance(e, Variable):
                if e == THIS and THIS not in g.bound:
                    self.report(where, "a FILTER or BIND reads $this where $this is not bound yet: bind it in "
                                       "the group first")
            elif isinstance(e, CompValue) and e.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                label = "EXISTS" if e.name == "Builtin_EXISTS" else "NOT EXISTS"
                tied = {v: s for v, s in g.statuses.items() if v in g.bound}
                self.unit(vars(e).get("graph", _get(e, "graph")), tied=tied, bound=set(tied), where=label,
                          correlated=True)
            elif not isinstance(e, str | RdfPath):
                stack.extend(_children(e))


_MODIFIERS = frozenset({"Project", "Distinct", "Reduced", "OrderBy", "Slice", "AggregateJoin", "Group"})


@dataclass(frozen=True, slots=True)
class _Modified:
    """A (sub)query's pattern under its solution modifiers."""

    pattern: object
    projected: list[Node] | None
    #: the GROUP BY keys when it aggregates (empty: one group of everything)
    grouping: list[Node] | None
    sliced: bool


def _modifiers(node: object) -> _Modified:
    projected: list[Node] | None = None
    sliced = False
    while _name(node) in ("Slice", "Distinct", "Reduced", "Project", "OrderBy"):
        sliced = sliced or _name(node) == "Slice"
        if _name(node) == "Project":
            projected = list(_get(node, "PV") or [])
        node = _get(node, "p")
    # an aggregate query: select expressions and HAVING (Extend, Filter) over AggregateJoin(Group(pattern))
    probe = node
    while _name(probe) in ("Extend", "Filter"):
        probe = _get(probe, "p")
    if _name(probe) == "AggregateJoin":
        group = _get(probe, "p")
        keys = _get(group, "expr") or []
        return _Modified(_get(group, "p"), projected, [k for k in keys if isinstance(k, Node)], sliced)
    return _Modified(node, projected, None, sliced)


def _walk(node: object) -> Iterator[object]:
    stack, seen = [node], set[int]()
    while stack:
        n = stack.pop()
        if id(n) in seen or isinstance(n, str):
            continue
        seen.add(id(n))
        yield n
        stack.extend(_children(n))


def _var_subject_patterns(node: object) -> Iterator[Pattern]:
    for n in _walk(node):
        if _name(n) == "BGP":
            for t in _get(n, "triples") or []:
                if _is_var(t[0]):
                    yield (t[0], t[1], t[2])


def _branches(node: object) -> list[object]:
    if _name(node) == "Union":
        return [*_branches(_get(node, "p1")), *_branches(_get(node, "p2"))]
    return [node]


def leaks(query: Query) -> list[Leak]:
    """What keeps a rule (a parsed CONSTRUCT) from giving each patient of a batch what it gives that patient
    alone; empty when every pattern hangs off ``$this`` (see the module docstring for the rule)."""
    c = _Checker()
    top: object = query.algebra
    if _name(top) == "ConstructQuery":
        top = _get(top, "p")
    m = _modifiers(top)
    if m.sliced:
        c.report("rule", "LIMIT or OFFSET cut across patients")
    if m.grouping is not None and THIS not in m.grouping:
        c.report("rule", "aggregates over every patient at once: GROUP BY ?this")
    g = c.unit(m.pattern, tied={}, bound=set(), where="rule", correlated=False)
    if THIS not in g.bound:
        c.report("rule", "its WHERE pattern never binds $this: add a pattern that names $this "
                         "(e.g. $this a eligo:Patient) to the top-level group")
    return c.leaks


def native_arithmetic(query: Query) -> list[str]:
    """The SPARQL arithmetic a rule uses that the two engines compute differently: ``*``, ``/``, ``AVG``."""
    found: set[str] = set()
    for n in _walk(query.algebra):
        if _name(n) == "MultiplicativeExpression":
            found.update(f"'{op}'" for op in _get(n, "op") or [] if op in ("*", "/"))
        elif _name(n) == "Aggregate_Avg":
            found.add("AVG")
    return sorted(found)


# ------------------------------------------------------------------------------------------------- probes
class _Anchor(NamedTuple):
    """A triple pattern, a ``VALUES`` variable or a ``UNION`` that binds every solution of a group: its text
    (to find a repeat) and the variables it binds."""

    text: tuple[str, ...]
    binds: frozenset[str]


def _anchors(node: object) -> set[_Anchor]:
    """What binds every solution of a group: a group's own patterns, those common to every ``UNION`` branch
    and the ``UNION`` as a whole, never an ``OPTIONAL``'s or ``MINUS``'s."""
    name = _name(node)
    if name == "BGP":
        return {_Anchor(tuple(_show(x) for x in t), frozenset(_show(x) for x in t if isinstance(x, Variable)))
                for t in _get(node, "triples") or []}
    if name == "Join":
        return _anchors(_get(node, "p1")) | _anchors(_get(node, "p2"))
    if name in ("Filter", "Extend", "ToMultiSet"):
        return _anchors(_get(node, "p"))
    if name in ("LeftJoin", "Minus"):
        return _anchors(_get(node, "p1"))
    if name == "Union":
        branches = [_anchors(b) for b in _branches(node)]
        whole = _Anchor(("UNION", *(" | ".join(sorted(" ".join(a.text) for a in b)) for b in branches)),
                        frozenset().union(*(a.binds for b in branches for a in b)))
        return set.intersection(*branches) | {whole}
    if name == "values":  # one anchor per variable: its values (a repeat may name one variable of several)
        rows = _get(node, "res") or []
        variables = {v for row in rows for v in row}
        return {_Anchor(("VALUES", _show(v), *sorted({_show(row.get(v)) for row in rows})), frozenset({_show(v)}))
                for v in variables}
    return set()


def _pattern_count(node: object) -> int:
    """The triple patterns of a group, nested groups included (not those of a (NOT) EXISTS)."""
    return sum(len(_get(n, "triples") or []) for n in _walk_patterns(node) if _name(n) == "BGP")


def _walk_patterns(node: object) -> Iterator[object]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, CompValue):
            yield n
            stack.extend(v for k, v in dict.items(n) if k in ("p", "p1", "p2"))


def unrestricted_probes(query: Query) -> list[str]:
    """The ``OPTIONAL`` groups of more than one triple pattern that do not restrict themselves: Oxigraph
    evaluates such a group on its own, over every patient of the batch, before joining it, so each variable it
    shares with the group before it (other than ``$this``) must be bound in it by a pattern or ``VALUES`` it
    repeats from that group (docs/authoring.md, "Rules that run set-at-a-time"). Not a matter of results, only
    of speed: ``eligo shapes lint`` warns (check ``rule-probe``)."""
    found: list[str] = []
    for n in _walk(query.algebra):
        if _name(n) != "LeftJoin":
            continue
        left, right = _get(n, "p1"), _get(n, "p2")
        if _pattern_count(right) < 2:
            continue  # one pattern is looked up row by row
        before, own = _anchors(left), _anchors(right)
        bound_before = {_show(v) for v in (getattr(left, "_vars", None) or ())}
        used = {_show(x) for b in _walk_patterns(right) if _name(b) == "BGP"
                for t in _get(b, "triples") or [] for x in t if _is_var(x)}
        shared = sorted((used & bound_before) - {_show(THIS)})
        repeated = frozenset().union(*(a.binds for a in own & before))
        loose = [v for v in shared if v not in repeated]
        if loose:
            patterns = sorted(" ".join(a.text) for a in own if a.text[0] not in ("VALUES", "UNION"))
            found.append(f"OPTIONAL {{ {' . '.join(patterns)} }} is evaluated over the whole batch before it is "
                         f"joined: repeat in it the pattern or VALUES that binds {', '.join(loose)} in the group "
                         "before it")
    return found


def rule_problems(rules: Iterable[Rule]) -> list[tuple[Rule, str, str]]:
    """``(rule, check, message)`` for everything that keeps ``rules`` from running set-at-a-time as they run
    per patient (check ``rule-anchored`` or ``rule-arithmetic``, the names ``eligo shapes lint`` uses) or from
    running fast (``rule-probe``)."""
    out: list[tuple[Rule, str, str]] = []
    for rule in rules:
        out += [(rule, "rule-anchored", str(leak)) for leak in leaks(rule.query)]
        ops = native_arithmetic(rule.query)
        if ops:
            out.append((rule, "rule-arithmetic",
                        f"uses SPARQL {', '.join(ops)}, which rdflib and Oxigraph round differently: use "
                        "eligo:multiply, eligo:divide (and eligo:divide(SUM(?x), COUNT(?x)) for a mean)"))
        out += [(rule, "rule-probe", probe) for probe in unrestricted_probes(rule.query)]
    return out


__all__ = ["THIS", "Leak", "leaks", "mentions_this", "native_arithmetic", "rule_problems",
           "unrestricted_probes"]
