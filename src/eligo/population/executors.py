"""Where patients are screened: in this process, in a pool of worker processes, or on a Dask cluster.

Work goes out as tasks: a batch of patients for the batch engine, one patient for pySHACL. Each executor
yields one row per patient, in completion order, and never loses one: a dying worker costs only a retry,
one patient at a time, of the patients it held (see :func:`rows_pool`)."""

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
from typing import Any, TypeVar

from eligo.batch import DEFAULT_BATCH_SIZE, Engine
from eligo.codemap import CodeMap
from eligo.errors import EngineMismatchError, UsageError
from eligo.ingest.batch import Unit
from eligo.population.rows import Row, killed_row, lost_row
from eligo.population.workers import init_worker, screen_units_in_worker, screen_units_on_dask_worker

#: Patients handed to the workers ahead of the results, per worker: enough to keep every worker busy,
#: few enough that memory does not grow with the population.
IN_FLIGHT_PER_WORKER = 8
#: Batches handed to the workers ahead of the results, per worker, with the batch engine: one being screened,
#: one waiting, so a worker never idles and memory stays bounded by the batch size.
BATCHES_IN_FLIGHT_PER_WORKER = 2

Task = list[Unit]
T = TypeVar("T")


def tasks(units: Iterator[T], size: int) -> Iterator[list[T]]:
    """``units`` in consecutive batches of ``size`` (the last may be shorter)."""
    if size < 1:
        raise UsageError("--batch-size must be at least 1")
    while True:
        batch = list(itertools.islice(units, size))
        if not batch:
            return
        yield batch


def rows(units: Iterator[Unit], *, index_date: dt.date, workers: int | None, scheduler: str | None,
         trial: str, code_map: CodeMap | None = None, engine: Engine = Engine.PYSHACL,
         batch_size: int = DEFAULT_BATCH_SIZE, verify_sample: float = 0.0,
         cache_dir: Path | None = None) -> Iterator[Row]:
    """One row per patient of ``units``: on the Dask ``scheduler``, in ``workers`` processes, or here.

    With the batch engine a task is a batch of ``batch_size`` patients; with pySHACL, one patient."""
    if not 0.0 <= verify_sample <= 1.0:
        raise UsageError(f"--verify-sample must be a fraction between 0 and 1, not {verify_sample}")
    size = batch_size if engine is Engine.BATCH else 1
    work = tasks(units, size)
    if scheduler is not None:
        yield from rows_dask(work, index_date=index_date, scheduler=scheduler, trial=trial, code_map=code_map,
                             engine=engine, verify_sample=verify_sample)
        return
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise UsageError("--workers must be at least 1")
    first = next(work, None)
    second = next(work, None) if first is not None else None
    init = partial(init_worker, code_map=code_map, engine=engine, verify_sample=verify_sample, cache_dir=cache_dir)
    if n == 1 or second is None:
        init(trial)
        for t in itertools.chain((x for x in (first, second) if x is not None), work):
            yield from screen_units_in_worker((t, index_date))
        return
    assert first is not None  # a second task implies a first
    # the init (code map, engine) is pickled to each spawned worker
    yield from rows_pool(itertools.chain((first, second), work), n, index_date=index_date, trial=trial, init=init,
                         in_flight=IN_FLIGHT_PER_WORKER if size == 1 else BATCHES_IN_FLIGHT_PER_WORKER)


