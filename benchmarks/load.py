"""`eligo load` into an embedded store: seconds for the patient graphs and for the results, as a whole process.

Usage: .venv/bin/python benchmarks/load.py [--sizes 1000 10000] [--data DIR] [--workers N] [--rows]
                                          [--loaders]

For each size N, ``DIR/N/pop`` holds a synthetic population (``eligo synth N --seed 1``, generated when
missing). Each run is a fresh process into a fresh on-disk store, reading the trial from a start-up
cache warmed once (as every run of the CLI but the first after an install does):

- ``eligo load DIR/N/pop --no-screen``: the reference graphs and the patient graphs;
- with ``--rows``, ``eligo load DIR/N/pop --rows DIR/N/rows.jsonl``: the patient graphs again and the results
  of an earlier ``eligo screen`` (screened first, with the batch engine, when the file is missing).

Printed per run: the wall time of the whole process, the seconds ``eligo load`` reports for the patient
graphs (reference graphs included) and for the results, and the CPU seconds (user + system) of the process
and its worker processes: another process may share the machine, and CPU time says what the load itself
cost. With ``--loaders``, Oxigraph's two ways of parsing the same patient N-Quads (``Store.load``, one
transaction, and ``Store.bulk_load``) are timed in memory and on disk, in writes of 50 and 500 patients.
Prints figures only; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ELIGO = ROOT / ".venv" / "bin" / "eligo"
INDEX_DATE = "2026-12-01"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str]) -> tuple[str, float, float]:
    """Run a command; its standard output, wall seconds and CPU seconds (with its own children)."""
    cpu, t = children_cpu(), time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall, used = time.perf_counter() - t, children_cpu() - cpu
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout, wall, used


def population(data: Path, n: int) -> Path:
    pop = data / str(n) / "pop"
    if not (pop / "Patient.ndjson").is_file():
        _, wall, _ = run([str(ELIGO), "synth", str(n), "--seed", "1", "--out", str(pop)])
        print(f"N = {n}: generated in {wall:.1f} s", flush=True)
    return pop


def rows_file(data: Path, n: int, pop: Path) -> Path:
    rows = data / str(n) / "rows.jsonl"
    if not rows.is_file():
        _, wall, _ = run([str(ELIGO), "screen", str(pop), "--index-date", INDEX_DATE, "--out", str(rows),
                          "--format", "jsonl", "--progress", "never"])
        print(f"N = {n}: screened in {wall:.1f} s", flush=True)
    return rows


def warm(cache: Path) -> None:
    """Fill the start-up cache ``cache`` with the loaded trial, as a first `eligo load` would: the timed runs
    then read it, as every later run of the CLI does, instead of parsing the rules (seconds)."""
    run([sys.executable, "-c", "import sys; from pathlib import Path; from eligo.paths import DEFAULT_TRIAL; "
         "from eligo.trial import Trial; Trial.load(DEFAULT_TRIAL, cache_dir=Path(sys.argv[1]))", str(cache)])


def load(n: int, pop: Path, workers: int | None, rows: Path | None, cache: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="eligo-bench-load-") as tmp:
        argv = [str(ELIGO), "load", str(pop), "--store", str(Path(tmp) / "store"), "--progress", "never",
                "--cache-dir", str(cache)]
        argv += ["--no-screen"] if rows is None else ["--rows", str(rows), "--index-date", INDEX_DATE]
        argv += [] if workers is None else ["--workers", str(workers)]
        out, wall, cpu = run(argv)
    data = re.search(r"(\d+) patient graphs \((\d+) triples\) in ([\d.]+) s", out)
    results = re.search(r"(\d+) result triples in ([\d.]+) s", out)
    assert data is not None, out
    what = "patients + results" if rows is not None else "patients (--no-screen)"
    line = (f"N = {n:>6} {what:<24} process {wall:6.1f} s wall, {cpu:6.1f} s CPU | patient graphs "
            f"{data.group(1)} ({data.group(2)} triples) {float(data.group(3)):6.1f} s")
    if results is not None:
        line += f" | results ({results.group(1)} triples) {float(results.group(2)):6.1f} s"
    print(line, flush=True)


def loaders(n: int, pop: Path) -> None:
    """Oxigraph's load vs bulk_load of the same N-Quads, in memory and on disk (CPU seconds in brackets)."""
    import pyoxigraph as ox

    from eligo.ingest.batch import discover
    from eligo.population.patients import map_items

    data = map_items(list(discover([pop])))
    for per_write in (50, 500):
        texts = ["".join(d.nquads for d in data[i:i + per_write]).encode("utf-8")
                 for i in range(0, len(data), per_write)]
        for disk in (False, True):
            for method in ("load", "bulk_load"):
                with tempfile.TemporaryDirectory(prefix="eligo-bench-ox-") as tmp:
                    store = ox.Store(tmp) if disk else ox.Store()
                    t, cpu = time.perf_counter(), time.process_time()
                    for text in texts:
                        getattr(store, method)(text, format=ox.RdfFormat.N_QUADS)
                    if disk:
                        store.flush()
                    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
                    print(f"N = {n:>6} Store.{method:<9} {'disk' if disk else 'memory':<6} {per_write:>3} patients "
                          f"a call: {wall:6.2f} s ({cpu:.2f} s CPU)", flush=True)
                    del store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--data", type=Path, help="keep (and reuse) each size's population and rows here")
    ap.add_argument("--workers", type=int, help="eligo load --workers (default: one per core)")
    ap.add_argument("--rows", action="store_true", help="also load results from an earlier `eligo screen`")
    ap.add_argument("--loaders", action="store_true", help="time Oxigraph's load and bulk_load of the N-Quads")
    args = ap.parse_args()
    tmp = None if args.data else Path(tempfile.mkdtemp(prefix="eligo-bench-data-"))
    data = args.data or tmp
    assert data is not None
    cache = Path(tempfile.mkdtemp(prefix="eligo-bench-cache-"))
    try:
        warm(cache)
        for n in args.sizes:
            pop = population(data, n)
            load(n, pop, args.workers, None, cache)
            if args.rows:
                load(n, pop, args.workers, rows_file(data, n, pop), cache)
            if args.loaders:
                loaders(n, pop)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
