"""Time `eligo check` on one patient: whole process and in-process.

Usage: .venv/bin/python benchmarks/check.py [PATIENT] [--runs 5] [--calls 100]

Prints the median wall time of the whole `eligo check` process (Python start,
trial and term loading, ingest, derivation, validation, report) and the median
in-process time of Screener.check on an already loaded screener, split into
derivation (generic facts + rules), validation (pySHACL) and translation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from eligo import Screener
from eligo.engine.validate import validate
from eligo.engine.verdict import translate
from eligo.ingest import read_patient

ROOT = Path(__file__).resolve().parents[1]
INDEX = dt.date(2026, 12, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("patient", nargs="?", type=Path, default=ROOT / "examples" / "eligible.ttl")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=100)
    args = ap.parse_args()

    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(f"patient: {args.patient}")
    walls = []
    for _ in range(args.runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "eligo", "check", str(args.patient), "--index-date",
                        INDEX.isoformat(), "--format", "json"], check=True, capture_output=True)
        walls.append(time.perf_counter() - t)
    print(f"whole process, median of {args.runs}: {statistics.median(walls):.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f})")

    t = time.perf_counter()
    screener = Screener()
    print(f"load trial + term module (once per process): {time.perf_counter() - t:.2f} s")
    patient = read_patient(args.patient)
    totals, derive_t, validate_t, translate_t = [], [], [], []
    for _ in range(args.calls):
        t0 = time.perf_counter()
        d = screener.deriver.derive(patient.graph, index_date=INDEX)
        t1 = time.perf_counter()
        violations = validate(d.graph, screener.trial.shapes_graph)
        t2 = time.perf_counter()
        translate(criteria=screener.trial.criteria, meanings=screener.trial.shape_meanings,
                  violations=violations, graph=d.graph, patient=d.patient, terms=screener.terms)
        t3 = time.perf_counter()
        derive_t.append(t1 - t0)
        validate_t.append(t2 - t1)
        translate_t.append(t3 - t2)
        totals.append(t3 - t0)
    ms = {name: statistics.median(v) * 1000 for name, v in
          (("total", totals), ("derive", derive_t), ("validate", validate_t), ("translate", translate_t))}
    print(f"in-process per patient, median of {args.calls}: {ms['total']:.0f} ms "
          f"(derive {ms['derive']:.0f} ms, validate {ms['validate']:.0f} ms, translate {ms['translate']:.0f} ms)")


if __name__ == "__main__":
    main()
