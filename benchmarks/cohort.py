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

import tempfile
import time
from pathlib import Path

import _cohort_common as common


def main() -> None:
    ap = common.parser(__doc__)
    ap.add_argument("--patient-data-only", action="store_true",
                    help="skip screening: load the patient graphs only and time the queries that need no run")
    args = ap.parse_args()
    cases = [(q, p) for q, p in common.CASES if q == "prescreen"] if args.patient_data_only else common.CASES

    trial, terms = common.start()
    from eligo.population.cohort import load_query
    from eligo.population.load import load_patients
    from eligo.population.screen import Row
    from eligo.population.store import EmbeddedStore, SparqlEndpoint
    from oxigraph_server import oxigraph_server

    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="eligo-bench-") as tmp_name:
            tmp = Path(tmp_name)
            pop = tmp / "pop"
            t_gen = common.generate_population(n, pop, trial, terms)
            rows: list[Row] = []
            if args.patient_data_only:
                print(f"\nN = {n}: generated in {t_gen:.1f} s, not screened (patient data only)", flush=True)
            else:
                t_screen = common.screen_population(pop, tmp / "rows.jsonl", args.workers, rows)
                rows.sort(key=lambda r: r.patient)
                print(f"\nN = {n}: generated in {t_gen:.1f} s, screened in {t_screen:.1f} s "
                      f"({n / t_screen:.1f} patients/s, {args.workers} workers)", flush=True)
            run, loaded = common.new_run(trial)
            with EmbeddedStore(tmp / "store", create=True) as store, oxigraph_server(tmp / "server") as server:
                endpoint = SparqlEndpoint(server.query_url)
                graph_store = SparqlEndpoint(server.query_url, graph_store_url=server.store_url)
                backends = (("embedded", store), ("endpoint", endpoint))
                for name, backend in backends:
                    done = common.timed_load(backend, trial, pop, run, rows, loaded, results=bool(rows))
                    how = " (SPARQL Update over HTTP)" if name == "endpoint" else " (embedded, on disk)"
                    print(f"  {name:<9} load{how}: reference graphs {done.reference_s:.2f} s; {done.patients} patient "
                          f"graphs, {done.triples} triples, {done.data_s:.1f} s; results, {done.written} triples, "
                          f"{done.results_s:.1f} s; total {done.total_s:.1f} s", flush=True)
                t = time.perf_counter()
                load_patients(graph_store, [pop])
                print(f"  endpoint  load: the patient graphs again with the Graph Store protocol "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
                print(f"  {'query':<28} {'rows':>6} {'embedded s':>11} {'endpoint s':>11}  (median of {args.repeat})")
                for qname, params in cases:
                    q = load_query(qname)
                    timed = [common.timed_query(backend, q, params, args.repeat) for _, backend in backends]
                    nrows = len(timed[-1][1].rows)
                    label = qname + "".join(f" {k}={v}" for k, v in params.items())
                    print(f"  {label:<28} {nrows:>6} {timed[0][0]:>11.3f} {timed[1][0]:>11.3f}", flush=True)


if __name__ == "__main__":
    main()