def rows_pool(work: Iterator[Task], n: int, *, index_date: dt.date, trial: str,
              run: Callable[[tuple[Task, dt.date]], list[Row]] = screen_units_in_worker,
              init: Callable[[str], None] = init_worker, in_flight: int = IN_FLIGHT_PER_WORKER) -> Iterator[Row]:
    """Screen tasks (batches of patients) in ``n`` worker processes, never more than ``n * in_flight`` tasks
    ahead.

    A worker that dies (killed, out of memory, a crash in a C extension) breaks the whole pool and fails
    every task in flight, most of them innocent. The patients of those tasks are screened again one at a
    time in a fresh pool: the innocent get their rows, and a patient that kills its worker again gets an
    error row, so one bad patient never stops the run nor costs another patient's row. A worker that
    cannot even start (its set-up fails) breaks every pool the same way: the set-up is then run here, so
    its error stops the run with its own message instead of failing every patient. A difference the
    shadow check found (:class:`EngineMismatchError`) stops the run.
    """
    ctx = multiprocessing.get_context("spawn")

    def fresh() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(n, mp_context=ctx, initializer=init, initargs=(trial,))

    def rows_of(fut: Future[list[Row]], task: Task) -> list[Row] | None:
        """The task's rows, or None when the pool broke under it."""
        exc = fut.exception()
        if isinstance(exc, BrokenProcessPool):
            return None
        if isinstance(exc, EngineMismatchError):
            raise exc
        return fut.result() if exc is None else [lost_row(u, exc) for u in task]

    pool = fresh()
    set_up_ok = False  # has any worker started and screened a patient?
    try:
        pending: dict[Future[list[Row]], Task] = {}
        exhausted = False
        while True:
            refused: list[Unit] = []  # a task the pool would not take: it broke (a worker died) meanwhile
            while not exhausted and len(pending) < n * in_flight:
                task = next(work, None)
                if task is None:
                    exhausted = True
                    break
                try:
                    pending[pool.submit(run, (task, index_date))] = task
                except BrokenProcessPool:
                    refused = task
                    break
            if not pending and not refused:
                return
            done: set[Future[list[Row]]] = set()
            if pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                if refused or any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                    done = wait(pending).done  # the pool broke: all pending fail the same way (or finished before)
            suspects: list[Unit] = list(refused)
            for fut in done:
                task = pending.pop(fut)
                got = rows_of(fut, task)
                if got is None:
                    suspects.extend(task)
                else:
                    set_up_ok = True
                    yield from got
            if not suspects:
                continue
            pool.shutdown(wait=True, cancel_futures=True)
            pool = fresh()
            for unit in suspects:  # one at a time: a failure now is this patient's own
                got = rows_of(pool.submit(run, ([unit], index_date)), [unit])
                if got is None:
                    if not set_up_ok:  # no worker has screened anyone: does the set-up itself fail?
                        init(trial)  # if so, its own error stops the run here
                    got = [killed_row(unit)]
                    pool.shutdown(wait=True, cancel_futures=True)
                    pool = fresh()
                set_up_ok = True
                yield from got
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def rows_dask(work: Iterator[Task], *, index_date: dt.date, scheduler: str, trial: str,
              run: Callable[..., list[Row]] = screen_units_on_dask_worker, code_map: CodeMap | None = None,
              engine: Engine = Engine.PYSHACL, verify_sample: float = 0.0) -> Iterator[Row]:
    """Screen tasks (batches of patients) on a Dask cluster, ``IN_FLIGHT_PER_WORKER`` patients ahead per
    worker thread (at least two tasks).

    Dask retries a task whose worker died on another worker; a task that keeps killing workers fails
    with ``KilledWorker`` after the cluster's ``allowed-failures``: its patients are then tried one at a
    time, and a patient that still kills its worker gets an error row, so the run goes on. A ``code_map``
    is scattered to every worker once, not sent with each task.
    """
    from distributed import Client, KilledWorker, as_completed

    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    try:
        trial_path = str(Path(trial).resolve()) if Path(trial).is_dir() else trial
        threads = max(1, sum(client.nthreads().values()))
        task_of: dict[Any, Task] = {}
        # the code map goes to every worker once, not with each task; each task names it
        extra = {} if code_map is None else {"code_map": client.scatter(code_map, broadcast=True, hash=False)}

        def submit(task: Task) -> Any:
            fut = client.submit(run, task, index_date=index_date, trial=trial_path, engine=engine,
                                verify_sample=verify_sample, pure=False, **extra)
            task_of[fut] = task
            return fut

        first = list(itertools.islice(work, 2 * threads))
        size = max((len(t) for t in first), default=1)
        ahead = max(2 * threads, threads * IN_FLIGHT_PER_WORKER // size)
        pending = as_completed([submit(t) for t in first + list(itertools.islice(work, ahead - len(first)))])
        for fut in pending:
            task = task_of.pop(fut)
            try:
                got = fut.result()
            except EngineMismatchError:
                raise
            except KilledWorker:
                if len(task) > 1:  # one of them kills workers: find out which, one at a time
                    for unit in task:
                        pending.add(submit([unit]))
                    continue
                got = [killed_row(u) for u in task]
            except Exception as exc:  # a failed task must not stop the run
                got = [lost_row(u, exc) for u in task]
            yield from got
            nxt = next(work, None)
            if nxt is not None:
                pending.add(submit(nxt))
    finally:
        client.close()
