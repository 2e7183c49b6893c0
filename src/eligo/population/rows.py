"""Screening rows: one per patient (its verdict and outcomes, or the error that stopped it), the run's
summary, and the writer that appends rows one complete line at a time so an interrupted run leaves a
valid file that ``resume`` can continue."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eligo.engine.verdict import Verdict
from eligo.errors import UsageError
from eligo.ingest.batch import InputProblem, Unit
from eligo.notices import WarningKind
from eligo.trial import Outcome

FORMATS = ("jsonl", "csv")


@dataclass(frozen=True, slots=True)
class Row:
    """One output row: a patient's verdict and outcomes, or the error that stopped it.

    ``error_kind`` is the documented kind of the error (docs/errors.md) when it is not an :class:`EligoError`
    (those are documented with the exception tree); it is not written to the output."""

    patient: str
    source: str
    verdict: Verdict | None
    outcomes: dict[str, Outcome]
    error: str | None = None
    seconds: float = 0.0
    needs: dict[str, list[str]] = field(default_factory=dict)  # criterion id -> what is needed (unknown ones)
    error_kind: WarningKind | None = None

    def to_json(self) -> dict[str, Any]:
        return {"patient": self.patient, "source": self.source,
                "verdict": self.verdict.value if self.verdict is not None else None,
                "criteria": {cid: o.value for cid, o in self.outcomes.items()}, "needs": self.needs,
                "error": self.error}


@dataclass
class ScreenSummary:
    """What a run did."""

    total: int = 0
    skipped: int = 0
    verdicts: Counter[Verdict] = field(default_factory=Counter)
    errors: int = 0
    input_problems: list[InputProblem] = field(default_factory=list)
    seconds: float = 0.0

    def render(self) -> str:
        rate = self.total / self.seconds if self.seconds else 0.0
        parts = [f"{self.total} patients screened in {self.seconds:.1f} s ({rate:.1f}/s)"]
        if self.skipped:
            parts.append(f"{self.skipped} already in the output (resumed)")
        lines = ["; ".join(parts)]
        lines += [f"  {v.value:<20} {n}" for v, n in sorted(self.verdicts.items(), key=lambda vn: vn[0].value)]
        lines.append(f"  {'errors':<20} {self.errors}")
        for p in self.input_problems:
            lines.append(f"  input problem: {p.source}: {p.message}")
        return "\n".join(lines)


class RowWriter:
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
            self._write(self._csv_line([row.patient, row.source, row.verdict.value if row.verdict else "",
                                        row.error or "",
                                        *(o.value if (o := row.outcomes.get(c)) else "" for c in self.criteria)]))

    def close(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)


def lost_row(unit: Unit, exc: BaseException) -> Row:
    """The row of a patient whose screening failed outside eligo (a bug, a cluster error)."""
    return Row(unit.key, unit.source, None, {}, error=f"internal error: {type(exc).__name__}: {exc}",
               error_kind=WarningKind.INTERNAL_ERROR)


def killed_row(unit: Unit) -> Row:
    """The row of a patient whose worker process died every time it was tried."""
    return Row(unit.key, unit.source, None, {},
               error="worker lost: the process screening this patient died (killed, or out of memory) every time "
                     "it was tried; check the patient alone with `eligo check` to see why",
               error_kind=WarningKind.WORKER_LOST)
