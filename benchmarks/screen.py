"""Batch screening benchmark: throughput, memory, where the time goes, growth with N.

Usage: .venv/bin/python benchmarks/screen.py [--sizes 100 1000 10000] [--modes single workers2 dask2]
(also `make bench`). For each size it generates a synthetic population (seed 1)
and screens it in each mode in a fresh child process, printing patients per
second and peak resident memory (the screening process and, for the parallel
modes, the largest worker). Then it times ingest / derivation / validation /
translation per patient on a sample. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

INDEX = dt.date(2026, 12, 1)


def child(mode: str, pop: Path, out: Path) -> None:
    """Run one screening in this process and print a JSON line of figures."""
    from eligo.population.screen import screen

    worker_rss: list[int] = []
    t = time.perf_counter()
    if mode == "dask2":
        from distributed import LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            from distributed import Client

            s = screen([pop], index_date=INDEX, out=out, scheduler=cluster.scheduler_address, progress=False)
            with Client(cluster.scheduler_address) as c:
                import psutil  # installed with distributed

                def rss() -> int:
                    return psutil.Process().memory_info().rss
                worker_rss = list(c.run(rss).values())
    else:
        s = screen([pop], index_date=INDEX, out=out, workers=1 if mode == "single" else 2, progress=False)
    seconds = time.perf_counter() - t
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "patients": s.total, "errors": s.errors, "seconds": seconds,
                      "self_mb": self_mb, "worker_mb": max(children_mb, max(worker_rss, default=0) / 2**20)}))


def split(pop: Path, sample: int) -> tuple[dict[str, float], float, list[tuple[float, str]]]:
    """On the first ``sample`` patients: the median milliseconds of each step, and, within derivation, the
    mean milliseconds of the generic steps and of each rule (costliest first)."""
    from eligo import Screener
    from eligo.engine.validate import validate
    from eligo.engine.verdict import translate
    from eligo.ingest.batch import Unit, discover
    from eligo.ingest.fhir_json import Located
    from eligo.ingest.fhir_map import map_patient

    screener = Screener()
    deriver = screener._deriver
    units = [u for u in discover([pop]) if isinstance(u, Unit)][:sample]
    steps: dict[str, list[float]] = {"ingest": [], "derive": [], "validate": [], "translate": []}
    generic: list[float] = []
    per_rule: dict[str, list[float]] = {}
    for u in units:
        t0 = time.perf_counter()
        m = map_patient([Located(r, u.source) for r in json.loads(u.payload)], source=u.source)
        t1 = time.perf_counter()
        d = deriver.derive(m.graph, index_date=INDEX, rules=[])  # Deriver.derive, its rules timed one by one
        generic.append((time.perf_counter() - t1) * 1000)
        for rule in screener.trial.rules:
            t = time.perf_counter()
            deriver.apply_rule(d.graph, rule, d.patient)
            per_rule.setdefault(rule.iri.rsplit("#", 1)[-1], []).append((time.perf_counter() - t) * 1000)
        t2 = time.perf_counter()
        v = validate(d.graph, screener.trial.shapes_graph)
        t3 = time.perf_counter()
        translate(criteria=screener.trial.criteria, meanings=screener.trial.shape_meanings, violations=v,
                  graph=d.graph, patient=d.patient, terms=screener.terms)
        t4 = time.perf_counter()
        for k, a, b in (("ingest", t0, t1), ("derive", t1, t2), ("validate", t2, t3), ("translate", t3, t4)):
            steps[k].append((b - a) * 1000)
    ranked = sorted(((statistics.mean(v), k) for k, v in per_rule.items()), reverse=True)
    return {k: statistics.median(v) for k, v in steps.items()}, statistics.mean(generic), ranked


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--modes", nargs="+", default=["single", "workers2", "dask2"])
    ap.add_argument("--sample", type=int, default=100, help="patients timed step by step")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "POP", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{__import__('os').cpu_count()} cores")
    print(f"{'N':>6} {'mode':<9} {'patients/s':>11} {'ms/patient':>11} {'peak MB':>8} {'worker MB':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            pop = Path(tmp) / f"pop{n}"
            subprocess.run([sys.executable, "-m", "eligo", "synth", str(n), "--seed", "1", "--out", str(pop)],
                           check=True, capture_output=True)
            for mode in args.modes:
                proc = subprocess.run([sys.executable, __file__, "--child", mode, str(pop), str(Path(tmp) / "o.jsonl")],
                                      check=True, capture_output=True, text=True)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                rate = r["patients"] / r["seconds"]
                worker = f"{r['worker_mb']:.0f}" if mode != "single" else "-"
                print(f"{n:>6} {mode:<9} {rate:>11.1f} {1000 / rate:>11.0f} {r['self_mb']:>8.0f} {worker:>10}",
                      flush=True)
            if n == args.sizes[0]:
                ms, generic, ranked = split(pop, args.sample)
                total = sum(ms.values())
                print(f"  per patient, median over the first {min(args.sample, n)} patients: "
                      + ", ".join(f"{k} {v:.0f} ms ({100 * v / total:.0f}%)" for k, v in ms.items()), flush=True)
                rules_ms, count = sum(v for v, _ in ranked), len(ranked)
                print(f"  derivation per patient (mean): generic {generic:.0f} ms, {count} rules {rules_ms:.0f} ms,"
                      " costliest rules: " + ", ".join(f"{k} {v:.1f} ms" for v, k in ranked[:5]), flush=True)


if __name__ == "__main__":
    main()
