"""`eligo load`: patient graphs and their screening results into a population store.

1. The reference graphs: the materialised term hierarchy and the trial folder
   (queries over raw patient data join codes to grouping classes there).
2. One named graph per patient (FHIR mapped to the eligo model, or RDF as given),
   replacing that patient's earlier data: mapped to N-Quads text in worker processes
   (:mod:`eligo.population.patients`), written by the store in one call per
   :data:`PATIENTS_PER_WRITE` patients (Oxigraph's bulk loader when embedded).
3. Screening (``eligo.population.screen.screen``) or the rows of an earlier ``eligo screen``,
   written as one run graph; the run node goes in last, so a run is visible
   to queries only when all its results are.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from pyoxigraph import Triple
from rdflib import Graph

from eligo.codemap import CodeMap
from eligo.errors import TermModuleError, UsageError
from eligo.ingest.batch import InputProblem, Unit, discover
from eligo.ingest.rdf import GENID_BASE, skolemise
from eligo.paths import DEFAULT_TRIAL, ONTOLOGY_DIR
from eligo.population.executors import tasks
from eligo.population.patients import PatientData, map_items, patient_genid, stored_graph, unit_graph
from eligo.population.results import (
    TERMS_GRAPH,
    RunInfo,
    patient_graph,
    read_rows,
    row_triples,
    run_triples,
    step_triples,
    trial_graph,
)
from eligo.population.rows import Row
from eligo.population.screen import screen as run_screen
from eligo.population.store import Backend, TermConverter, UnstorableData
from eligo.terms import DIGEST_MARK, HIERARCHY_FILE
from eligo.trial import Trial

__all__ = ["LoadSummary", "check_options", "load_patients", "load_population", "load_reference_graphs",
           "patient_genid", "stored_graph", "trial_genid", "unit_graph", "write_run"]

#: Patients per mapping task (a worker maps a task's patients to N-Quads text).
PATIENT_BATCH = 50
#: Patients per store write (one N-Quads text, parsed by the store in one call: a call to Oxigraph's bulk
#: loader costs tens of milliseconds on disk whatever its size).
PATIENTS_PER_WRITE = 500
#: Mapping tasks handed to the workers ahead of the writes, per worker.
MAPPING_TASKS_PER_WORKER = 4
#: Result triples written per store request.
RESULT_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class LoadSummary:
    """What a load wrote, and how long each part took."""

    patients: int
    patient_triples: int
    problems: tuple[str, ...]
    run: str | None
    verdicts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    result_triples: int = 0
    seconds_data: float = 0.0
    seconds_screen: float = 0.0
    seconds_results: float = 0.0

    def render(self) -> str:
        lines = [f"{self.patients} patient graphs ({self.patient_triples} triples) in {self.seconds_data:.1f} s"]
        if self.run is not None:
            n = sum(self.verdicts.values()) + self.errors
            if self.seconds_screen:
                lines.append(f"{n} patients screened in {self.seconds_screen:.1f} s")
            lines.append(f"run {self.run}: {self.result_triples} result triples in {self.seconds_results:.1f} s")
            lines += [f"  {v:<20} {k}" for v, k in sorted(self.verdicts.items())]
            lines.append(f"  {'errors':<20} {self.errors}")
        else:
            lines.append("not screened: patient data only")
        lines += [f"  problem: {p}" for p in self.problems]
        return "\n".join(lines)


def _terms_version(ontology_dir: Path) -> str:
    text = (ontology_dir / HIERARCHY_FILE).read_text(encoding="utf-8")
    digest = next((ln[len(DIGEST_MARK):].strip() for ln in text.splitlines() if ln.startswith(DIGEST_MARK)), "")
    return f"sha256:{digest}" if digest else "unknown"


def load_reference_graphs(backend: Backend, trial: Trial, *, ontology_dir: Path = ONTOLOGY_DIR) -> int:
    """Write the term hierarchy and the trial folder graphs; return the number of triples."""
    conv = TermConverter()
    path = ontology_dir / HIERARCHY_FILE
    try:
        hierarchy = Graph().parse(path, format="turtle")
    except (OSError, ValueError) as exc:
        raise TermModuleError(f"cannot read the term hierarchy: {exc}; run `eligo ontology check`",
                              source=str(path)) from exc
    graphs = [(TERMS_GRAPH, conv.triples(skolemise(hierarchy, f"{GENID_BASE}terms/"))),
              (trial_graph(trial.id), conv.triples(skolemise(trial.graph, trial_genid(trial.id))))]
    backend.replace_graphs(graphs, step="load: reference graphs (term hierarchy, trial)")
    return sum(len(t) for _, t in graphs)


def trial_genid(trial_id: str) -> str:
    """Where the Skolem IRIs of a trial folder's blank nodes (shapes, paths, lists) go."""
    return f"{GENID_BASE}trial/{quote(trial_id, safe='')}/"


