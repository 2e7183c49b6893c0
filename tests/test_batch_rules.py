"""The trial's rules run set-at-a-time derive, for every patient, exactly what the per-patient rdflib path
derives (issue #13, :mod:`eligo.engine.batch_rules`).

Differentials, no tolerance: every fixture of every trial, each generically derived for its own index date
and renamed so that its nodes are its own, all in ONE store (a rule that leaks across patients changes
someone's facts); and synthetic populations (``eligo synth``, FHIR NDJSON read as ``eligo screen`` reads it).
The reference is :meth:`Deriver.apply_rule`'s evaluation: rdflib, one patient at a time, ``$this`` pre-bound.
Numbers are compared by value (Oxigraph writes ``1.5`` where rdflib keeps ``1.50``); blank nodes by id (the
store is loaded through N-Triples, which keeps them). Also: the ``eligo:`` functions give the same literal in
both engines, and the rule texts are cut where the template ends, whatever the text holds.
"""

from __future__ import annotations

import datetime as dt
import pickle
import random
from collections.abc import Iterable
from decimal import Decimal

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from eligo import TermModule, Trial
from eligo.authoring.fixtures import load_fixtures
from eligo.authoring.synth import Generator, write_bulk
from eligo.engine.batch_rules import OXIGRAPH_FUNCTIONS, BatchRules, construct_span, run_rules
from eligo.engine.derive import Derived, Deriver
from eligo.engine.shape_eval import load, to_rdflib
from eligo.engine.sparqlfuncs import DECIMAL_PLACES
from eligo.errors import TrialError
from eligo.ingest.batch import Unit, discover, unit_input
from eligo.model import ELIGO, PREFIXES, sparql_prefix_header
from eligo.paths import DEFAULT_TRIAL, SHAPES_DIR
from eligo.trial import Rule, parse_rule
from renaming import renamer
from test_lint import BAD_RULES, GOOD_RULES

TRIALS = sorted(p.name for p in SHAPES_DIR.iterdir() if (p / "trial.ttl").is_file())
_NUMBERS = {str(XSD[t]) for t in ("integer", "decimal", "int", "long", "nonNegativeInteger")}

Fact = tuple[object, object, object]


def canon(n: Node) -> object:
    """A term as compared: a number by its value, anything else as it is."""
    if isinstance(n, Literal) and n.datatype is not None and str(n.datatype) in _NUMBERS:
        return ("number", Decimal(str(n)))
    return n


def canon_triple(t: Iterable[Node]) -> Fact:
    s, p, o = (canon(x) for x in t)
    return s, p, o


@pytest.fixture(scope="module")
def trials() -> dict[str, Trial]:
    return {t: Trial.load(t) for t in TRIALS}


def reference(trial: Trial, derived: Derived) -> set[Fact]:
    """What the rules derive for one patient in the reference engine (Deriver.apply_rule, one rule after the
    other on a copy of the patient's graph)."""
    g = Graph()
    g += derived.graph
    out: set[Fact] = set()
    for rule in trial.rules:
        found = set(g.query(rule.query, initBindings={"this": derived.patient}))
        for t in found:
            g.add(t)  # type: ignore[arg-type]
        out |= {canon_triple(t) for t in found}  # type: ignore[arg-type]
    return out


def batch(trial: Trial, graphs: list[Graph], timings: dict[str, float] | None = None) -> dict[URIRef, set[Fact]]:
    """Every patient's rule-derived facts from one store holding ``graphs``."""
    store = load(graphs)
    found = BatchRules.from_trial(trial).run_by_patient(store, timings=timings)
    return {URIRef(p.value): {canon_triple(to_rdflib(x) for x in (t.subject, t.predicate, t.object)) for t in ts}
            for p, ts in found.items()}


def assert_same(expected: dict[URIRef, set[Fact]], got: dict[URIRef, set[Fact]]) -> None:
    assert set(got) <= set(expected), f"facts for nodes that are no patient: {sorted(set(got) - set(expected))[:3]}"
    bad = [p for p in expected if expected[p] != got.get(p, set())]
    detail = "\n".join(f"{p}\n  only rdflib: {sorted(map(str, expected[p] - got.get(p, set())))[:4]}"
                       f"\n  only batch:  {sorted(map(str, got.get(p, set()) - expected[p]))[:4]}" for p in bad[:3])
    assert not bad, f"{len(bad)} of {len(expected)} patients differ:\n{detail}"


