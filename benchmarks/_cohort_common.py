"""What the population store benchmarks (cohort.py, cohort_backends.py) share: the queries they time, the
command line, the synthetic population (generated, screened) and the timed loading and querying."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eligo import TermModule, Trial
    from eligo.population.cohort import CohortQuery
    from eligo.population.results import RunInfo
    from eligo.population.screen import Row
    from eligo.population.store import Backend, Table

ROOT = Path(__file__).resolve().parents[1]
INDEX = dt.date(2026, 12, 1)
CASES = [
    ("runs", {}), ("candidates", {}), ("funnel", {}), ("data-gaps", {}), ("data-gaps", {"criterion": "IN11"}),
    ("data-gaps", {"maxOpen": "1"}), ("prescreen", {}), ("prescreen", {"indexDate": "2026-12-01"}),
]


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The options both take: --sizes, --workers, --repeat."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--workers", type=int, default=2, help="screening worker processes")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query (the median is printed)")
    return ap


def start() -> tuple[Trial, TermModule]:
    """Make tests/ importable (the server harnesses), print the machine line, load the trial and the terms."""
    sys.path.insert(0, str(ROOT / "tests"))
    from eligo import TermModule, Trial

    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores", flush=True)
    return Trial.load("tdxd-her2-liquid-biopsy"), TermModule.load()


def generate_population(n: int, pop: Path, trial: Trial, terms: TermModule) -> float:
    """Write ``n`` synthetic patients (seed 1) to ``pop``; returns the seconds taken."""
    from eligo.authoring.synth import generate, write_bulk

    t = time.perf_counter()
    write_bulk(generate(n, seed=1, trial=trial, terms=terms, index_date=INDEX), pop)
    return time.perf_counter() - t


def screen_population(pop: Path, out: Path, workers: int, rows: list[Row] | None = None) -> float:
    """Screen ``pop`` into ``out`` (the rows also appended to ``rows``); returns the seconds taken."""
    from eligo.population.screen import screen

    t = time.perf_counter()
    screen([pop], index_date=INDEX, out=out, workers=workers, progress=False,
           on_row=rows.append if rows is not None else None)
    return time.perf_counter() - t


def new_run(trial: Trial) -> tuple[RunInfo, dt.datetime]:
    """The run the results are written as, and its load time (now)."""
    from eligo.population.results import RunInfo

    run = RunInfo.new(trial, index_date=INDEX, terms_version="bench", started=None, ended=None)
    return run, dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Load:
    reference_s: float
    patients: int
    triples: int
    data_s: float
    written: int  # result triples
    results_s: float

    @property
    def total_s(self) -> float:
        return self.reference_s + self.data_s + self.results_s


def timed_load(backend: Backend, trial: Trial, pop: Path, run: RunInfo, rows: Sequence[Row], loaded: dt.datetime,
               *, results: bool = True) -> Load:
    """Load the reference graphs, the patient graphs of ``pop`` and (with ``results``) the run's results."""
    from eligo.population.load import load_patients, load_reference_graphs, write_run

    t = time.perf_counter()
    load_reference_graphs(backend, trial)
    t_ref = time.perf_counter() - t
    patients, triples, _ = load_patients(backend, [pop])
    t_data = time.perf_counter() - t - t_ref
    written = write_run(backend, run, trial, rows, loaded=loaded)[0] if results else 0
    t_res = time.perf_counter() - t - t_ref - t_data
    return Load(t_ref, patients, triples, t_data, written, t_res)


def timed_query(backend: Backend, query: CohortQuery, params: Mapping[str, str], repeat: int) -> tuple[float, Table]:
    """Run ``query`` ``repeat`` times; returns the median seconds and the last answer."""
    from eligo.population.cohort import run_query

    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        answer = run_query(backend, query, params)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), answer
