"""Where patients are screened: in this process, in a pool of worker processes, or on a Dask cluster.

Each yields one row per patient, in completion order, and never loses one: a dying worker costs only a
retry of the patients it held (see :func:`rows_pool`)."""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from typing import Any

from eligo.codemap import CodeMap
from eligo.errors import UsageError
from eligo.ingest.batch import Unit
from eligo.population.rows import Row, killed_row, lost_row
from eligo.population.workers import init_worker, screen_in_worker, screen_on_dask_worker

#: Patients handed to the workers ahead of the results, per worker: enough to keep every worker busy,
#: few enough that memory does not grow with the population.
IN_FLIGHT_PER_WORKER = 8


def rows(units: Iterator[Unit], *, index_date: dt.date, workers: int | None, scheduler: str | None,
         trial: str, code_map: CodeMap | None = None) -> Iterator[Row]:
    """One row per patient of ``units``: on the Dask ``scheduler``, in ``workers`` processes, or here."""
    if scheduler is not None:
        yield from rows_dask(units, index_date=index_date, scheduler=scheduler, trial=trial, code_map=code_map)
        return
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise UsageError("--workers must be at least 1")
    first = next(units, None)
    second = next(units, None) if first is not None else None
    if n == 1 or second is None:
        init_worker(trial, code_map)
        for u in (first, second):
            if u is not None:
                yield screen_in_worker((u, index_date))
        for u in units:
            yield screen_in_worker((u, index_date))
        return
    init = partial(init_worker, code_map=code_map)  # pickled to each spawned worker, the code map with it
    assert first is not None  # a second unit implies a first
    yield from rows_pool(itertools.chain((first, second), units), n, index_date=index_date, trial=trial, init=init)


def rows_pool(units: Iterator[Unit], n: int, *, index_date: dt.date, trial: str,
              work: Callable[[tuple[Unit, dt.date]], Row] = screen_in_worker,
              init: Callable[[str], None] = init_worker) -> Iterator[Row]:
    """Screen in ``n`` worker processes, never more than ``n * IN_FLIGHT_PER_WORKER`` patients ahead.

    A worker that dies (killed, out of memory, a crash in a C extension) breaks the whole pool and fails
    every patient in flight, most of them innocent. Those patients are screened again one at a time in a
    fresh pool: the innocent get their rows, and a patient that kills its worker again gets an error row,
    so one bad patient never stops the run nor costs another patient's row. A worker that cannot even
    start (its set-up fails) breaks every pool the same way: the set-up is then run here, so its error
    stops the run with its own message instead of failing every patient.
    """
    ctx = multiprocessing.get_context("spawn")

    def fresh() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(n, mp_context=ctx, initializer=init, initargs=(trial,))

    def row_of(fut: Future[Row], unit: Unit) -> Row | None:
        """The patient's row, or None when the pool broke under it."""
        exc = fut.exception()
        if isinstance(exc, BrokenProcessPool):
            return None
        return fut.result() if exc is None else lost_row(unit, exc)

    pool = fresh()
    set_up_ok = False  # has any worker started and screened a patient?
    try:
        pending: dict[Future[Row], Unit] = {}
        exhausted = False
        while True:
            while not exhausted and len(pending) < n * IN_FLIGHT_PER_WORKER:
                unit = next(units, None)
                if unit is None:
                    exhausted = True
                    break
                pending[pool.submit(work, (unit, index_date))] = unit
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                done = wait(pending).done  # the pool broke: all pending fail the same way (or finished before)
            suspects: list[Unit] = []
            for fut in done:
                unit = pending.pop(fut)
                row = row_of(fut, unit)
                if row is None:
                    suspects.append(unit)
                else:
                    set_up_ok = True
                    yield row
            if not suspects:
                continue
            pool.shutdown(wait=True, cancel_futures=True)
            pool = fresh()
            for unit in suspects:  # one at a time: a failure now is this patient's own
                row = row_of(pool.submit(work, (unit, index_date)), unit)
                if row is None:
                    if not set_up_ok:  # no worker has screened anyone: does the set-up itself fail?
                        init(trial)  # if so, its own error stops the run here
                    row = killed_row(unit)
                    pool.shutdown(wait=True, cancel_futures=True)
                    pool = fresh()
                set_up_ok = True
                yield row
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def rows_dask(units: Iterator[Unit], *, index_date: dt.date, scheduler: str, trial: str,
              work: Callable[..., Row] = screen_on_dask_worker, code_map: CodeMap | None = None) -> Iterator[Row]:
    """Screen on a Dask cluster, ``IN_FLIGHT_PER_WORKER`` patients ahead per worker thread.

    Dask retries a task whose worker died on another worker; a patient that keeps killing workers fails
    with ``KilledWorker`` after the cluster's ``allowed-failures``, and gets an error row like any other
    failure, so the run goes on. A ``code_map`` is scattered to every worker once, not sent with each task.
    """
    from distributed import Client, KilledWorker, as_completed

    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    try:
        trial_path = str(Path(trial).resolve()) if Path(trial).is_dir() else trial
        ahead = max(1, sum(client.nthreads().values())) * IN_FLIGHT_PER_WORKER
        unit_of: dict[Any, Unit] = {}
        # the code map goes to every worker once, not with each task; each task names it
        extra = {} if code_map is None else {"code_map": client.scatter(code_map, broadcast=True, hash=False)}

        def submit(unit: Unit) -> Any:
            fut = client.submit(work, unit, index_date=index_date, trial=trial_path, pure=False, **extra)
            unit_of[fut] = unit
            return fut

        pending = as_completed([submit(u) for u in itertools.islice(units, ahead)])
        for fut in pending:
            unit = unit_of.pop(fut)
            try:
                row = fut.result()
            except KilledWorker:
                row = killed_row(unit)
            except Exception as exc:  # a failed task must not stop the run
                row = lost_row(unit, exc)
            yield row
            nxt = next(units, None)
            if nxt is not None:
                pending.add(submit(nxt))
    finally:
        client.close()
