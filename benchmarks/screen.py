"""Batch screening benchmark: the batch engine against the pySHACL engine, throughput, memory, time split.

Usage: .venv/bin/python benchmarks/screen.py [--sizes 1000 10000 100000] [--pyshacl-size 1000]
       [--batch-size 500] [--modes batch-1 batch-2] [--keep DIR] (also `make bench`)

For each size it generates a synthetic population (`eligo synth N --seed 1`, FHIR Bulk NDJSON) and screens it
in a fresh child process per mode (each loads the trial from a start-up cache warmed once, as the CLI does,
so no run pays seconds for parsing the rules): the batch engine in one process and with 2 worker
processes, and, at ``--pyshacl-size`` only, the pySHACL engine with 2 workers (the reference, in the same
run). It prints patients per second, the speed-up over pySHACL, and peak resident memory of the screening process and of
its largest worker. For the one-process batch run it prints where the time went: read + map, generic
derivation, load, rules (the 10 costliest), shapes, translate, and the rest (reading the export index and
writing rows). With ``--keep DIR`` each size's population is kept in (and reused from) ``DIR/N``: generating
100,000 patients takes longer than screening them. Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eligo.batch import DEFAULT_BATCH_SIZE

INDEX = dt.date(2026, 12, 1)
MODES = {"batch-1": ("batch", 1), "batch-2": ("batch", 2), "pyshacl-2": ("pyshacl", 2)}


def child(mode: str, pop: Path, out: Path, batch_size: int, cache: Path) -> None:
    """Run one screening in this process and print a JSON line of figures; the trial and term module come
    from the start-up cache ``cache`` (warmed by the parent), as they do for the CLI."""
    from eligo.batch import Engine
    from eligo.population import workers
    from eligo.population.screen import screen

    engine, n = MODES[mode]
    t = time.perf_counter()
    s = screen([pop], index_date=INDEX, out=out, workers=n, progress=False, engine=Engine(engine),
               batch_size=batch_size, cache_dir=cache)
    seconds = time.perf_counter() - t
    split: dict[str, object] = {}
    if n == 1 and workers._State.batch is not None and workers._State.batch.engine is not None:
        tm = workers._State.batch.engine.timings
        split = {k: getattr(tm, k) for k in ("map", "derive", "load", "rules", "shapes", "translate")}
        split["per_rule"] = sorted(tm.per_rule.items(), key=lambda kv: -kv[1])[:10]
    print(json.dumps({"patients": s.total, "errors": s.errors, "seconds": seconds,
                      "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                      "split": split}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--pyshacl-size", type=int, default=1000, help="the size the pySHACL engine also runs at")
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--modes", nargs="+", default=["batch-1", "batch-2"], choices=["batch-1", "batch-2"])
    ap.add_argument("--keep", type=Path, help="keep (and reuse) each size's synthetic population here")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]), int(args.child[3]), Path(args.child[4]))
        return
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores; batch size {args.batch_size}")
    print(f"{'N':>7} {'engine':<8} {'procs':>5} {'patients/s':>11} {'ms/patient':>11} {'wall s':>8} "
          f"{'peak MB':>8} {'worker MB':>10}")
    pyshacl_rate: float | None = None
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"  # the CLI's start-up cache, warmed once so no run pays for parsing the rules
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from eligo.check import Screener; "
                        "Screener(cache_dir=Path(sys.argv[1]))", str(cache)], check=True)
        for n in args.sizes:
            pop = args.keep / str(n) if args.keep else Path(tmp) / f"pop{n}"
            if not (pop / "Patient.ndjson").is_file():
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "eligo", "synth", str(n), "--seed", "1", "--out", str(pop)],
                               check=True, capture_output=True)
                print(f"  (synth {n}: {time.perf_counter() - t:.0f} s)", flush=True)
            modes = [*args.modes, *(["pyshacl-2"] if n == args.pyshacl_size else [])]
            for mode in modes:
                proc = subprocess.run([sys.executable, __file__, "--child", mode, str(pop), str(Path(tmp) / "o.jsonl"),
                                       str(args.batch_size), str(cache)], check=True, capture_output=True, text=True)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                rate = r["patients"] / r["seconds"]
                engine, procs = MODES[mode]
                worker = f"{r['worker_mb']:.0f}" if procs > 1 else "-"
                print(f"{n:>7} {engine:<8} {procs:>5} {rate:>11.1f} {1000 / rate:>11.2f} {r['seconds']:>8.1f} "
                      f"{r['self_mb']:>8.0f} {worker:>10}", flush=True)
                if mode == "pyshacl-2":
                    pyshacl_rate = rate
                    batch2 = _rates.get((n, "batch-2"))
                    if batch2:
                        print(f"  speed-up of the batch engine over pySHACL at N = {n}, 2 workers: "
                              f"{batch2 / rate:.1f}x", flush=True)
                _rates[(n, mode)] = rate
                if r["split"]:
                    _print_split(r["split"], r["seconds"], r["patients"])
    if pyshacl_rate is None:
        print("(pySHACL not run: --pyshacl-size is not among --sizes)")


_rates: dict[tuple[int, str], float] = {}


def _print_split(split: dict, seconds: float, patients: int) -> None:
    per = {k: 1000 * v / max(1, patients) for k, v in split.items() if k != "per_rule"}
    rest = 1000 * seconds / max(1, patients) - sum(per.values())
    parts = [f"read+map {per['map']:.2f}", f"derive {per['derive']:.2f}", f"load {per['load']:.2f}",
             f"rules {per['rules']:.2f}", f"shapes {per['shapes']:.2f}", f"translate {per['translate']:.2f}",
             f"index+write+other {rest:.2f}"]
    print("    ms/patient, one process: " + ", ".join(parts), flush=True)
    print("    costliest rules (ms/patient): " + ", ".join(
        f"{name} {1000 * s / max(1, patients):.2f}" for name, s in split["per_rule"]), flush=True)


if __name__ == "__main__":
    main()
