"""Batch screening (`eligo screen`): many patients, in parallel, never losing a row.

Patients are screened in worker processes (default: one per core) or on a Dask
distributed cluster. Rows are written as they arrive, one complete line per
write, so an interrupted run leaves a valid file; ``resume`` skips the
patients already in it (and drops a trailing partial line first).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from eligo.codemap import CodeMap
from eligo.errors import EligoError, UsageError
from eligo.paths import DEFAULT_TRIAL
from eligo.population import InputProblem, Unit, discover, unit_input

FORMATS = ("jsonl", "csv")


@dataclass(frozen=True, slots=True)
class Row:
    """One output row: a patient's verdict and outcomes, or the error that stopped it."""

    patient: str
    source: str
    verdict: str | None
    outcomes: dict[str, str]
    error: str | None = None
    seconds: float = 0.0
    needs: dict[str, list[str]] = field(default_factory=dict)  # criterion id -> what is needed (unknown ones)

    def to_json(self) -> dict[str, Any]:
        return {"patient": self.patient, "source": self.source, "verdict": self.verdict,
                "criteria": self.outcomes, "needs": self.needs, "error": self.error}


@dataclass
class ScreenSummary:
    """What a run did."""

    total: int = 0
    skipped: int = 0
    verdicts: Counter = field(default_factory=Counter)
    errors: int = 0
    input_problems: list[InputProblem] = field(default_factory=list)
    seconds: float = 0.0

    def render(self) -> str:
        rate = self.total / self.seconds if self.seconds else 0.0
        parts = [f"{self.total} patients screened in {self.seconds:.1f} s ({rate:.1f}/s)"]
        if self.skipped:
            parts.append(f"{self.skipped} already in the output (resumed)")
        lines = ["; ".join(parts)]
        lines += [f"  {v:<20} {n}" for v, n in sorted(self.verdicts.items())]
        lines.append(f"  {'errors':<20} {self.errors}")
        for p in self.input_problems:
            lines.append(f"  input problem: {p.source}: {p.message}")
        return "\n".join(lines)


# ---------------------------------------------------------------- the work itself
class _State:
    """Per-process screener, created once by the pool initializer or the Dask plugin."""

    screener: Any = None


def _init_worker(trial: str, code_map: CodeMap | None = None) -> None:
    from eligo.check import Screener

    _State.screener = Screener(trial=trial, code_map=code_map)


def _screen_with(screener: Any, unit: Unit, index_date: dt.date) -> Row:
    t = time.perf_counter()
    try:
        s = screener.check(unit_input(unit), index_date=index_date)
        return Row(unit.key, unit.source, s.verdict.value, {c.id: c.outcome.value for c in s.criteria},
                   seconds=time.perf_counter() - t, needs={c.id: list(c.needs) for c in s.criteria if c.needs})
    except EligoError as exc:
        return Row(unit.key, unit.source, None, {}, error=str(exc), seconds=time.perf_counter() - t)
    except Exception as exc:  # a bug must not lose the night's run: report it in the row
        return Row(unit.key, unit.source, None, {}, error=f"internal error: {type(exc).__name__}: {exc}",
                   seconds=time.perf_counter() - t)


def _screen_in_worker(args: tuple[Unit, dt.date]) -> Row:
    return _screen_with(_State.screener, *args)


def _screen_on_dask_worker(unit: Unit, index_date: dt.date, trial: str, code_map: CodeMap | None = None) -> Row:
    from distributed import get_worker

    worker = get_worker()
    screener = getattr(worker, "_eligo_screener", None)
    same_map = getattr(worker, "_eligo_code_map", None) in (code_map,)  # `is`, then ==
    if screener is None or screener.trial.id != Path(trial).name or not same_map:
        from eligo.check import Screener

        screener = Screener(trial=trial, code_map=code_map)
        worker._eligo_screener = screener  # cached on the worker for the next tasks
        worker._eligo_code_map = code_map
    return _screen_with(screener, unit, index_date)


