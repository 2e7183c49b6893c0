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

import tempfile
from pathlib import Path

import _cohort_common as common


def main() -> None:
    ap = common.parser(__doc__)
    ap.add_argument("--keep", type=Path, help="keep (and reuse) each size's population and screening rows here")
    args = ap.parse_args()

    trial, terms = common.start()
    from eligo.population.cohort import load_query
    from eligo.population.results import read_rows
    from eligo.population.store import Backend, EmbeddedStore, SparqlEndpoint
    from oxigraph_server import oxigraph_server
    from virtuoso_server import virtuoso_server

    def one_size(n: int) -> None:
        with tempfile.TemporaryDirectory(prefix="eligo-bench-") as tmp_name:
            tmp = Path(tmp_name)
            data = (args.keep / str(n)) if args.keep else tmp / "data"
            pop, rows_file = data / "pop", data / "rows.jsonl"
            if not rows_file.is_file():
                data.mkdir(parents=True, exist_ok=True)
                t_gen = common.generate_population(n, pop, trial, terms)
                t_screen = common.screen_population(pop, rows_file, args.workers)
                print(f"\nN = {n}: generated in {t_gen:.1f} s, screened in {t_screen:.1f} s "
                      f"({args.workers} workers)", flush=True)
            else:
                print(f"\nN = {n}: population and screening rows from {data}", flush=True)
            rows = sorted(read_rows(rows_file), key=lambda r: r.patient)
            run, loaded = common.new_run(trial)

            def load(name: str, backend: Backend, route: str) -> None:
                done = common.timed_load(backend, trial, pop, run, rows, loaded)
                print(f"  load {name:<9} {route:<14} reference graphs {done.reference_s:6.2f} s | {done.patients} "
                      f"patient graphs, {done.triples} triples {done.data_s:7.1f} s | results, {done.written} "
                      f"triples {done.results_s:7.1f} s | total {done.total_s:7.1f} s", flush=True)

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
                for qname, params in common.CASES:
                    q = load_query(qname)
                    timed = [common.timed_query(backend, q, params, args.repeat) for _, backend in backends]
                    answers = [answer for _, answer in timed]
                    same = all(a == answers[0] for a in answers)
                    label = qname + "".join(f" {k}={v}" for k, v in params.items())
                    print(f"  {label:<28} {len(answers[0].rows):>6} " + " ".join(f"{m:>11.3f}" for m, _ in timed)
                          + ("" if same else "  ANSWERS DIFFER"), flush=True)

    for n in args.sizes:
        one_size(n)


if __name__ == "__main__":
    main()