# ------------------------------------------------------------------ every fixture, in one store
@pytest.mark.parametrize("trial_id", TRIALS)
def test_every_fixture_in_one_store(trial_id: str, trials: dict[str, Trial], terms: TermModule) -> None:
    trial = trials[trial_id]
    deriver = Deriver(trial, terms)
    derived: list[Derived] = []
    dates = set()
    for i, fx in enumerate(load_fixtures(trial)):
        r, g = renamer(i), Graph()
        for s, p, o in fx.graph():
            g.add((r(s), p, r(o)))
        derived.append(deriver.derive(g, index_date=fx.index_date, rules=[]))
        dates.add(fx.index_date)
    assert len({d.patient for d in derived}) == len(derived), "patients collide after renaming"
    assert trial_id != DEFAULT_TRIAL or len(dates) > 1, "the fixtures should span several index dates"
    expected = {d.patient: reference(trial, d) for d in derived}
    assert_same(expected, batch(trial, [d.graph for d in derived]))


# ------------------------------------------------------------------ synthetic populations
#: Patients per population, and the share the rdflib reference checks (~90 ms a patient: the suite's time
#: budget); every patient is in the store, so a rule that leaks still changes the checked ones.
SYNTH_PATIENTS = 30
SAMPLE_EVERY = 2
INDEX = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def generator(trials: dict[str, Trial], terms: TermModule) -> Generator:
    return Generator(trials[DEFAULT_TRIAL], terms, index_date=INDEX)


@pytest.mark.parametrize("seed", [1, 2])
def test_synthetic_population(seed: int, generator: Generator, terms: TermModule,
                              tmp_path_factory: pytest.TempPathFactory) -> None:
    """As `eligo synth` writes it (FHIR Bulk NDJSON) and `eligo screen` reads it."""
    trial = generator.trial
    folder = tmp_path_factory.mktemp(f"synth{seed}")
    write_bulk((generator.patient(i, random.Random(f"{seed}:{i}")) for i in range(1, SYNTH_PATIENTS + 1)), folder)
    deriver = Deriver(trial, terms)
    derived = [deriver.derive(unit_input(u).graph, index_date=INDEX, rules=[])
               for u in discover([folder]) if isinstance(u, Unit)]
    assert len(derived) == SYNTH_PATIENTS
    timings: dict[str, float] = {}
    got = batch(trial, [d.graph for d in derived], timings)
    assert set(timings) == {r.iri.split("#")[-1] for r in trial.rules}
    expected = {d.patient: reference(trial, d) for d in derived[::SAMPLE_EVERY]}
    assert_same(expected, {p: got.get(p, set()) for p in expected})
    assert set(got) <= {d.patient for d in derived}
    assert sum(len(v) for v in got.values()) > 20 * SYNTH_PATIENTS, "the rules derived almost nothing"


# ------------------------------------------------------------------ the API
def _store(turtle: str) -> ox.Store:
    store = ox.Store()
    store.load(sparql_prefix_header().replace("PREFIX ", "@prefix ").replace(">\n", "> .\n") + turtle,
               format=ox.RdfFormat.TURTLE)
    return store


def _rule(name: str, text: str, order: int = 0) -> Rule:
    return Rule(iri=URIRef(f"https://eligo.dev/example/{name}"), order=Decimal(order), criterion=None, text=text,
                query=parse_rule(text))


PATIENTS = """
ex:a a eligo:Patient . ex:b a eligo:Patient .
ex:a1 eligo:subject ex:a ; eligo:value 3 . ex:a2 eligo:subject ex:a ; eligo:value 4 .
ex:b1 eligo:subject ex:b ; eligo:value 5 .
"""


def test_run_rules_inserts_each_rules_facts_before_the_next_and_times_them() -> None:
    store = _store(PATIENTS)
    rules = [
        _rule("first", "CONSTRUCT { $this ex:has ?r . ?r ex:mine true } WHERE { ?r eligo:subject $this }", 1),
        _rule("second", """CONSTRUCT { $this ex:count ?n } WHERE {
                 { SELECT ?this (COUNT(?r) AS ?n) WHERE { $this ex:has ?r } GROUP BY ?this } }""", 2),
    ]
    timings: dict[str, float] = {}
    triples = run_rules(store, rules, timings=timings)
    assert set(timings) == {"first", "second"} and all(t >= 0 for t in timings.values())
    ex = "https://eligo.dev/example/"
    counts = {(t.subject.value, t.object.value) for t in triples if t.predicate.value == ex + "count"}
    assert counts == {(ex + "a", "2"), (ex + "b", "1")}
    assert len(triples) == 3 + 3 + 2
    assert ox.Quad(ox.NamedNode(ex + "a1"), ox.NamedNode(ex + "mine"), ox.Literal("true", datatype=ox.NamedNode(
        str(XSD.boolean)))) in store


