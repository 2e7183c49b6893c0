"""SHACL Core shapes compiled into set-at-a-time SPARQL SELECTs (issue #13, first piece).

Each shape with a target becomes one SELECT whose rows are ``(?this, ?k, ?value)``: the focus node,
the index of the violated check (its source shape, result path and message) and the value node
(unbound where pySHACL reports none). The queries run over every patient of a store at once
(:func:`eligo.engine.shape_eval.evaluate`). pySHACL (:mod:`eligo.engine.validate`) is the reference:
where SHACL leaves a choice, the compiler follows pySHACL 0.40.1 (the comments at each pattern say how).

Constructs the compiler cannot translate are listed in :attr:`CompiledShapes.unsupported`; the shape
that holds one is left out entirely (no partial queries).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from eligo.trial import Trial

#: The constraint parameters the compiler translates (the others make a shape unsupported).
SUPPORTED = frozenset({
    SH.minCount, SH.maxCount, SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive,
    SH["in"], SH.hasValue, SH.node, SH["not"], SH.lessThan, SH.lessThanOrEquals, SH["class"], SH.datatype,
})
#: SHACL terms that are not constraints (or that only describe a shape).
_NON_CONSTRAINTS = frozenset({
    SH.path, SH.property, SH.message, SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf,
    SH.name, SH.description, SH.order, SH.group, SH.severity, SH.deactivated, SH.declare, SH.prefix,
    SH.namespace, SH.prefixes, SH.defaultValue,
})
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_RANGE: dict[Node, str] = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}
_CASTABLE = frozenset({XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.boolean, XSD.date, XSD.dateTime,
                       XSD.time, XSD.duration, XSD.dayTimeDuration, XSD.yearMonthDuration})
_TYPE_CLOSURE = f"<{RDF.type}>/<{RDFS.subClassOf}>*"


class Unsupported(Exception):
    """A construct the compiler does not translate (the message names it)."""


@dataclass(frozen=True, slots=True)
class Check:
    """What a row reports: pySHACL's sh:sourceShape, sh:resultPath and sh:resultMessage."""

    source_shape: Node
    path: Node | None
    #: the shape's sh:message (the first, sorted, as :func:`validate` picks); None when it has none
    message: str | None


#: (pattern, focus variable, value variable or None, check)
Item = tuple[str, str, str | None, Check]


@dataclass(frozen=True, slots=True)
class ShapeQuery:
    """One targeted shape's SELECT; row ``?k`` is an index into ``checks``."""

    shape: Node
    text: str
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class CompiledShapes:
    queries: tuple[ShapeQuery, ...]
    #: "shape <id>: construct" for each construct that was not compiled (its shape is left out)
    unsupported: tuple[str, ...] = ()
    #: shapes whose violations reach the report without an sh:message: pySHACL then writes a generated
    #: message that the compiled queries do not reproduce (they report "")
    without_message: tuple[str, ...] = ()


def shape_name(node: Node) -> str:
    return f"<{node}>" if isinstance(node, URIRef) else f"_:{node}"


def sparql_term(node: Node) -> str:
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        return node.n3()
    raise Unsupported(f"blank node {node} as a constant")


