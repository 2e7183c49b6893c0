"""Peak memory of screening a large population and of checking a large single file.

Usage: .venv/bin/python benchmarks/memory.py [--sizes 20 200] [--workers 2] [--patients 400]

For each size (MB) it writes a FHIR Bulk Data NDJSON population of that size
(``eligo synth`` patients, each Observation padded with a long ``note`` that
eligo does not read, so the bytes grow without the number of patients), runs
``eligo screen`` on it in a child process, and prints the peak resident memory
of the whole process tree (main process + workers, sampled every 50 ms) and of
the largest single process (``ru_maxrss``). Memory that stays flat while the
file grows tenfold is the point. Then ``eligo check`` on single Bundles: one
just under the 64 MB limit (read whole) and one of the largest size (refused
from its size, before reading). Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

INDEX = dt.date(2026, 12, 1)
ELIGO = [sys.executable, "-m", "eligo"]


def write_population(folder: Path, megabytes: int, patients: int) -> tuple[int, int]:
    """A padded NDJSON population of about ``megabytes`` MB; returns (bytes, patients)."""
    from eligo import TermModule, Trial
    from eligo.authoring.synth import generate

    pop = list(generate(patients, seed=1, trial=Trial.load("tdxd-her2-liquid-biopsy"), terms=TermModule.load(),
                        index_date=INDEX))
    plain = sum(len(json.dumps(e["resource"], separators=(",", ":"))) + 1 for p in pop for e in p.bundle["entry"])
    observations = sum(1 for p in pop for e in p.bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    pad = max(0, (megabytes * 1024 * 1024 - plain) // max(1, observations) - 30)
    folder.mkdir(parents=True, exist_ok=True)
    handles: dict[str, object] = {}
    try:
        for p in pop:
            for e in p.bundle["entry"]:
                res = e["resource"]
                if res["resourceType"] == "Observation" and pad:
                    res = {**res, "note": [{"text": "x" * pad}]}
                fh = handles.get(res["resourceType"])
                if fh is None:
                    fh = handles[res["resourceType"]] = (folder / f"{res['resourceType']}.ndjson").open("w")
                fh.write(json.dumps(res, separators=(",", ":")) + "\n")  # type: ignore[attr-defined]
    finally:
        for fh in handles.values():
            fh.close()  # type: ignore[attr-defined]
    return sum(f.stat().st_size for f in folder.iterdir()), len(pop)


def write_bundle(path: Path, megabytes: int) -> int:
    """One patient (the eligible example) padded to about ``megabytes`` MB with extra observations."""
    from eligo.paths import EXAMPLES_DIR

    bundle = json.loads((EXAMPLES_DIR / "eligible.json").read_text(encoding="utf-8"))
    note = "x" * (256 * 1024)
    n = max(0, megabytes * 4)
    for i in range(n):
        bundle["entry"].append({"resource": {
            "resourceType": "Observation", "id": f"pad-{i}", "status": "final",
            "subject": {"reference": "Patient/eligible"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]},  # body height: not read
            "effectiveDateTime": "2025-01-01", "note": [{"text": note}]}})
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path.stat().st_size


_LAUNCHER = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
             "print('maxrss', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def measure(cmd: list[str]) -> dict[str, float | str]:
    """Run ``cmd`` (through a launcher that reports its children's ru_maxrss); peak RSS of the process tree
    (sampled every 50 ms), of the largest single process (exact), and the wall time."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak_tree = 0
    while proc.poll() is None:
        try:
            tree = root.children(recursive=True)
            peak_tree = max(peak_tree, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.05)
    err = proc.stderr.read().decode() if proc.stderr else ""
    lines = err.strip().splitlines()
    largest = int(lines[-1].split()[1]) / 1024 if lines and lines[-1].startswith("maxrss") else float("nan")
    message = "\n".join(ln for ln in lines if not ln.startswith("maxrss"))
    return {"seconds": time.perf_counter() - t, "tree_mb": peak_tree / 2**20, "largest_mb": largest,
            "exit": proc.returncode, "stderr": message.strip()[-300:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20, 200], help="population sizes in MB")
    ap.add_argument("--patients", type=int, default=400, help="patients per population")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"python {platform.python_version()}  {platform.machine()}  cpus {psutil.cpu_count()}  "
          f"ram {psutil.virtual_memory().total / 2**30:.0f} GB")
    with tempfile.TemporaryDirectory(prefix="eligo-memory-") as tmp:
        root = Path(tmp)
        print(f"\n== eligo screen (NDJSON, {args.patients} patients, {args.workers} workers)")
        for mb in args.sizes:
            folder = root / f"pop-{mb}"
            size, n = write_population(folder, mb, args.patients)
            r = measure([*ELIGO, "screen", str(folder), "--index-date", INDEX.isoformat(), "--out",
                         str(root / f"rows-{mb}.jsonl"), "--workers", str(args.workers), "--progress", "never"])
            rows = sum(1 for _ in (root / f"rows-{mb}.jsonl").open())
            print(f"  {size / 2**20:7.1f} MB  {n} patients  rows {rows}  exit {r['exit']}  {r['seconds']:6.1f} s  "
                  f"peak RSS: process tree {r['tree_mb']:6.0f} MB, largest process {r['largest_mb']:6.0f} MB")
        print("\n== eligo check (one patient file)")
        big = max(args.sizes)
        for mb in (60, big):
            f = root / f"bundle-{mb}.json"
            size = write_bundle(f, mb)
            r = measure([*ELIGO, "check", str(f), "--index-date", INDEX.isoformat(), "--format", "json"])
            print(f"  {size / 2**20:7.1f} MB  exit {r['exit']}  {r['seconds']:6.1f} s  "
                  f"peak RSS {r['largest_mb']:6.0f} MB  {str(r['stderr'])[:170]}")


if __name__ == "__main__":
    main()