def test_prepared_rules_pickle_and_attribute_facts_to_their_patient() -> None:
    rules = BatchRules.from_rules([_rule("r", "CONSTRUCT { ?r ex:seen true } WHERE { ?r eligo:subject $this }")])
    again = pickle.loads(pickle.dumps(rules))
    assert again == rules
    found = again.run_by_patient(_store(PATIENTS))
    ex = "https://eligo.dev/example/"
    assert {p.value: sorted(t.subject.value for t in ts) for p, ts in found.items()} == {
        ex + "a": [ex + "a1", ex + "a2"], ex + "b": [ex + "b1"]}


def test_a_rule_that_derives_for_no_patient_is_refused() -> None:
    leak = _rule("leak", "CONSTRUCT { ?r ex:seen true } WHERE { ?r eligo:value ?v }")
    with pytest.raises(TrialError, match="for no patient"):
        run_rules(_store(PATIENTS), [leak])


def test_this_ranges_over_patients_only() -> None:
    rule = _rule("r", "CONSTRUCT { $this ex:valued true } WHERE { $this eligo:value ?v }")
    assert run_rules(_store(PATIENTS), [rule]) == []  # records have values; $this is never a record


def test_template_blank_nodes_are_new_for_each_solution() -> None:
    rule = _rule("r", "CONSTRUCT { $this ex:item [ ex:of ?r ] } WHERE { ?r eligo:subject $this }")
    triples = run_rules(_store(PATIENTS), [rule])
    assert len({t.object for t in triples if t.predicate.value.endswith("item")}) == 3


@pytest.mark.parametrize(("text", "where"), [
    ("CONSTRUCT { $this ex:p ?o } WHERE { ?o eligo:subject $this }", "WHERE { ?o"),
    ('# a CONSTRUCT { in a comment }\nCONSTRUCT {\n $this ex:p "}{" , \'\'\'}\'\'\' , <urn:x{}> } WHERE { }',
     "WHERE { }"),
    ("construct where { $this ex:p ?o }", "where { $this"),
    ("PREFIX x: <urn:x#> CONSTRUCT { $this x:p ?construct } WHERE { $this x:q ?construct }", "WHERE { $this x:q"),
])
def test_the_template_is_found_whatever_the_text_holds(text: str, where: str) -> None:
    start, end = construct_span(text)
    assert text[start:].upper().startswith("CONSTRUCT")
    assert text[end:].strip().startswith(where)


# ------------------------------------------------------------------ the eligo: functions in both engines
def _both(expr: str) -> tuple[Literal | None, Literal | None]:
    """``expr`` evaluated by rdflib and by Oxigraph (None: unbound, a SPARQL error)."""
    query = f"{sparql_prefix_header()}SELECT ?x WHERE {{ BIND ({expr} AS ?x) }}"
    rdf = [row[0] for row in Graph().query(query)]  # type: ignore[index]
    oxi = [row["x"] for row in ox.Store().query(query, custom_functions=OXIGRAPH_FUNCTIONS)]  # type: ignore[union-attr]
    r = rdf[0] if rdf else None
    o = oxi[0] if oxi else None
    return (r if isinstance(r, Literal) else None), (to_rdflib(o) if o is not None else None)  # type: ignore[return-value]


@pytest.mark.parametrize(("expr", "value"), [
    ("eligo:divide(1, 3)", "0.333333333333333333"),
    ("eligo:divide(2, 3)", "0.666666666666666667"),
    ("eligo:divide(1, 8)", "0.125"),
    ("eligo:divide(30, 1)", "30"),
    ("eligo:divide(-2, 3)", "-0.666666666666666667"),
    ("eligo:divide(5, 1000000000000000000000)", "0"),         # 5e-21: below the last place
    ("eligo:divide(25, 10000000000000000000)", "0.000000000000000002"),   # a tie: half to even
    ("eligo:divide(35, 10000000000000000000)", "0.000000000000000004"),
    ("eligo:multiply(0.123456789012, 0.987654321098)", "0.121932631136585886"),
    ("eligo:multiply(72, 0.85)", "61.2"),
    ("eligo:divide(eligo:multiply(eligo:multiply(140 - 62, 58.5), 0.85), eligo:multiply(72, 1.1))",
     "48.971590909090909091"),  # Cockcroft-Gault as IN12 writes it: one rounding
    ("eligo:addMonths(\"2024-03-31\"^^xsd:date, -1)", "2024-02-29"),
    ("eligo:daysBetween(\"2024-01-01\"^^xsd:date, \"2024-03-01T10:00:00Z\"^^xsd:dateTime)", "60"),
    ("eligo:divide(1, 0)", None),
    ("eligo:divide(\"1\", 2)", None),
    ("eligo:divide(1.0e0, 2)", None),
    ("eligo:multiply(100000000000, 1000000000)", None),       # 10^20: beyond the range both engines hold
    ("eligo:addYears(\"9999-06-01\"^^xsd:date, 1)", None),
    ("eligo:divide(?unbound, 2)", None),
])
def test_functions_give_the_same_literal_in_both_engines(expr: str, value: str | None) -> None:
    rdf, oxi = _both(expr)
    assert rdf == oxi
    assert (str(rdf) if rdf is not None else None) == value