# ---------------------------------------------------------------- output
class _Writer:
    """Appends rows, one complete line per write."""

    def __init__(self, path: Path, fmt: str, criteria: list[str], *, resume: bool) -> None:
        self.path, self.fmt, self.criteria = path, fmt, criteria
        self.done: set[str] = set()
        if resume and path.exists():
            self._recover()
        elif path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if fmt == "csv" and os.fstat(self.fd).st_size == 0:
            self._write(self._csv_line(["patient", "source", "verdict", "error", *criteria]))

    def _recover(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):  # an interrupted write: drop the partial line
            data = data[: data.rfind(b"\n") + 1]
            self.path.write_bytes(data)
        text = data.decode("utf-8")
        if self.fmt == "jsonl":
            for line in text.splitlines():
                if line.strip():
                    self.done.add(json.loads(line)["patient"])
        else:
            reader = csv.reader(io.StringIO(text))
            header = next(reader, None)
            if header is not None and header[4:] != self.criteria:
                raise UsageError(f"{self.path}: its columns do not match this trial; cannot resume into it")
            self.done.update(r[0] for r in reader if r)

    @staticmethod
    def _csv_line(values: list[str]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(values)
        return buf.getvalue()

    def _write(self, line: str) -> None:
        os.write(self.fd, line.encode("utf-8"))

    def write(self, row: Row) -> None:
        if self.fmt == "jsonl":
            self._write(json.dumps(row.to_json(), separators=(",", ":")) + "\n")
        else:
            self._write(self._csv_line([row.patient, row.source, row.verdict or "", row.error or "",
                                        *(row.outcomes.get(c, "") for c in self.criteria)]))

    def close(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)


class Progress:
    """A progress line on a terminal (count, rate, ETA); silent when ``stream`` is None."""

    def __init__(self, total: int, stream: TextIO | None, *, noun: str = "patients") -> None:
        self.total, self.stream, self.start, self.n, self.last = total, stream, time.perf_counter(), 0, 0.0
        self.noun = noun

    def tick(self) -> None:
        self.n += 1
        now = time.perf_counter()
        if self.stream is None or (now - self.last < 0.2 and self.n < self.total):
            return
        self.last = now
        rate = self.n / max(now - self.start, 1e-9)
        eta = (self.total - self.n) / rate if rate else 0
        eta_text = f"{int(eta // 60)}m{int(eta % 60):02d}s"
        self.stream.write(f"\r  {self.n}/{self.total} {self.noun}  {rate:.1f}/s  ETA {eta_text} ")
        self.stream.flush()

    def done(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")


# ---------------------------------------------------------------- the run
def screen(inputs: Iterable[Path], *, index_date: dt.date, out: Path, fmt: str = "jsonl",
           workers: int | None = None, scheduler: str | None = None, resume: bool = False,
           trial: str = DEFAULT_TRIAL, progress: bool | None = None,
           on_row: Callable[[Row], None] | None = None, code_map: CodeMap | None = None) -> ScreenSummary:
    """Screen every patient in ``inputs``; write one row per patient to ``out``.

    ``code_map`` (a site's local codes, :func:`eligo.codemap.load_code_map`) goes to every worker."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    from eligo.trial import Trial

    criteria = [c.id for c in Trial.load(trial).criteria]
    summary = ScreenSummary()
    t0 = time.perf_counter()
    writer = _Writer(out, fmt, criteria, resume=resume)
    show = sys.stderr.isatty() if progress is None else progress
    bar = Progress(0, sys.stderr if show else None)

    announced = [0]  # patients the readers have found so far (an NDJSON export announces all after indexing)

    def count(n: int) -> None:
        announced[0] += n

    def todo() -> Iterator[Unit]:
        """The patients still to screen, read lazily; input problems are written as they are found."""
        for item in discover(list(inputs), on_count=count):
            bar.total = max(bar.total, announced[0] - summary.skipped)
            if isinstance(item, InputProblem):  # input no patient can own still gets a row: nothing is lost
                summary.input_problems.append(item)
                key = f"input:{item.source}"
                if key not in writer.done:
                    writer.write(Row(key, item.source, None, {}, error=item.message))
                    writer.done.add(key)
            elif item.key in writer.done:
                summary.skipped += 1
            else:
                bar.total = max(bar.total, bar.n + 1)
                yield item

    try:
        for row in _rows(todo(), index_date=index_date, workers=workers, scheduler=scheduler, trial=trial,
                         code_map=code_map):
            writer.write(row)
            summary.total += 1
            if row.error:
                summary.errors += 1
            else:
                summary.verdicts[row.verdict] += 1
            bar.tick()
            if on_row is not None:
                on_row(row)
    finally:
        writer.close()
        bar.done()
        summary.seconds = time.perf_counter() - t0
    return summary


#: Patients handed to the workers ahead of the results, per worker: enough to keep every worker busy,
#: few enough that memory does not grow with the population.
IN_FLIGHT_PER_WORKER = 8


def _rows(units: Iterator[Unit], *, index_date: dt.date, workers: int | None, scheduler: str | None,
          trial: str, code_map: CodeMap | None = None) -> Iterator[Row]:
    if scheduler is not None:
        yield from _rows_dask(units, index_date=index_date, scheduler=scheduler, trial=trial, code_map=code_map)
        return
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise UsageError("--workers must be at least 1")
    first = next(units, None)
    second = next(units, None) if first is not None else None
    if n == 1 or second is None:
        _init_worker(trial, code_map)
        for u in (first, second):
            if u is not None:
                yield _screen_with(_State.screener, u, index_date)
        for u in units:
            yield _screen_with(_State.screener, u, index_date)
        return
    init = partial(_init_worker, code_map=code_map)  # pickled to each spawned worker, the code map with it
    yield from _rows_pool(itertools.chain((first, second), units), n, index_date=index_date, trial=trial, init=init)


def _lost_row(unit: Unit, exc: BaseException) -> Row:
    return Row(unit.key, unit.source, None, {}, error=f"internal error: {type(exc).__name__}: {exc}")


def _killed_row(unit: Unit) -> Row:
    return Row(unit.key, unit.source, None, {},
               error="worker lost: the process screening this patient died (killed, or out of memory) every time "
                     "it was tried; check the patient alone with `eligo check` to see why")


def _rows_pool(units: Iterator[Unit], n: int, *, index_date: dt.date, trial: str,
               work: Callable[[tuple[Unit, dt.date]], Row] = _screen_in_worker,
               init: Callable[[str], None] = _init_worker) -> Iterator[Row]:
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

    def row_of(fut: Future, unit: Unit) -> Row | None:
        """The patient's row, or None when the pool broke under it."""
        exc = fut.exception()
        if isinstance(exc, BrokenProcessPool):
            return None
        return fut.result() if exc is None else _lost_row(unit, exc)

    pool = fresh()
    set_up_ok = False  # has any worker started and screened a patient?
    try:
        pending: dict[Future, Unit] = {}
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
                    row = _killed_row(unit)
                    pool.shutdown(wait=True, cancel_futures=True)
                    pool = fresh()
                set_up_ok = True
                yield row
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _rows_dask(units: Iterator[Unit], *, index_date: dt.date, scheduler: str, trial: str,
               work: Callable[..., Row] = _screen_on_dask_worker, code_map: CodeMap | None = None) -> Iterator[Row]:
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
                row = _killed_row(unit)
            except Exception as exc:  # a failed task must not stop the run
                row = _lost_row(unit, exc)
            yield row
            nxt = next(units, None)
            if nxt is not None:
                pending.add(submit(nxt))
    finally:
        client.close()
