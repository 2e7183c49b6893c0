"""Time pySHACL against the compiled SPARQL shapes on the same derived graphs.

Usage: .venv/bin/python benchmarks/shapes_compiled.py [--trial ID] [--copies 1]

Every fixture of the trial is derived once (as Screener.check derives it), renamed so that its patient
and records are its own, and repeated ``--copies`` times (each copy renamed again). pySHACL validates
each derived graph on its own (as the screener does); the compiled queries run once over one
in-memory pyoxigraph store holding every patient. Prints per-patient milliseconds for each, the
store load separately, and how many patients' violation sets differ (none expected:
tests/test_shape_compiler.py proves them equal).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import defaultdict

import pyoxigraph
import pyshacl
from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from eligo import Screener, Trial
from eligo.authoring.fixtures import load_fixtures
from eligo.engine.shape_compiler import compile_shapes
from eligo.engine.shape_eval import evaluate, load
from eligo.engine.validate import Violation, validate
from eligo.model import PREFIXES
from eligo.paths import DEFAULT_TRIAL


def renamed(g: Graph, i: int) -> Graph:
    ex = str(PREFIXES["ex"])

    def r(n: Node) -> Node:
        if isinstance(n, URIRef) and str(n).startswith(ex):
            return URIRef(f"{n}--{i}")
        return BNode(f"{n}x{i}") if isinstance(n, BNode) else n

    out = Graph()
    for s, p, o in g:
        out.add((r(s), p, r(o)))
    return out


def key(v: Violation) -> tuple[object, ...]:
    return (v.focus, v.source_shape, v.path if not isinstance(v.path, BNode) else "path", v.value, v.message)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trial", default=str(DEFAULT_TRIAL))
    ap.add_argument("--copies", type=int, default=1)
    args = ap.parse_args()
    trial = Trial.load(args.trial)
    screener = Screener(trial=trial)
    base = [screener.deriver.derive(fx.graph(), index_date=fx.index_date, rules=trial.rules).graph
            for fx in load_fixtures(trial)]
    graphs = [renamed(g, c * len(base) + i) for c in range(args.copies) for i, g in enumerate(base)]
    n = len(graphs)

    t0 = time.perf_counter()
    compiled = compile_shapes(trial.shapes_graph)
    t_compile = time.perf_counter() - t0

    expected: dict[object, set[tuple[object, ...]]] = defaultdict(set)
    t0 = time.perf_counter()
    for g in graphs:
        for v in validate(g, trial.shapes_graph):  # in place: each graph is this script's own copy
            expected[v.focus].add(key(v))
    t_pyshacl = time.perf_counter() - t0

    t0 = time.perf_counter()
    store = load(graphs)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    got_list = evaluate(compiled, store)
    t_eval = time.perf_counter() - t0
    got: dict[object, set[tuple[object, ...]]] = defaultdict(set)
    for v in got_list:
        got[v.focus].add(key(v))
    differ = sum(1 for f in set(expected) | set(got) if expected.get(f, set()) != got.get(f, set()))

    print(f"trial {trial.id}: {n} patients ({len(base)} fixtures x {args.copies}), "
          f"{len(compiled.queries)} compiled queries (compiled in {t_compile * 1000:.0f} ms), "
          f"{sum(len(g) for g in graphs)} triples")
    print(f"python {platform.python_version()}, pyshacl {pyshacl.__version__}, pyoxigraph {pyoxigraph.__version__}")
    print(f"pySHACL, one graph per patient : {t_pyshacl / n * 1000:8.2f} ms/patient  ({t_pyshacl:.2f} s)")
    print(f"compiled, one store, evaluate  : {t_eval / n * 1000:8.2f} ms/patient  ({t_eval:.2f} s)")
    print(f"compiled, N-Triples + load     : {t_load / n * 1000:8.2f} ms/patient  ({t_load:.2f} s)")
    print(f"patients whose violations differ: {differ} of {n}")


if __name__ == "__main__":
    main()
