"""Population store benchmark: load time and query time, embedded store vs a real SPARQL endpoint.

Usage: .venv/bin/python benchmarks/cohort.py [--sizes 1000 10000] [--workers 2] [--repeat 3]

For each size it generates a synthetic population (seed 1), screens it once
(`eligo.population.screen.screen`, the figure is printed for reference), then:

- embedded store (pyoxigraph, on disk): loads the reference graphs and the
  patient graphs, then the run's results;
- a real `oxigraph serve` on 127.0.0.1 (started here, stopped at the end):
  the same, over HTTP with SPARQL Update, and the patient graphs once more
  with the Graph Store protocol;
- every query in queries/ (default parameters, plus the parameterised
  variants) on both, the median of ``--repeat`` runs, each including the
  local syntax check `eligo cohort` does.

Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = dt.date(2026, 12, 1)
CASES = [
    ("runs", {}), ("candidates", {}), ("funnel", {}), ("data-gaps", {}), ("data-gaps", {"criterion": "IN11"}),
    ("data-gaps", {"maxOpen": "1"}), ("prescreen", {}), ("prescreen", {"indexDate": "2026-12-01"}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--workers", type=int, default=2, help="screening worker processes")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query (the median is printed)")
    ap.add_argument("--patient-data-only", action="store_true",
                    help="skip screening: load the patient graphs only and time the queries that need no run")
    args = ap.parse_args()
    cases = [(q, p) for q, p in CASES if q == "prescreen"] if args.patient_data_only else CASES

    sys.path.insert(0, str(ROOT / "tests"))
    from eligo import TermModule, Trial
    from eligo.authoring.synth import generate, write_bulk
    from eligo.population.cohort import load_query, run_query
    from eligo.population.load import load_patients, load_reference_graphs, write_run
    from eligo.population.results import RunInfo
    from eligo.population.screen import Row, screen
    from eligo.population.store import EmbeddedStore, SparqlEndpoint
    from oxigraph_server import oxigraph_server

    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores", flush=True)
    trial, terms = Trial.load("tdxd-her2-liquid-biopsy"), TermModule.load()
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="eligo-bench-") as tmp_name:
            tmp = Path(tmp_name)
            pop = tmp / "pop"
            t = time.perf_counter()
            write_bulk(generate(n, seed=1, trial=trial, terms=terms, index_date=INDEX), pop)
            t_gen = time.perf_counter() - t
            rows: list[Row] = []
            if args.patient_data_only:
                print(f"\nN = {n}: generated in {t_gen:.1f} s, not screened (patient data only)", flush=True)
            else:
                t = time.perf_counter()
                screen([pop], index_date=INDEX, out=tmp / "rows.jsonl", workers=args.workers, progress=False,
                       on_row=rows.append)
                t_screen = time.perf_counter() - t
                rows.sort(key=lambda r: r.patient)
                print(f"\nN = {n}: generated in {t_gen:.1f} s, screened in {t_screen:.1f} s "
                      f"({n / t_screen:.1f} patients/s, {args.workers} workers)", flush=True)
            run = RunInfo.new(trial, index_date=INDEX, terms_version="bench", started=None, ended=None)
            loaded = dt.datetime.now(dt.UTC)
            with EmbeddedStore(tmp / "store", create=True) as store, oxigraph_server(tmp / "server") as server:
                endpoint = SparqlEndpoint(server.query_url)
                graph_store = SparqlEndpoint(server.query_url, graph_store_url=server.store_url)
                backends = (("embedded", store), ("endpoint", endpoint))
                for name, backend in backends:
                    t = time.perf_counter()
                    load_reference_graphs(backend, trial)
                    t_ref = time.perf_counter() - t
                    patients, triples, _ = load_patients(backend, [pop])
                    t_data = time.perf_counter() - t - t_ref
                    written = write_run(backend, run, trial, rows, loaded=loaded)[0] if rows else 0
                    t_res = time.perf_counter() - t - t_ref - t_data
                    how = " (SPARQL Update over HTTP)" if name == "endpoint" else " (embedded, on disk)"
                    print(f"  {name:<9} load{how}: reference graphs {t_ref:.2f} s; {patients} patient graphs, "
                          f"{triples} triples, {t_data:.1f} s; results, {written} triples, {t_res:.1f} s; "
                          f"total {t_ref + t_data + t_res:.1f} s", flush=True)
                t = time.perf_counter()
                load_patients(graph_store, [pop])
                print(f"  endpoint  load: the patient graphs again with the Graph Store protocol "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
                print(f"  {'query':<28} {'rows':>6} {'embedded s':>11} {'endpoint s':>11}  (median of {args.repeat})")
                for qname, params in cases:
                    q = load_query(qname)
                    medians = []
                    nrows = 0
                    for _, backend in backends:
                        runs = []
                        for _ in range(args.repeat):
                            t = time.perf_counter()
                            nrows = len(run_query(backend, q, params).rows)
                            runs.append(time.perf_counter() - t)
                        medians.append(statistics.median(runs))
                    label = qname + "".join(f" {k}={v}" for k, v in params.items())
                    print(f"  {label:<28} {nrows:>6} {medians[0]:>11.3f} {medians[1]:>11.3f}", flush=True)

if __name__ == "__main__":
    main()
