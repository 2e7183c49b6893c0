"""The functions worker processes and Dask workers run, under stable public names.

Process pools and Dask pickle these functions by module path: their names and this module's path are
part of eligo's interface, so moving code elsewhere never breaks a cluster running the same version.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import time
from pathlib import Path

from eligo.batch import BatchScreener, Engine, PatientFailure
from eligo.check import Screener
from eligo.codemap import CodeMap
from eligo.engine.verdict import Screening
from eligo.errors import EligoError
from eligo.ingest.batch import Unit, unit_input
from eligo.notices import WarningKind
from eligo.population.rows import Row

__all__ = ["init_worker", "screen_batch_with", "screen_in_worker", "screen_on_dask_worker", "screen_units_in_worker",
           "screen_units_on_dask_worker", "screen_with", "verify_chosen"]


class _State:
    """The worker process's screener, created once by :func:`init_worker` (the pool initializer)."""

    screener: Screener | None = None
    batch: BatchScreener | None = None
    verify_sample: float = 0.0


def init_worker(trial: str, code_map: CodeMap | None = None, engine: Engine = Engine.PYSHACL,
                verify_sample: float = 0.0, cache_dir: Path | None = None) -> None:
    """Load the trial (and the site's code map) once per worker process, for the given engine (from the
    start-up cache in ``cache_dir`` when given)."""
    _State.screener = Screener(trial=trial, code_map=code_map, cache_dir=cache_dir)
    _State.batch = BatchScreener(reference=_State.screener) if engine is Engine.BATCH else None
    _State.verify_sample = verify_sample
    # the trial, its terms and compiled queries live as long as the worker: out of the cyclic garbage
    # collector's sight, its full collections need not walk them again and again (about 8% of the time)
    gc.freeze()


def verify_chosen(key: str, fraction: float) -> bool:
    """Whether ``--verify-sample fraction`` re-checks this patient: a hash of its key, so the choice is
    random across patients, the same on every run and every worker, and needs no shared state."""
    if fraction <= 0:
        return False
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


def screen_batch_with(screener: BatchScreener, units: list[Unit], index_date: dt.date, *,
                      verify_sample: float = 0.0) -> list[Row]:
    """The rows of a batch of patients from the batch engine, in order; a patient that cannot be read or
    screened gets its error row, never the batch's. With ``verify_sample`` a fraction of the patients is
    re-checked by pySHACL; any difference raises :class:`eligo.errors.EngineMismatchError`."""
    t = time.perf_counter()
    results = screener.check_units(units, index_date=index_date)
    each = (time.perf_counter() - t) / max(1, len(units))
    rows: list[Row] = []
    for unit, r in zip(units, results, strict=True):
        if isinstance(r, PatientFailure):
            rows.append(Row(unit.key, unit.source, None, {}, error=r.message, seconds=each, error_kind=r.kind))
            continue
        if verify_chosen(unit.key, verify_sample):
            screener.verify(unit, r, read=unit_input, index_date=index_date)
        rows.append(_row(unit, r, each))
    return rows


def _row(unit: Unit, s: Screening, seconds: float) -> Row:
    return Row(unit.key, unit.source, s.verdict, {c.id: c.outcome for c in s.criteria},
               seconds=seconds, needs={c.id: list(c.needs) for c in s.criteria if c.needs})


def screen_units_in_worker(args: tuple[list[Unit], dt.date]) -> list[Row]:
    """In a pool worker set up by :func:`init_worker`: the rows of a batch of patients (the batch engine),
    or of each patient in turn (pySHACL)."""
    units, index_date = args
    if _State.batch is not None:
        return screen_batch_with(_State.batch, units, index_date, verify_sample=_State.verify_sample)
    return [screen_in_worker((u, index_date)) for u in units]


def screen_with(screener: Screener, unit: Unit, index_date: dt.date) -> Row:
    """One patient's row; an error (eligo's or a bug) becomes the row's error, never an exception."""
    t = time.perf_counter()
    try:
        s = screener.check(unit_input(unit), index_date=index_date)
        return _row(unit, s, time.perf_counter() - t)
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


def screen_units_on_dask_worker(units: list[Unit], index_date: dt.date, trial: str, code_map: CodeMap | None = None,
                                engine: Engine = Engine.BATCH, verify_sample: float = 0.0) -> list[Row]:
    """On a Dask worker: the rows of a batch of patients, with screeners cached on the worker per trial,
    code map and engine."""
    from distributed import get_worker

    worker = get_worker()
    key = (Path(trial).name, engine)
    cached = getattr(worker, "_eligo_batch", None)
    if cached is None or cached[0] != key or cached[1] not in (code_map,):
        reference = Screener(trial=trial, code_map=code_map)
        batch = BatchScreener(reference=reference) if engine is Engine.BATCH else None
        cached = (key, code_map, reference, batch)
        setattr(worker, "_eligo_batch", cached)  # noqa: B010  (cached on the worker for the next tasks)
    _key, _map, reference, batch = cached
    if batch is not None:
        return screen_batch_with(batch, units, index_date, verify_sample=verify_sample)
    return [screen_with(reference, u, index_date) for u in units]