_DECIMALS = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=12, allow_nan=False,
                        allow_infinity=False)


@settings(max_examples=30, deadline=None)
@given(a=_DECIMALS, b=_DECIMALS)
def test_arithmetic_agrees_everywhere(a: Decimal, b: Decimal) -> None:
    """Products and quotients of 12-place decimals (the unit conversion's precision), in both engines:
    the same literal, exact to the last of the 18 places."""
    for fn in ("multiply", "divide"):
        rdf, oxi = _both(f"eligo:{fn}({a:f}, {b:f})")
        assert rdf == oxi, (fn, a, b)
        if rdf is not None:
            exact = a * b if fn == "multiply" else a / b if b else None
            assert exact is not None and abs(Decimal(str(rdf)) - exact) <= Decimal(10) ** -DECIMAL_PLACES


def test_every_rule_function_is_bound_in_oxigraph() -> None:
    assert {n.value for n in OXIGRAPH_FUNCTIONS} >= {str(ELIGO[f]) for f in (
        "addMonths", "addYears", "addDays", "daysBetween", "multiply", "divide")}


# ------------------------------------------------------------------ what `eligo shapes lint` refuses really differs
SHARED = "ex:c rdfs:subClassOf ex:c . ex:limit eligo:value 10 ."
OWN = {
    "a": """ex:a a eligo:Patient ; ex:has ex:a1 ; ex:veto ex:v ; ex:r 1 .
            ex:a1 eligo:subject ex:a ; ex:kind ex:x ; ex:code ex:c, ex:d . ex:d rdfs:subClassOf ex:d .
            ex:a2 eligo:subject ex:a ; ex:kind ex:y .""",
    "b": """ex:b a eligo:Patient ; ex:has ex:b1 ; ex:c 2 .
            ex:b1 eligo:subject ex:b ; ex:kind ex:x ; ex:code ex:c . ex:b2 eligo:subject ex:b ; ex:kind ex:y .""",
}


def _turtle(text: str) -> Graph:
    header = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items())
    return Graph().parse(data=header + text, format="turtle")


def _per_patient_and_batch(text: str) -> tuple[dict[URIRef, set[Fact]], dict[URIRef, set[Fact]]]:
    rule = _rule("r", text)
    expected: dict[URIRef, set[Fact]] = {}
    for name, own in OWN.items():
        g = _turtle(SHARED + own)
        patient = URIRef(f"{PREFIXES['ex']}{name}")
        expected[patient] = {canon_triple(t) for t in g.query(rule.query, initBindings={"this": patient})}  # type: ignore[arg-type]
    store = load([_turtle(SHARED + own) for own in OWN.values()])
    try:
        found = BatchRules.from_rules([rule]).run_by_patient(store)
    except TrialError:
        return expected, {}
    got = {URIRef(p.value): {canon_triple(to_rdflib(x) for x in (t.subject, t.predicate, t.object)) for t in ts}
           for p, ts in found.items()}
    return expected, {p: got.get(p, set()) for p in expected}


@pytest.mark.parametrize("name", sorted(BAD_RULES))
def test_rules_the_lint_refuses_do_run_differently(name: str) -> None:
    expected, got = _per_patient_and_batch(BAD_RULES[name][1])
    assert any(expected.values()) and expected != got


@pytest.mark.parametrize("name", sorted(GOOD_RULES))
def test_rules_the_lint_passes_run_the_same(name: str) -> None:
    expected, got = _per_patient_and_batch(GOOD_RULES[name])
    assert any(expected.values()) and expected == got
