"""The functions worker processes and Dask workers run, under stable public names.

Process pools and Dask pickle these functions by module path: their names and this module's path are
part of eligo's interface, so moving code elsewhere never breaks a cluster running the same version.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from eligo.check import Screener
from eligo.codemap import CodeMap
from eligo.errors import EligoError
from eligo.ingest.batch import Unit, unit_input
from eligo.notices import WarningKind
from eligo.population.rows import Row

__all__ = ["init_worker", "screen_in_worker", "screen_on_dask_worker", "screen_with"]


class _State:
    """The worker process's screener, created once by :func:`init_worker` (the pool initializer)."""

    screener: Screener | None = None


def init_worker(trial: str, code_map: CodeMap | None = None) -> None:
    """Load the trial (and the site's code map) once per worker process."""
    _State.screener = Screener(trial=trial, code_map=code_map)


def screen_with(screener: Screener, unit: Unit, index_date: dt.date) -> Row:
    """One patient's row; an error (eligo's or a bug) becomes the row's error, never an exception."""
    t = time.perf_counter()
    try:
        s = screener.check(unit_input(unit), index_date=index_date)
        return Row(unit.key, unit.source, s.verdict, {c.id: c.outcome for c in s.criteria},
                   seconds=time.perf_counter() - t, needs={c.id: list(c.needs) for c in s.criteria if c.needs})
    except EligoError as exc:
        return Row(unit.key, unit.source, None, {}, error=str(exc), seconds=time.perf_counter() - t)
    except Exception as exc:  # a bug must not lose the night's run: report it in the row
        return Row(unit.key, unit.source, None, {}, error=f"internal error: {type(exc).__name__}: {exc}",
                   seconds=time.perf_counter() - t, error_kind=WarningKind.INTERNAL_ERROR)


def screen_in_worker(args: tuple[Unit, dt.date]) -> Row:
    """In a pool worker set up by :func:`init_worker`: one patient's row."""
    if _State.screener is None:
        raise RuntimeError("init_worker was not run in this process")
    return screen_with(_State.screener, *args)


def screen_on_dask_worker(unit: Unit, index_date: dt.date, trial: str, code_map: CodeMap | None = None) -> Row:
    """On a Dask worker: one patient's row, with a screener cached on the worker per trial and code map."""
    from distributed import get_worker

    worker = get_worker()
    screener = getattr(worker, "_eligo_screener", None)
    same_map = getattr(worker, "_eligo_code_map", None) in (code_map,)  # `is`, then ==
    if screener is None or screener.trial.id != Path(trial).name or not same_map:
        screener = Screener(trial=trial, code_map=code_map)
        setattr(worker, "_eligo_screener", screener)  # noqa: B010  (cached on the worker for the next tasks)
        setattr(worker, "_eligo_code_map", code_map)  # noqa: B010
    return screen_with(screener, unit, index_date)
