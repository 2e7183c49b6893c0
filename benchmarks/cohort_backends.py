"""Population store on three backends: load and query times, embedded Oxigraph vs `oxigraph serve` vs Virtuoso.

Usage: .venv/bin/python benchmarks/cohort_backends.py [--sizes 1000 10000] [--repeat 3] [--keep DIR]

For each size it generates a synthetic population (seed 1) and screens it once (both skipped when ``--keep DIR``
already holds them from an earlier run), then loads the reference graphs, the patient graphs and the run's
results into:

- the embedded store (pyoxigraph, on disk);
- a real `oxigraph serve` on 127.0.0.1: with SPARQL Update, then everything again with the Graph Store protocol;
- a real OpenLink Virtuoso 7 (Debian's `virtuoso-opensource-7`, tests/virtuoso_server.py) on 127.0.0.1: the
  same two routes. Its ini is Virtuoso's defaults but for ResultSetMaxRows = 100,000 (a 10,000-patient
  answer is close to the default 10,000) and 4 GB of buffers (NumberOfBuffers 500,000).

Then every query in queries/ with the parameter combinations of tests/test_cohort.py on the three, the median
of ``--repeat`` runs, each including the local syntax check `eligo cohort` does and, for the servers, HTTP
and JSON parsing; every answer is checked equal to the embedded store's. Prints figures only; asserts
nothing about time.
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
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--workers", type=int, default=2, help="screening worker processes")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query (the median is printed)")
    ap.add_argument("--keep", type=Path, help="keep (and reuse) each size's population and screening rows here")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "tests"))
    from eligo import TermModule, Trial
    from eligo.authoring.synth import generate, write_bulk
    from eligo.population.cohort import load_query, run_query
    from eligo.population.load import load_patients, load_reference_graphs, write_run
    from eligo.population.results import RunInfo, read_rows
    from eligo.population.screen import screen
    from eligo.population.store import Backend, EmbeddedStore, SparqlEndpoint
    from oxigraph_server import oxigraph_server
    from virtuoso_server import virtuoso_server

    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores", flush=True)
    trial, terms = Trial.load("tdxd-her2-liquid-biopsy"), TermModule.load()
    def one_size(n: int) -> None:
        with tempfile.TemporaryDirectory(prefix="eligo-bench-") as tmp_name:
            tmp = Path(tmp_name)
            data = (args.keep / str(n)) if args.keep else tmp / "data"
            pop, rows_file = data / "pop", data / "rows.jsonl"
            if not rows_file.is_file():
                data.mkdir(parents=True, exist_ok=True)
                t = time.perf_counter()
                write_bulk(generate(n, seed=1, trial=trial, terms=terms, index_date=INDEX), pop)
                t_gen = time.perf_counter() - t
                t = time.perf_counter()
                screen([pop], index_date=INDEX, out=rows_file, workers=args.workers, progress=False)
                print(f"\nN = {n}: generated in {t_gen:.1f} s, screened in {time.perf_counter() - t:.1f} s "
                      f"({args.workers} workers)", flush=True)
            else:
                print(f"\nN = {n}: population and screening rows from {data}", flush=True)
            rows = sorted(read_rows(rows_file), key=lambda r: r.patient)
            run = RunInfo.new(trial, index_date=INDEX, terms_version="bench", started=None, ended=None)
            loaded = dt.datetime.now(dt.UTC)

            def load(name: str, backend: Backend, route: str) -> None:
                t = time.perf_counter()
                load_reference_graphs(backend, trial)
                t_ref = time.perf_counter() - t
                patients, triples, _ = load_patients(backend, [pop])
                t_data = time.perf_counter() - t - t_ref
                written = write_run(backend, run, trial, rows, loaded=loaded)[0]
                t_res = time.perf_counter() - t - t_ref - t_data
                print(f"  load {name:<9} {route:<14} reference graphs {t_ref:6.2f} s | {patients} patient graphs, "
                      f"{triples} triples {t_data:7.1f} s | results, {written} triples {t_res:7.1f} s | "
                      f"total {t_ref + t_data + t_res:7.1f} s", flush=True)

            with EmbeddedStore(tmp / "store", create=True) as store, oxigraph_server(tmp / "oxigraph") as ox, \
                    virtuoso_server(tmp / "virtuoso", sparql={"ResultSetMaxRows": 100_000},
                                    parameters={"NumberOfBuffers": 500_000, "MaxDirtyBuffers": 375_000}) as vt:
                backends: list[tuple[str, Backend]] = [
                    ("embedded", store), ("oxigraph", SparqlEndpoint(ox.query_url)),
                    ("virtuoso", SparqlEndpoint(vt.query_url))]
                for name, backend in backends:
                    load(name, backend, "(embedded)" if name == "embedded" else "(SPARQL Update)")
                load("oxigraph", SparqlEndpoint(ox.query_url, graph_store_url=ox.store_url), "(Graph Store)")
                load("virtuoso", SparqlEndpoint(vt.query_url, graph_store_url=vt.graph_store_url), "(Graph Store)")
                print(f"  {'query':<28} {'rows':>6} " + " ".join(f"{name + ' s':>11}" for name, _ in backends)
                      + f"  (median of {args.repeat}; every answer equal to the embedded store's)", flush=True)
                for qname, params in CASES:
                    q = load_query(qname)
                    medians, answers = [], []
                    for _, backend in backends:
                        runs = []
                        for _ in range(args.repeat):
                            t = time.perf_counter()
                            answer = run_query(backend, q, params)
                            runs.append(time.perf_counter() - t)
                        medians.append(statistics.median(runs))
                        answers.append(answer)
                    same = all(a == answers[0] for a in answers)
                    label = qname + "".join(f" {k}={v}" for k, v in params.items())
                    print(f"  {label:<28} {len(answers[0].rows):>6} " + " ".join(f"{m:>11.3f}" for m in medians)
                          + ("" if same else "  ANSWERS DIFFER"), flush=True)


    for n in args.sizes:
        one_size(n)

if __name__ == "__main__":
    main()
