"""Batch screening (`eligo screen`): many patients, in parallel, never losing a row.

Patients are screened by the batch engine (set-at-a-time, :mod:`eligo.batch`) or by pySHACL one at a
time (the reference), in worker processes (default: one per core) or on a Dask distributed cluster
(:mod:`eligo.population.executors`). Rows are written as
they arrive, one complete line per write, so an interrupted run leaves a valid
file; ``resume`` skips the patients already in it (and drops a trailing partial
line first).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from eligo.batch import DEFAULT_BATCH_SIZE, Engine
from eligo.codemap import CodeMap
from eligo.errors import UsageError
from eligo.ingest.batch import InputProblem, Unit, discover
from eligo.paths import DEFAULT_TRIAL
from eligo.population.executors import rows
from eligo.population.rows import FORMATS, Row, RowWriter, ScreenSummary
from eligo.progress import Progress

__all__ = ["FORMATS", "Row", "ScreenSummary", "screen"]


def screen(inputs: Iterable[Path], *, index_date: dt.date, out: Path, fmt: str = "jsonl",
           workers: int | None = None, scheduler: str | None = None, resume: bool = False,
           trial: str = DEFAULT_TRIAL, progress: bool | None = None,
           on_row: Callable[[Row], None] | None = None, code_map: CodeMap | None = None,
           engine: Engine = Engine.BATCH, batch_size: int = DEFAULT_BATCH_SIZE,
           verify_sample: float = 0.0, cache_dir: Path | None = None) -> ScreenSummary:
    """Screen every patient in ``inputs``; write one row per patient to ``out``.

    ``code_map`` (a site's local codes, :func:`eligo.codemap.load_code_map`) goes to every worker.
    ``engine`` is the batch engine (``batch_size`` patients per store) or pySHACL, one patient at a time
    (the reference); ``verify_sample`` re-checks that fraction of the patients with pySHACL and stops the run
    with :class:`eligo.errors.EngineMismatchError` on any difference. With ``cache_dir`` every worker process
    loads the trial and term module from the start-up cache (:mod:`eligo.cache`) instead of parsing them."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    from eligo.trial import Trial

    criteria = [c.id for c in Trial.load(trial, cache_dir=cache_dir).criteria]
    summary = ScreenSummary()
    t0 = time.perf_counter()
    writer = RowWriter(out, fmt, criteria, resume=resume)
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
                    writer.write(Row(key, item.source, None, {}, error=item.message, error_kind=item.kind))
                    writer.done.add(key)
            elif item.key in writer.done:
                summary.skipped += 1
            else:
                bar.total = max(bar.total, bar.n + 1)
                yield item

    try:
        for row in rows(todo(), index_date=index_date, workers=workers, scheduler=scheduler, trial=trial,
                         code_map=code_map, engine=engine, batch_size=batch_size, verify_sample=verify_sample,
                         cache_dir=cache_dir):
            writer.write(row)
            summary.total += 1
            if row.error:
                summary.errors += 1
            else:
                summary.verdicts[row.verdict] += 1  # type: ignore[index]  # a row without error has one
            bar.tick()
            if on_row is not None:
                on_row(row)
    finally:
        writer.close()
        bar.done()
        summary.seconds = time.perf_counter() - t0
    return summary