def load_patients(backend: Backend, inputs: list[Path], *, workers: int | None = 1) -> tuple[int, int, list[str]]:
    """One named graph per patient, replacing its earlier data; returns (patients, triples, problems).

    Patients are mapped to N-Quads (:func:`eligo.population.patients.map_items`) in tasks of
    :data:`PATIENT_BATCH`, in ``workers`` processes (None: one per CPU) when there is more than one task;
    the graphs of :data:`PATIENTS_PER_WRITE` patients go to the store in one call, from a thread of this
    process (the store parses the text without the GIL while the next patients are read and mapped),
    one write at a time, in input order. A patient that cannot be mapped or stored is a problem line
    naming it; it never stops the load."""
    problems: list[str] = []
    patients = triples = 0
    batch: list[PatientData] = []
    with ThreadPoolExecutor(1, thread_name_prefix="eligo-load-write") as writer:
        writing: Future[tuple[list[PatientData], list[str]]] | None = None

        def written() -> None:
            nonlocal patients, triples, writing
            if writing is not None:
                stored, refused = writing.result()
                writing = None
                patients += len(stored)
                triples += sum(d.triples for d in stored)
                problems.extend(refused)

        def write(last: bool = False) -> None:
            nonlocal batch, writing
            written()  # one write at a time: the next waits for the last one (and reports its problems)
            writing = writer.submit(_store_patients, backend, batch, patients + 1) if batch else None
            batch = []
            if last:
                written()

        for task in _mapped_tasks(inputs, workers):
            for data in task:
                if data.problem is not None:
                    problems.append(data.problem)
                else:
                    batch.append(data)
            if len(batch) >= PATIENTS_PER_WRITE:
                write()
        write(last=True)
    return patients, triples, problems


def _mapped_tasks(inputs: list[Path], workers: int | None) -> Iterator[list[PatientData]]:
    """The discovered items of ``inputs`` mapped to N-Quads, a task at a time, in input order: here, or in a
    pool of ``workers`` spawned processes a few tasks ahead. A task a worker fails (a worker that died) is
    mapped again here."""
    work = tasks(discover(inputs), PATIENT_BATCH)
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise UsageError("--workers must be at least 1")
    first = next(work, None)
    second = next(work, None) if first is not None else None
    head = [t for t in (first, second) if t is not None]
    if n == 1 or second is None:
        for task in itertools.chain(head, work):
            yield map_items(task)
        return
    todo: Iterator[list[Unit | InputProblem]] = itertools.chain(head, work)
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: deque[tuple[Future[list[PatientData]] | None, list[Unit | InputProblem]]] = deque()
        broken = False
        while True:
            while not broken and len(pending) < n * MAPPING_TASKS_PER_WORKER:
                nxt = next(todo, None)
                if nxt is None:
                    break
                try:
                    pending.append((pool.submit(map_items, nxt), nxt))
                except BrokenProcessPool:
                    pending.append((None, nxt))
                    broken = True
            if not pending:
                if broken:  # the pool is gone: the rest is mapped here
                    yield from (map_items(t) for t in todo)
                return
            fut, items = pending.popleft()
            try:
                got = fut.result() if fut is not None else None
            except Exception:  # a worker that died (or a bug): the task is mapped here, where a bug shows
                got = None
            yield got if got is not None else map_items(items)


def _store_patients(backend: Backend, batch: list[PatientData], first: int) -> tuple[list[PatientData], list[str]]:
    """Write patient graphs in one store call; the patients stored and the problem lines of those refused.
    Text the store refuses (an IRI Oxigraph finds invalid) is written again in halves until the refused
    patients are found: each is a problem line and keeps no graph (the bulk loader may have written part
    of it)."""
    graphs = [patient_graph(d.key) for d in batch]
    step = (f"load: patient graphs {first}-{first + len(batch) - 1}" if len(batch) > 1
            else f"load: patient graph {first} ({batch[0].key})")
    try:
        backend.replace_graphs_nquads(graphs, "".join(d.nquads for d in batch), step=step)
        return batch, []
    except UnstorableData as exc:
        if len(batch) == 1:
            backend.replace_graphs([(graphs[0], [])], step=step)
            return [], [f"{batch[0].key}: its graph cannot be stored: {exc.message}"]
    half = len(batch) // 2
    stored, problems = _store_patients(backend, batch[:half], first)
    more, refused = _store_patients(backend, batch[half:], first + len(stored))
    return stored + more, problems + refused


