"""Cost per patient of the batch engine's load, rules and shapes at several batch sizes (CPU time).

Usage: .venv/bin/python benchmarks/batch_size.py POPULATION_DIR [--patients 2000] [--sizes 100 500 2000]

POPULATION_DIR is FHIR Bulk NDJSON (``eligo synth N --seed S --out DIR``). Every patient is mapped and
generically derived once; then, for each batch size, the patients go through the engine's own steps a
batch at a time: N-Triples text into a fresh in-memory Oxigraph store, the trial's rules set-at-a-time,
the compiled shapes. Prints CPU milliseconds per patient for each step: whether a larger batch spreads a
per-query cost thinner (hardly: the rules cost about the same per patient at 100, 500 and 2,000).
Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import pyoxigraph as ox

from eligo.batch import BatchScreener
from eligo.engine.shape_eval import evaluate
from eligo.ingest.batch import Unit, discover, unit_triples

INDEX = dt.date(2026, 12, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("population", type=Path)
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 2000])
    args = ap.parse_args()
    units = [u for u in discover([args.population]) if isinstance(u, Unit)][:args.patients]
    screener = BatchScreener()
    engine = screener.engine
    assert engine is not None, screener.unsupported
    graphs = []
    for u in units:
        g, _warnings = unit_triples(u)
        screener.reference.deriver.derive_generic(g, index_date=INDEX, source=u.source)
        graphs.append(g)
    n = len(graphs)
    print(f"{n} patients; CPU ms per patient")
    for size in args.sizes:
        load = rules = shapes = 0.0
        for i in range(0, n, size):
            t0 = time.process_time()
            lines = list(engine._parameters)
            for g in graphs[i:i + size]:
                lines.extend(engine._write.lines(g))
            store = ox.Store()
            store.extend(ox.parse("".join(lines), format=ox.RdfFormat.N_TRIPLES))
            t1 = time.process_time()
            engine.rules.run_by_patient(store)
            t2 = time.process_time()
            evaluate(engine.shapes, store)
            t3 = time.process_time()
            load, rules, shapes = load + t1 - t0, rules + t2 - t1, shapes + t3 - t2
        print(f"  batch {size:>5}: load {1000 * load / n:.2f}  rules {1000 * rules / n:.2f}  "
              f"shapes {1000 * shapes / n:.2f}")


if __name__ == "__main__":
    main()
