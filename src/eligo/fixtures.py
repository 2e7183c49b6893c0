"""Per-criterion fixtures: patients with the outcomes they must produce.

A trial's fixtures live beside its shapes, ``shapes/<trial>/fixtures/<ID>.toml``
(format in docs/authoring.md). Used by the test suite and by maintainers.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import Graph

from eligo.errors import TrialError
from eligo.model import turtle_prefix_header
from eligo.trial import Outcome, Trial
from eligo.verdict import Verdict

if TYPE_CHECKING:
    from eligo.check import Screener


@dataclass(frozen=True, slots=True)
class Fixture:
    """One fixture patient and what it must produce."""

    criterion: str
    name: str
    index_date: dt.date
    expect: Outcome
    note: str
    turtle: str
    evidence: tuple[str, ...]
    verdict: Verdict | None
    file: Path

    @property
    def id(self) -> str:
        return f"{self.criterion}:{self.name}"

    def graph(self) -> Graph:
        g = Graph()
        try:
            g.parse(data=turtle_prefix_header() + self.turtle, format="turtle")
        except Exception as exc:
            raise TrialError(f"fixture {self.name}: bad Turtle: {exc}", source=str(self.file)) from exc
        return g


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise TrialError(f"{where}: index_date {value!r} is not YYYY-MM-DD") from exc


def load_file(path: Path) -> list[Fixture]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TrialError(f"bad TOML: {exc}", source=str(path)) from exc
    crit = str(doc.get("criterion") or path.stem)
    default_date = doc.get("index_date")
    out = []
    for i, fx in enumerate(doc.get("fixture", [])):
        name = str(fx.get("name") or f"fixture-{i + 1}")
        where = f"{path}: fixture {name}"
        try:
            expect = Outcome(fx["expect"])
        except (KeyError, ValueError) as exc:
            raise TrialError(f"{where}: expect must be one of "
                             f"{', '.join(o.value for o in Outcome)}") from exc
        date_value = fx.get("index_date", default_date)
        if date_value is None:
            raise TrialError(f"{where}: no index_date")
        verdict = fx.get("verdict")
        out.append(Fixture(
            criterion=crit, name=name, index_date=_date(date_value, where), expect=expect,
            note=str(fx.get("note", "")), turtle=str(fx.get("turtle", "")),
            evidence=tuple(fx.get("evidence", ())),
            verdict=Verdict(verdict) if verdict else None, file=path,
        ))
    return out


def load_fixtures(trial: Trial) -> list[Fixture]:
    """Every fixture of a trial, ordered by criterion file then position."""
    folder = trial.folder / "fixtures"
    fixtures: list[Fixture] = []
    for f in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        fixtures.extend(load_file(f))
    return fixtures


@dataclass(frozen=True, slots=True)
class FixtureResult:
    """What one fixture produced against what it declares."""

    fixture: Fixture
    outcome: Outcome | None
    missing_evidence: tuple[str, ...]
    verdict: Verdict | None
    reason: str
    error: str | None = None

    @property
    def passed(self) -> bool:
        return (self.error is None and self.outcome is self.fixture.expect and not self.missing_evidence
                and (self.fixture.verdict is None or self.verdict is self.fixture.verdict))

    def difference(self) -> str:
        if self.error:
            return f"error: {self.error}"
        parts = []
        if self.outcome is not self.fixture.expect:
            parts.append(f"expected {self.fixture.expect.value}, got "
                         f"{self.outcome.value if self.outcome else 'nothing'} ({self.reason})")
        if self.missing_evidence:
            parts.append(f"evidence not cited: {', '.join(self.missing_evidence)}")
        if self.fixture.verdict is not None and self.verdict is not self.fixture.verdict:
            parts.append(f"expected verdict {self.fixture.verdict.value}, got "
                         f"{self.verdict.value if self.verdict else 'nothing'}")
        return "; ".join(parts)


def run_fixture(fx: Fixture, screener: Screener) -> FixtureResult:
    """Screen one fixture (all criteria when it declares a verdict, else its own criterion)."""
    from eligo.errors import EligoError

    try:
        criteria = None if fx.verdict is not None else [fx.criterion]
        s = screener.check(fx.graph(), index_date=fx.index_date, criteria=criteria)
    except EligoError as exc:
        return FixtureResult(fx, None, (), None, "", error=str(exc))
    got = s.result(fx.criterion)
    cited = {e.source_id for e in got.evidence}
    return FixtureResult(fx, got.outcome, tuple(sorted(set(fx.evidence) - cited)),
                         s.verdict if fx.verdict is not None else None, got.reason)
