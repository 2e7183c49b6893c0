"""Screening many patients set-at-a-time: ``BatchScreener`` (the batch engine behind ``--engine batch``).

Each patient is mapped straight to :class:`eligo.triples.Triples` and generically derived one at a time
(cheap, no rdflib ``Graph``); the trial's rules, shapes and the translation then run once per batch in an
in-memory Oxigraph store (:class:`eligo.engine.batch_store.BatchEngine`). A patient whose input cannot be
read gets its own error, never the batch's. A trial whose shapes the compiler cannot translate is screened
by the pySHACL reference instead, with a warning on every result (never silently differently).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from eligo.check import Screener
from eligo.codemap import CodeMap
from eligo.engine.batch_store import BatchEngine, Evaluated, Prepared
from eligo.engine.derive import source_id
from eligo.engine.shape_compiler import uncompilable
from eligo.engine.verdict import Screening, overall_verdict
from eligo.errors import EligoError, EngineMismatchError, UsageError
from eligo.ingest import PatientInput
from eligo.ingest.batch import Unit, unit_triples
from eligo.notices import DataWarning, WarningKind
from eligo.paths import DEFAULT_TRIAL, ONTOLOGY_DIR
from eligo.terms import TermModule
from eligo.trial import Trial
from eligo.triples import Triples

#: Patients per batch store unless told otherwise: large enough that the per-query cost of the rules and
#: shapes is spread thin, small enough that a worker's memory stays bounded (about 1 MB per patient of the
#: batch: its rdflib terms and the store).
DEFAULT_BATCH_SIZE = 500


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """CPython's cyclic garbage collector off while a batch is screened, as it was afterwards.

    A batch builds hundreds of thousands of container objects (triples, their indexes, terms, rows) that all
    live until the batch ends; with the collector on, CPython walks them again at every collection of the
    older generations, which took about 30% of the batch engine's time. Reference counting frees what a
    batch drops as usual; only reference cycles (rare here: an exception's traceback) wait for the
    collector's next run once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Engine(enum.Enum):
    """Which engine screens: the set-at-a-time batch engine, or pySHACL one patient at a time (the reference)."""

    BATCH = "batch"
    PYSHACL = "pyshacl"


@dataclass(frozen=True, slots=True)
class PatientFailure:
    """A patient of a batch that could not be screened: its input is bad, or eligo failed on it."""

    source: str
    message: str
    #: ``WarningKind.INTERNAL_ERROR`` for a bug in eligo, else None (bad input)
    kind: WarningKind | None = None


class BatchScreener:
    """Screens batches of patients against one trial with the batch engine; load once, screen many.

    >>> screener = BatchScreener(trial="<trial id>")                      # doctest: +SKIP
    >>> screener.check_units(units, index_date=date(2026, 12, 1))          # doctest: +SKIP
    """

    def __init__(self, *, trial: Trial | str | Path = DEFAULT_TRIAL, terms: TermModule | None = None,
                 ontology_dir: Path = ONTOLOGY_DIR, code_map: CodeMap | None = None,
                 cache_dir: Path | None = None, reference: Screener | None = None) -> None:
        #: the pySHACL screener: the reference for ``verify``, and the engine for a trial the batch
        #: engine cannot run
        self.reference = reference if reference is not None else Screener(
            trial=trial, terms=terms, ontology_dir=ontology_dir, code_map=code_map, cache_dir=cache_dir)
        self.trial = self.reference.trial
        self.terms = self.reference.terms
        #: what keeps this trial off the batch engine (then every patient is screened by pySHACL)
        self.unsupported = tuple(uncompilable(self.trial))
        self.engine = BatchEngine(self.trial, self.terms) if not self.unsupported else None

    # ------------------------------------------------------------------ screening
    def check_units(self, units: Sequence[Unit], *, index_date: dt.date) -> list[Screening | PatientFailure]:
        """One result per unit, in order: mapped here, then screened together (the garbage collector paused:
        :func:`collector_paused`)."""
        with collector_paused():
            t = time.perf_counter()
            mapped = [_mapped(u) for u in units]
            if self.engine is not None:
                self.engine.timings.map += time.perf_counter() - t
            results = self.check_mapped(mapped, index_date=index_date)
            del mapped  # the patients' triples go before the collector is back on: it has less to walk then
        return results

    def check(self, patient: Graph | PatientInput, *, index_date: dt.date) -> Screening:
        """One patient through the batch engine (a batch of one); its errors are raised."""
        if isinstance(patient, PatientInput):
            item: tuple[Triples, str, tuple[DataWarning, ...]] | PatientFailure = (
                Triples(patient.graph), patient.source, patient.warnings)
        else:
            item = (Triples(patient), "graph", ())
        [result] = self.check_mapped([item], index_date=index_date, raise_errors=True)
        assert isinstance(result, Screening)
        return result

    def check_mapped(self, items: Sequence[tuple[Triples, str, tuple[DataWarning, ...]] | PatientFailure], *,
                     index_date: dt.date, raise_errors: bool = False) -> list[Screening | PatientFailure]:
        """Screen mapped patients (graph, source, read warnings); a failure passes through unchanged."""
        if not isinstance(index_date, dt.date) or isinstance(index_date, dt.datetime):
            raise UsageError("index_date must be a datetime.date")
        with collector_paused():
            return self._check_mapped(items, index_date=index_date, raise_errors=raise_errors)

    def _check_mapped(self, items: Sequence[tuple[Triples, str, tuple[DataWarning, ...]] | PatientFailure], *,
                      index_date: dt.date, raise_errors: bool) -> list[Screening | PatientFailure]:
        out: list[Screening | PatientFailure | None] = [None] * len(items)
        prepared: list[tuple[int, Prepared]] = []
        t = time.perf_counter()
        for i, item in enumerate(items):
            if isinstance(item, PatientFailure):
                out[i] = item
                continue
            graph, source, read_warnings = item
            try:
                if self.engine is None:
                    out[i] = self._on_reference(graph, source, read_warnings, index_date)
                    continue
                patient, warnings = self.reference.deriver.derive_generic(graph, index_date=index_date,
                                                                          source=source)
            except EligoError as exc:
                if raise_errors:
                    raise
                out[i] = PatientFailure(source, str(exc))
                continue
            except Exception as exc:  # a bug must not lose the batch: this patient's row says what happened
                if raise_errors:
                    raise
                out[i] = PatientFailure(source, f"internal error: {type(exc).__name__}: {exc}",
                                        WarningKind.INTERNAL_ERROR)
                continue
            prepared.append((i, Prepared(graph, patient, read_warnings + warnings)))
        if self.engine is not None:
            self.engine.timings.derive += time.perf_counter() - t
        for part in _distinct_patients(prepared):
            for (i, p), e in zip(part, self._run(part, raise_errors=raise_errors), strict=True):
                out[i] = e if isinstance(e, PatientFailure) else Screening(
                    patient=source_id(p.graph, p.patient), trial=self.trial.id, index_date=index_date,
                    verdict=overall_verdict(e.results), criteria=e.results, warnings=e.warnings)
        return [r for r in out if r is not None]

    def _run(self, part: list[tuple[int, Prepared]], *, raise_errors: bool) -> list[Evaluated | PatientFailure]:
        """The batch engine on one batch; if it fails, one patient at a time, so that only the patient it
        fails on gets an error (a fact derived before the failure is derived again, to the same effect)."""
        assert self.engine is not None
        try:
            return list(self.engine.run([p for _, p in part]))
        except Exception:
            if raise_errors:
                raise
        out: list[Evaluated | PatientFailure] = []
        for _, p in part:
            try:
                out.extend(self.engine.run([p]))
            except Exception as exc:  # a bug must not lose the batch: this patient's row says what happened
                sid = source_id(p.graph, p.patient)
                out.append(PatientFailure(sid, f"internal error: {type(exc).__name__}: {exc}",
                                          WarningKind.INTERNAL_ERROR))
        return out

    def _on_reference(self, graph: Triples, source: str, read_warnings: tuple[DataWarning, ...],
                      index_date: dt.date) -> Screening:
        g = Graph()
        for t in graph:
            g.add(t)
        s = self.reference.check(PatientInput(g, source, read_warnings), index_date=index_date)
        note = DataWarning(WarningKind.ENGINE_SAFETY_NET,
                           "screened by pySHACL, not the batch engine: " + "; ".join(self.unsupported))
        return Screening(s.patient, s.trial, s.index_date, s.verdict, s.criteria, s.warnings + (note,))

    # ------------------------------------------------------------------ verification
    def verify(self, unit: Unit, result: Screening, *, read: Callable[[Unit], PatientInput],
               index_date: dt.date) -> None:
        """Re-check one patient with pySHACL; :class:`EngineMismatchError` on any difference in verdict,
        outcomes, reasons, needs or evidence (the shadow check of ``--verify-sample``)."""
        ref = self.reference.check(read(unit), index_date=index_date)
        diff = differences(ref, result)
        if diff:
            raise EngineMismatchError(
                f"the batch engine and pySHACL disagree on {result.patient}: {diff[0]}"
                + (f" (and {len(diff) - 1} more difference(s))" if len(diff) > 1 else ""), source=unit.source)


def differences(reference: Screening, batch: Screening) -> list[str]:
    """What differs between two screenings of the same patient, one line each (empty when identical)."""
    out: list[str] = []
    if reference.verdict is not batch.verdict:
        out.append(f"verdict: pySHACL {reference.verdict.value}, batch {batch.verdict.value}")
    ref = {c.id: c for c in reference.criteria}
    for c in batch.criteria:
        r = ref.get(c.id)
        if r is None:
            out.append(f"{c.id}: only the batch engine reports it")
            continue
        for name in ("outcome", "reason", "needs", "evidence"):
            a, b = getattr(r, name), getattr(c, name)
            if a != b:
                shown_a = a.value if name == "outcome" else a
                shown_b = b.value if name == "outcome" else b
                out.append(f"{c.id} {name}: pySHACL {shown_a!r}, batch {shown_b!r}")
    if len(reference.criteria) != len(batch.criteria):
        out.append(f"criteria: pySHACL {len(reference.criteria)}, batch {len(batch.criteria)}")
    return out


def _mapped(unit: Unit) -> tuple[Triples, str, tuple[DataWarning, ...]] | PatientFailure:
    """A unit mapped to triples, or its failure (bad input; a bug is named as one)."""
    try:
        graph, warnings = unit_triples(unit)
        return graph, unit.source, warnings
    except EligoError as exc:
        return PatientFailure(unit.source, str(exc))
    except Exception as exc:  # a bug must not lose the batch: this patient's row says what happened
        return PatientFailure(unit.source, f"internal error: {type(exc).__name__}: {exc}", WarningKind.INTERNAL_ERROR)


def _distinct_patients(prepared: list[tuple[int, Prepared]]) -> list[list[tuple[int, Prepared]]]:
    """Split so that no store holds two patients with one IRI (their triples would merge)."""
    parts: list[list[tuple[int, Prepared]]] = []
    seen: list[set[object]] = []
    for item in prepared:
        for part, iris in zip(parts, seen, strict=True):
            if item[1].patient not in iris:
                part.append(item)
                iris.add(item[1].patient)
                break
        else:
            parts.append([item])
            seen.append({item[1].patient})
    return parts


__all__ = ["DEFAULT_BATCH_SIZE", "BatchScreener", "Engine", "PatientFailure", "collector_paused", "differences"]