def write_run(backend: Backend, run: RunInfo, trial: Trial, rows: Iterable[Row], *,
              loaded: dt.datetime | None = None) -> tuple[int, Counter[str], int]:
    """Write a run's results, the run node last; returns (triples, verdict counts, errors).

    ``loaded`` (default: now) is the run's ``eres:loadedAt``, which orders runs.
    """
    ids = frozenset(c.id for c in trial.criteria)
    pending: list[Triple] = step_triples(run, trial.criteria)
    first = True
    total = 0
    verdicts: Counter[str] = Counter()
    errors = patients = done = 0
    for row in rows:
        pending += row_triples(run, row, ids)
        patients += 1
        if row.error is not None or row.verdict is None:
            errors += 1
        else:
            verdicts[row.verdict.value] += 1
        if len(pending) >= RESULT_BATCH:
            total += _flush(backend, run, pending, first, f"load: results of patients {done + 1}-{patients}")
            first, pending, done = False, [], patients
    pending += run_triples(run, patients=patients, loaded=loaded or dt.datetime.now(dt.UTC))
    last = f"results of patients {done + 1}-{patients} and " if patients > done else ""
    total += _flush(backend, run, pending, first, f"load: {last}the run node")
    return total, verdicts, errors


def _flush(backend: Backend, run: RunInfo, triples: list[Triple], first: bool, step: str) -> int:
    if first:
        backend.replace_graphs([(run.iri, triples)], step=step)
    else:
        backend.add_to_graph(run.iri, triples, step=step)
    return len(triples)


def check_options(*, index_date: dt.date | None, screen: bool, rows_file: Path | None,
                  code_map: CodeMap | None = None) -> None:
    """Reject option combinations that cannot work, before anything is written."""
    if rows_file is not None and not screen:
        raise UsageError("--rows gives screening results; it cannot go with --no-screen")
    if code_map is not None and (rows_file is not None or not screen):
        raise UsageError("--code-map is used by the screening; it cannot go with --no-screen or --rows (screen "
                         "again with the code map instead)")
    if screen and index_date is None:
        raise UsageError("--index-date is required to screen (or pass --no-screen to load patient data only)")
    if rows_file is not None and not rows_file.is_file():
        raise UsageError("no such rows file (the JSONL output of `eligo screen`)", source=str(rows_file))


def load_population(inputs: list[Path], backend: Backend, *, index_date: dt.date | None,
                    trial: str = DEFAULT_TRIAL, screen: bool = True, rows_file: Path | None = None,
                    workers: int | None = None, progress: bool | None = None,
                    ontology_dir: Path = ONTOLOGY_DIR, code_map: CodeMap | None = None,
                    cache_dir: Path | None = None) -> LoadSummary:
    """Load patients and (unless ``screen`` is false) their screening results into ``backend``.

    With ``rows_file`` the results are read from an earlier ``eligo screen`` JSONL
    output instead of screening again. ``code_map`` (a site's local codes) is used by the screening, and
    named in the run's ``eres:termsVersion``; the patient graphs keep the codes as recorded. ``workers``
    processes map the patient data (and screen); the trial is read from the start-up cache in ``cache_dir``
    when given.
    """
    check_options(index_date=index_date, screen=screen, rows_file=rows_file, code_map=code_map)
    trial_obj = Trial.load(trial, cache_dir=cache_dir)
    t0 = time.perf_counter()
    load_reference_graphs(backend, trial_obj, ontology_dir=ontology_dir)
    patients, triples, problems = load_patients(backend, inputs, workers=workers)
    t_data = time.perf_counter() - t0
    if not screen:
        return LoadSummary(patients, triples, tuple(problems), None, seconds_data=t_data)
    assert index_date is not None
    t1 = time.perf_counter()
    if rows_file is not None:
        rows = list(read_rows(rows_file))
        mtime = dt.datetime.fromtimestamp(rows_file.stat().st_mtime, dt.UTC)
        started, ended = None, mtime
    else:
        started = dt.datetime.now(dt.UTC)
        rows = []
        with tempfile.TemporaryDirectory(prefix="eligo-load-") as tmp:
            run_screen(inputs, index_date=index_date, out=Path(tmp) / "rows.jsonl", workers=workers,
                       trial=trial, progress=progress, on_row=rows.append, code_map=code_map, cache_dir=cache_dir)
        ended = dt.datetime.now(dt.UTC)
    t_screen = time.perf_counter() - t1 if rows_file is None else 0.0
    t2 = time.perf_counter()
    terms_version = _terms_version(ontology_dir)
    if code_map is not None:
        terms_version += f" + code map {code_map.name} ({code_map.source})"
    run = RunInfo.new(trial_obj, index_date=index_date, terms_version=terms_version,
                      started=started, ended=ended)
    rows.sort(key=lambda r: r.patient)
    n, verdicts, errors = write_run(backend, run, trial_obj, rows)
    return LoadSummary(patients, triples, tuple(problems), run.iri.value, dict(verdicts), errors, n,
                       seconds_data=t_data, seconds_screen=t_screen, seconds_results=time.perf_counter() - t2)
