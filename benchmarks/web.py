"""`eligo serve` benchmark: server time of the check page and of the cohort pages on a 10,000-patient store.

Usage: .venv/bin/python benchmarks/web.py [--patients 10000] [--screened 200] [--repeat 5] [--keep DIR]

1. Loads the trial once (``create_app``), as the server does at start.
2. Check page: the example patients uploaded through the form (read, screen, render) and the check page
   shown again; ``POST /api/check``; a patient of the store (read its graph, screen, render). Server time
   is the ``Server-Timing`` header the app sets (the time inside the app, no network).
3. Cohort pages on a store of ``--patients`` patients: ``--screened`` synthetic patients (seed 1) are
   screened and loaded, and their result rows are copied under new patient ids up to ``--patients`` (the
   run then holds as many result triples as a real run of that size; the copies have no patient graphs,
   which no cohort page reads). Cold: the first request after the server starts (the data-gaps or funnel
   query runs); warm: the next ones (the answer is kept per run until eligo writes to the store).

Prints figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = dt.date(2026, 12, 1)
TOKEN = "benchmark-token-" + "z" * 24


def server_ms(response: object) -> float:
    header = response.headers["server-timing"]  # type: ignore[attr-defined]
    return float(re.search(r"dur=([\d.]+)", header).group(1))  # type: ignore[union-attr]


def median_ms(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median server ms, median wall ms) of ``repeat`` calls."""
    server, wall = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        r = call()
        wall.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (r.status_code, r.text[:300])  # type: ignore[attr-defined]
        server.append(server_ms(r))
    return statistics.median(server), statistics.median(wall)


def build_store(path: Path, *, screened: int, patients: int) -> None:
    from eligo import TermModule, Trial
    from eligo.authoring.synth import generate, write_bulk
    from eligo.population.load import load_patients, load_reference_graphs, write_run
    from eligo.population.results import RunInfo
    from eligo.population.rows import Row
    from eligo.population.screen import screen
    from eligo.population.store import EmbeddedStore

    trial, terms = Trial.load("tdxd-her2-liquid-biopsy"), TermModule.load()
    with tempfile.TemporaryDirectory() as tmp:
        pop = Path(tmp) / "pop"
        write_bulk(generate(screened, seed=1, trial=trial, terms=terms, index_date=INDEX), pop)
        rows: list[Row] = []
        t = time.perf_counter()
        screen([pop], index_date=INDEX, out=Path(tmp) / "rows.jsonl", workers=2, progress=False, on_row=rows.append)
        print(f"screened {screened} patients in {time.perf_counter() - t:.1f} s")
        copies = [dataclasses.replace(r, patient=f"{r.patient}-copy{k:03d}")
                  for k in range(1, -(-patients // screened)) for r in rows]
        all_rows = sorted([*rows, *copies][:patients], key=lambda r: r.patient)
        with EmbeddedStore(path, create=True) as store:
            load_reference_graphs(store, trial)
            load_patients(store, [pop])
            run = RunInfo.new(trial, index_date=INDEX, terms_version="sha256:benchmark", started=None, ended=None)
            t = time.perf_counter()
            triples, _, _ = write_run(store, run, trial, all_rows)
            print(f"run of {len(all_rows)} patients: {triples} result triples in {time.perf_counter() - t:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--screened", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, default=None, help="build the store in DIR (reused if it exists)")
    args = ap.parse_args()

    from starlette.testclient import TestClient

    from eligo.paths import EXAMPLES_DIR
    from eligo.population.cohort import load_query, run_query
    from eligo.population.store import EmbeddedStore
    from eligo.web import create_app

    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        store = args.keep or Path(tmp) / "store"
        if not store.is_dir():
            build_store(store, screened=args.screened, patients=args.patients)
        with EmbeddedStore(store) as backend:  # the query alone, for reference
            t = time.perf_counter()
            rows = len(run_query(backend, load_query("data-gaps"), {}).rows)
            print(f"data-gaps query alone: {rows} rows in {(time.perf_counter() - t) * 1000:.0f} ms")
        t = time.perf_counter()
        app = create_app(store=store, token=TOKEN, prewarm=False)
        print(f"create_app (trial, terms, store): {time.perf_counter() - t:.1f} s\n")
        print(f"{'page':<68} {'server ms':>10} {'wall ms':>9}")
        with TestClient(app) as c:
            c.get(f"/?token={TOKEN}")
            csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/").text).group(1)  # type: ignore[union-attr]

            def row(name: str, call: Callable[[], object], repeat: int = args.repeat) -> None:
                s, w = median_ms(call, repeat)
                print(f"{name:<68} {s:>10.0f} {w:>9.0f}")

            for name in ("eligible.json", "needs-data.ttl", "pending-attestation.json"):
                data = (EXAMPLES_DIR / name).read_bytes()
                r = c.post("/check", data={"csrf": csrf, "index_date": INDEX.isoformat()},
                           files={"file": (name, data)}, follow_redirects=False)
                location = r.headers["location"]
                row(f"upload {name} (read, screen, redirect)", lambda d=data, n=name: _upload(c, csrf, n, d))
                row(f"check page {name} (render)", lambda loc=location: c.get(loc))
                row(f"POST /api/check {name}", lambda d=data: c.post(
                    f"/api/check?index_date={INDEX}", content=d, headers={"Authorization": f"Bearer {TOKEN}"}))
            key = "Patient/synth-000001"
            row(f"store patient page {key} (read graph, screen, render)",
                lambda: c.get("/patient", params={"key": key}))
            for url in ("/cohort/worklist", "/cohort", "/cohort/worklist.csv"):
                row(f"{url} cold (first request: the query runs)", lambda u=url: c.get(u), repeat=1)
                if url != "/cohort":
                    c.app.state.web.memo.clear()  # the next page of the list is cold again
            c.get("/cohort/worklist")
            c.get("/cohort")
            for url in ("/cohort/worklist", "/cohort/worklist?criterion=IN11", "/cohort/worklist?maxOpen=1",
                        "/cohort/worklist?sort=patient&desc=1", "/cohort/worklist.csv",
                        "/cohort/worklist.csv?criterion=IN11", "/cohort", "/cohort/candidates"):
                row(f"{url} warm", lambda u=url: c.get(u))


def _upload(c: object, csrf: str, name: str, data: bytes) -> object:
    r = c.post("/check", data={"csrf": csrf, "index_date": INDEX.isoformat()},  # type: ignore[attr-defined]
               files={"file": (name, data)}, follow_redirects=False)
    r.status_code = 200 if r.status_code == 303 else r.status_code
    return r


if __name__ == "__main__":
    main()
