"""Time the trial's rules set-at-a-time (one pyoxigraph store per population) against rdflib per patient.

Usage: .venv/bin/python benchmarks/rules_batch.py [--sizes 1000 10000] [--seed 1] [--rdflib-sample 200]
                                                   [--top 10] [--trial ID]

A synthetic population of each size (``eligo synth``: FHIR Bulk NDJSON, read as ``eligo screen`` reads it)
is mapped and generically derived patient by patient (not timed), loaded into one in-memory store, and the
rules run once over it (:mod:`eligo.engine.batch_rules`). The reference, rdflib with ``$this`` pre-bound on
each patient's own graph (:meth:`Deriver.apply_rule`), costs the same per patient whatever the population, so
it runs on the first ``--rdflib-sample`` patients only; the same patients' facts are compared between the
two engines (numbers by value). Prints the total and the ``--top`` rules by cost, in ms per patient.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyoxigraph
import rdflib
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from eligo import TermModule, Trial
from eligo.authoring.synth import generate, write_bulk
from eligo.engine.batch_rules import BatchRules
from eligo.engine.derive import Derived, Deriver
from eligo.engine.shape_eval import load, to_rdflib
from eligo.ingest.batch import Unit, discover, unit_input
from eligo.paths import DEFAULT_TRIAL

INDEX = dt.date(2026, 12, 1)
_NUMBERS = {str(XSD.integer), str(XSD.decimal)}


def canon(n: Node) -> object:
    if isinstance(n, Literal) and str(n.datatype) in _NUMBERS:
        return ("number", Decimal(str(n)))
    return n


def population(trial: Trial, terms: TermModule, n: int, seed: int, keep: int) -> tuple[pyoxigraph.Store, list[Derived],
                                                                                    float]:
    """One store holding ``n`` patients, the first ``keep`` derived graphs (the rdflib sample), and the seconds
    spent serialising and loading (each graph is loaded as soon as it is derived: 10,000 rdflib graphs at once
    would not fit in memory)."""
    store, kept, t_load = pyoxigraph.Store(), [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        write_bulk(generate(n, seed=seed, trial=trial, terms=terms, index_date=INDEX), Path(tmp))
        deriver = Deriver(trial, terms)
        for u in discover([Path(tmp)]):
            if isinstance(u, Unit):
                d = deriver.derive(unit_input(u).graph, index_date=INDEX, rules=[])
                t0 = time.perf_counter()
                load([d.graph], store)
                t_load += time.perf_counter() - t0
                if len(kept) < keep:
                    kept.append(d)
    return store, kept, t_load


def per_patient(trial: Trial, derived: list[Derived]) -> tuple[dict[str, float], dict[URIRef, set[object]]]:
    """rdflib, one patient at a time: seconds per rule, and each patient's facts."""
    timings: dict[str, float] = defaultdict(float)
    facts: dict[URIRef, set[object]] = {}
    for d in derived:
        g = Graph()
        g += d.graph
        mine: set[object] = set()
        for rule in trial.rules:
            t0 = time.perf_counter()
            found = set(g.query(rule.query, initBindings={"this": d.patient}))
            for t in found:
                g.add(t)  # type: ignore[arg-type]
            timings[rule.iri.split("#")[-1]] += time.perf_counter() - t0
            mine |= {tuple(canon(x) for x in t) for t in found}  # type: ignore[union-attr]
        facts[d.patient] = mine
    return timings, facts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trial", default=str(DEFAULT_TRIAL))
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rdflib-sample", type=int, default=200)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()
    trial, terms = Trial.load(args.trial), TermModule.load()
    rules = BatchRules.from_trial(trial)
    print(f"trial {trial.id}: {len(trial.rules)} rules; python {platform.python_version()}, "
          f"rdflib {rdflib.__version__}, pyoxigraph {pyoxigraph.__version__}")
    for n in args.sizes:
        t0 = time.perf_counter()
        store, sample, t_load = population(trial, terms, n, args.seed, args.rdflib_sample)
        t2 = time.perf_counter()
        batch_timings: dict[str, float] = {}
        found = rules.run_by_patient(store, timings=batch_timings)
        t3 = time.perf_counter()
        ref_timings, expected = per_patient(trial, sample)
        differ = sum(1 for d in sample if expected[d.patient] != {
            tuple(canon(to_rdflib(x)) for x in (t.subject, t.predicate, t.object))
            for t in found.get(pyoxigraph.NamedNode(str(d.patient)), set())})
        k = len(sample)
        print(f"\nN = {n:,} patients ({len(store):,} triples; synth + map + derive {t2 - t0 - t_load:.0f} s, "
              f"N-Triples + load {t_load:.1f} s)")
        print(f"  batch, one store       : {(t3 - t2) / n * 1000:8.2f} ms/patient  ({t3 - t2:.1f} s)")
        print(f"  rdflib, per patient    : {sum(ref_timings.values()) / k * 1000:8.2f} ms/patient  "
              f"(on {k} of them)")
        print(f"  patients whose derived facts differ: {differ} of {k}")
        print(f"  top {args.top} rules, ms/patient   batch    rdflib")
        for name, seconds in sorted(batch_timings.items(), key=lambda kv: -kv[1])[: args.top]:
            print(f"    {name:38s} {seconds / n * 1000:7.3f}  {ref_timings[name] / k * 1000:7.3f}")


if __name__ == "__main__":
    main()