class _Compiler:
    def __init__(self, shapes: Graph) -> None:
        self.g = shapes
        self._n = 0

    def var(self, stem: str) -> str:
        self._n += 1
        return f"?{stem}{self._n}"

    # ------------------------------------------------------------------ shapes graph reading
    def deactivated(self, shape: Node) -> bool:
        d = self.g.value(shape, SH.deactivated)
        return isinstance(d, Literal) and d.toPython() is True

    def message(self, shape: Node) -> str | None:
        msgs = sorted(str(m) for m in self.g.objects(shape, SH.message) if isinstance(m, Literal))
        return msgs[0] if msgs else None

    def path(self, node: Node) -> str:
        """A SHACL property path as a SPARQL property path."""
        g = self.g
        if isinstance(node, URIRef):
            return f"<{node}>"
        if (node, RDF.first, None) in g:
            return "(" + "/".join(self.path(p) for p in Collection(g, node)) + ")"
        for prop, fmt in ((SH.inversePath, "^({})"), (SH.zeroOrMorePath, "({})*"),
                          (SH.oneOrMorePath, "({})+"), (SH.zeroOrOnePath, "({})?")):
            inner = g.value(node, prop)
            if inner is not None:
                return fmt.format(self.path(inner))
        alt = g.value(node, SH.alternativePath)
        if alt is not None:
            return "(" + "|".join(self.path(p) for p in Collection(g, alt)) + ")"
        raise Unsupported(f"sh:path {node}")

    def target(self, shape: Node, f: str) -> str | None:
        """The pattern binding ``f`` to each focus node of a shape once; None when it has no target."""
        g, branches = self.g, []
        classes = list(g.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in g:
            classes.append(shape)  # an implicit class target
        branches += [f"{f} {_TYPE_CLOSURE} {sparql_term(c)} ." for c in classes]
        nodes = list(g.objects(shape, SH.targetNode))
        if nodes:
            branches.append(f"VALUES {f} {{ {' '.join(sparql_term(n) for n in nodes)} }}")
        branches += [f"{f} {sparql_term(p)} [] ." for p in g.objects(shape, SH.targetSubjectsOf)]
        branches += [f"[] {sparql_term(p)} {f} ." for p in g.objects(shape, SH.targetObjectsOf)]
        if not branches:
            return None
        return f"{{ SELECT DISTINCT {f} WHERE {{ {' UNION '.join('{ ' + b + ' }' for b in branches)} }} }}"

    # ------------------------------------------------------------------ constraints
    def violations(self, shape: Node, t: str, f: str) -> Iterator[Item]:
        """(pattern, focus variable, value variable, check) for every constraint of ``shape`` and of its
        property shapes, each pattern binding ``f`` (bound by the pattern ``t``) for a focus node that
        violates it; the reported focus is ``f``, or a value node of ``f`` for a property shape's own
        sh:property (whose results pySHACL reports with that value node as focus)."""
        if self.deactivated(shape):
            return
        yield from self._own(shape, t, f)
        for prop in sorted(self.g.objects(shape, SH.property), key=str):
            if not self.deactivated(prop):
                yield from self._own(prop, t, f)

    def _own(self, shape: Node, t: str, f: str) -> Iterator[Item]:
        g = self.g
        unknown = sorted(str(p) for p in g.predicates(shape)
                         if str(p).startswith(str(SH)) and p not in SUPPORTED and p not in _NON_CONSTRAINTS)
        if unknown:
            raise Unsupported(", ".join(u.replace(str(SH), "sh:") for u in unknown))
        path_node = g.value(shape, SH.path)
        check = Check(shape, path_node, self.message(shape))
        if path_node is not None:
            v = self.var("v")
            vp = f"{t} {f} {self.path(path_node)} {v} ."
        else:
            v, vp = f, t
        for param, obj in sorted(g.predicate_objects(shape), key=lambda po: (str(po[0]), str(po[1]))):
            if param not in SUPPORTED:
                continue
            value, pattern = self._constraint(param, obj, t, f, v, vp, path_node)
            yield pattern, f, value, check
        if path_node is not None:  # a property shape's sh:property: its value nodes are the focus nodes
            for prop in sorted(g.objects(shape, SH.property), key=str):
                if not self.deactivated(prop):
                    yield from self._own(prop, vp, v)

    def _constraint(self, param: Node, obj: Node, t: str, f: str, v: str, vp: str,
                    path_node: Node | None) -> tuple[str | None, str]:
        """(value variable or None, pattern) for one constraint parameter."""
        if param in (SH.minCount, SH.maxCount):
            if path_node is None or not isinstance(obj, Literal):
                raise Unsupported(f"{param} without sh:path")
            n, x = int(obj), self.var("x")
            walk = f"{f} {self.path(path_node)} {x} ."
            if param == SH.minCount:
                if n <= 0:
                    return None, "FILTER(false)"
                return None, (f"{{ SELECT {f} WHERE {{ {t} OPTIONAL {{ {walk} }} }} "
                              f"GROUP BY {f} HAVING (COUNT(DISTINCT {x}) < {n}) }}")
            return None, f"{{ SELECT {f} WHERE {{ {t} {walk} }} GROUP BY {f} HAVING (COUNT(DISTINCT {x}) > {n}) }}"
        if param in _RANGE:
            # pySHACL: a non-literal, or a string against a non-string (either way), or incomparable
            # literals violate; SPARQL's comparison errors (caught by COALESCE) are the same cases.
            return v, f"{vp} FILTER(!COALESCE({v} {_RANGE[param]} {sparql_term(obj)}, false))"
        if param == SH["in"]:
            members = list(Collection(self.g, obj))
            test = " || ".join(f"sameTerm({v}, {sparql_term(m)})" for m in members) or "false"
            return v, f"{vp} FILTER(!({test}))"
        if param == SH.hasValue:
            if path_node is None:
                return None, f"{t} FILTER(!sameTerm({f}, {sparql_term(obj)}))"
            return None, (f"{t} FILTER NOT EXISTS {{ {f} {self.path(path_node)} {sparql_term(obj)} }}")
        if param == SH["class"]:
            return v, f"{vp} FILTER NOT EXISTS {{ {v} {_TYPE_CLOSURE} {sparql_term(obj)} }}"
        if param == SH.datatype:
            # pySHACL also rejects ill-formed literals ("aldi"^^xsd:integer): a cast of the lexical form
            # to a type SPARQL can cast to fails exactly for those
            ok = f"isLiteral({v}) && sameTerm(datatype({v}), {sparql_term(obj)})"
            if obj in _CASTABLE:
                ok += f" && COALESCE(isLiteral({sparql_term(obj)}(STR({v}))), false)"
            return v, f"{vp} FILTER(!({ok}))"
        if param in (SH.node, SH["not"]):
            inner = self.nonconforming(obj, vp, v)
            if param == SH.node:
                return v, f"{vp} {{ SELECT DISTINCT {v} WHERE {{ {inner} }} }}"
            return v, f"{vp} MINUS {{ SELECT DISTINCT {v} WHERE {{ {inner} }} }}"
        if param in (SH.lessThan, SH.lessThanOrEquals):
            return v, self._pair(param, obj, f, v, vp)
        raise Unsupported(str(param))

    def nonconforming(self, shape: Node, t: str, f: str) -> str:
        """A pattern binding ``f`` (bound by ``t``) to each node that does not conform to ``shape``."""
        branches = [p for p, _f, _v, _c in self.violations(shape, t, f)]
        return " UNION ".join(f"{{ {b} }}" for b in branches) if branches else "FILTER(false)"

    def _pair(self, param: Node, other: Node, f: str, v: str, vp: str) -> str:
        """sh:lessThan(OrEquals) as pySHACL decides it: IRIs and strings compare as strings, a string
        against a non-string violates, other values compare with ``<`` (an error violates)."""
        o, op = self.var("o"), "<" if param == SH.lessThan else "<="

        def stringish(x: str) -> str:
            return f"(isIRI({x}) || (isLiteral({x}) && (sameTerm(datatype({x}), <{XSD.string}>) || lang({x}) != \"\")))"

        ok = (f"IF({stringish(v)} && {stringish(o)}, STR({v}) {op} STR({o}), "
              f"IF({stringish(v)} || {stringish(o)}, false, {v} {op} {o}))")
        return f"{vp} {f} {sparql_term(other)} {o} . FILTER(!COALESCE({ok}, false))"

    # ------------------------------------------------------------------ one targeted shape
    def shape_query(self, shape: Node) -> ShapeQuery | None:
        f = "?f0"
        t = self.target(shape, f)
        if t is None or self.deactivated(shape):
            return None
        # a property shape with its own target reports its own constraints; a node shape, its property shapes' too
        own = (shape, SH.path, None) in self.g
        items = list(self._own(shape, t, f)) if own else list(self.violations(shape, t, f))
        checks: list[Check] = []
        branches = []
        for pattern, focus, value, check in items:
            if check not in checks:
                checks.append(check)
            bind = f" BIND({value} AS ?value)" if value is not None else ""
            branches.append(f"{{ {pattern} BIND({focus} AS ?this){bind} BIND({checks.index(check)} AS ?k) }}")
        if not branches:
            return None
        text = "SELECT DISTINCT ?this ?k ?value WHERE {\n  " + "\n  UNION ".join(branches) + "\n}"
        return ShapeQuery(shape, text, tuple(checks))


def _targeted(g: Graph) -> list[Node]:
    shapes = {s for t in _TARGETS for s in g.subjects(t, None)}
    shapes |= {s for s in g.subjects(RDF.type, RDFS.Class) if (s, RDF.type, SH.NodeShape) in g}
    return sorted(shapes, key=str)


def _reported_without_message(g: Graph, shape: Node) -> list[Node]:
    """The shapes whose violations a targeted shape reports at top level (itself and its property shapes)."""
    out = [shape] if any(p in SUPPORTED for p in g.predicates(shape)) else []
    out += [p for p in g.objects(shape, SH.property)]
    return [s for s in out if g.value(s, SH.message) is None]


def compile_shapes(shapes: Graph) -> CompiledShapes:
    """One SELECT per targeted shape of ``shapes`` (a resolved shapes graph, e.g. ``Trial.shapes_graph``)."""
    queries: list[ShapeQuery] = []
    unsupported: list[str] = []
    without: list[str] = []
    for shape in _targeted(shapes):
        try:
            q = _Compiler(shapes).shape_query(shape)
        except Unsupported as exc:
            unsupported.append(f"shape {shape_name(shape)}: {exc}")
            continue
        if q is not None:
            queries.append(q)
            without += [shape_name(s) for s in _reported_without_message(shapes, shape)]
    return CompiledShapes(tuple(queries), tuple(unsupported), tuple(dict.fromkeys(without)))


def uncompilable(trial: Trial) -> list[str]:
    """What keeps a trial's shapes from running set-at-a-time exactly as pySHACL runs them, one line
    each (for ``eligo shapes lint``): constructs the compiler does not translate, and shapes whose
    violations would carry pySHACL's generated message (the compiled queries have no such text)."""
    c = compile_shapes(trial.shapes_graph)
    return [*c.unsupported,
            *(f"shape {s}: no sh:message (pySHACL would generate one the compiled queries do not)"
              for s in c.without_message)]


__all__ = ["SUPPORTED", "Check", "CompiledShapes", "ShapeQuery", "compile_shapes", "uncompilable"]
