"""Per-criterion fixtures: patients with the outcomes they must produce.

A trial's fixtures live beside its shapes, ``shapes/<trial>/fixtures/<ID>.toml``
(format in docs/authoring.md). A fixture may extend named base patients from
``fixtures/bases.toml`` and state only what it changes. Each criterion's
rendered outcome, reason and needs per fixture are pinned in a snapshot,
``fixtures/snapshots/<ID>.txt``. Used by the test suite and by maintainers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import BNode, Graph, URIRef
from rdflib.term import Node

from eligo.engine.verdict import Verdict
from eligo.errors import TrialError
from eligo.model import PREFIXES, turtle_prefix_header
from eligo.paths import SHAPES_DIR
from eligo.trial import Outcome, Trial

if TYPE_CHECKING:
    from eligo.check import Screener

#: The file of named base patients, beside the fixture files.
BASES_FILE = "bases.toml"
#: The folder of snapshot files, under ``fixtures/``.
SNAPSHOT_DIR = "snapshots"


@dataclass(frozen=True, slots=True)
class Base:
    """A named Turtle fragment that fixtures extend (``[base.<name>]`` in bases.toml)."""

    name: str
    turtle: str
    extends: tuple[str, ...] = ()


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
    extends: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    #: The bases this fixture builds on, in the order they apply (each after the bases it extends).
    bases: tuple[Base, ...] = field(default=(), repr=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.criterion}:{self.name}"

    def graph(self) -> Graph:
        """The patient: the bases in order, then ``remove``, then the fixture's own triples, where the
        triples of a later part about a subject and predicate replace the earlier ones about them."""
        g = Graph()
        for base in self.bases:
            _overlay(g, self._parse(base.turtle, f"base {base.name}", self.file.parent / BASES_FILE))
        for entry in self.remove:
            _remove(g, entry, f"{self.file}: fixture {self.name}")
        _overlay(g, self._parse(self.turtle, f"fixture {self.name}", self.file))
        return g

    @staticmethod
    def _parse(text: str, what: str, file: Path) -> Graph:
        g = Graph()
        try:
            g.parse(data=turtle_prefix_header() + text, format="turtle")
        except Exception as exc:
            raise TrialError(f"{what}: bad Turtle: {exc}", source=str(file)) from exc
        return g


def _drop(g: Graph, triples: list[tuple[Node, Node, Node]]) -> None:
    """Remove triples, and the blank nodes (components) they leave unreferenced."""
    orphans: list[Node] = []
    for t in triples:
        g.remove(t)
        if isinstance(t[2], BNode):
            orphans.append(t[2])
    while orphans:
        b = orphans.pop()
        if (None, None, b) not in g:
            inner = list(g.triples((b, None, None)))
            orphans.extend(o for _s, _p, o in inner if isinstance(o, BNode))
            for t in inner:
                g.remove(t)


def _overlay(g: Graph, top: Graph) -> None:
    for s, p in set(top.subject_predicates()):
        _drop(g, list(g.triples((s, p, None))))
    for t in top:
        g.add(t)


def _term(text: str, where: str) -> URIRef:
    if text.startswith("<") and text.endswith(">"):
        return URIRef(text[1:-1])
    prefix, colon, local = text.partition(":")
    if not colon or prefix not in PREFIXES:
        raise TrialError(f"{where}: remove entry {text!r} is not a prefixed name (ex:lab) or <IRI>")
    return URIRef(str(PREFIXES[prefix]) + local)


def _remove(g: Graph, entry: str, where: str) -> None:
    """``"ex:alb"`` drops every triple about ex:alb; ``"ex:p eligo:birthDate"`` drops that property only."""
    parts = entry.split()
    if len(parts) not in (1, 2):
        raise TrialError(f"{where}: remove entry {entry!r} must be a subject or a subject and a predicate")
    s = _term(parts[0], where)
    p = _term(parts[1], where) if len(parts) == 2 else None
    _drop(g, list(g.triples((s, p, None))))


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise TrialError(f"{where}: index_date {value!r} is not YYYY-MM-DD") from exc


def _strings(value: object, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TrialError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def load_bases(path: Path) -> dict[str, Base]:
    """The named bases of a fixtures folder (none when it has no bases.toml)."""
    if not path.is_file():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TrialError(f"bad TOML: {exc}", source=str(path)) from exc
    bases: dict[str, Base] = {}
    for name, body in doc.get("base", {}).items():
        if not isinstance(body, dict) or not isinstance(body.get("turtle"), str):
            raise TrialError(f"base {name} has no turtle", source=str(path))
        bases[name] = Base(name, body["turtle"], _strings(body.get("extends", []), "extends", f"{path}: base {name}"))
    return bases


def _resolve(names: Sequence[str], bases: dict[str, Base], where: str) -> tuple[Base, ...]:
    """The bases in the order they apply: each after the ones it extends, each once."""
    out: dict[str, Base] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise TrialError(f"{where}: bases extend each other in a cycle: {' -> '.join((*path, name))}")
        if name not in bases:
            raise TrialError(f"{where}: no base {name!r} in {BASES_FILE} (it has: {', '.join(bases) or 'none'})")
        for parent in bases[name].extends:
            visit(parent, (*path, name))
        out.setdefault(name, bases[name])

    for n in names:
        visit(n, ())
    return tuple(out.values())


def load_file(path: Path, *, bases: dict[str, Base] | None = None) -> list[Fixture]:
    """The fixtures of one file; ``bases`` defaults to the bases.toml beside it."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TrialError(f"bad TOML: {exc}", source=str(path)) from exc
    if bases is None:
        bases = load_bases(path.parent / BASES_FILE)
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
        extends = _strings(fx.get("extends", []), "extends", where)
        out.append(Fixture(
            criterion=crit, name=name, index_date=_date(date_value, where), expect=expect,
            note=str(fx.get("note", "")), turtle=str(fx.get("turtle", "")),
            evidence=tuple(fx.get("evidence", ())),
            verdict=Verdict(verdict) if verdict else None, file=path,
            extends=extends, remove=_strings(fx.get("remove", []), "remove", where),
            bases=_resolve(extends, bases, where),
        ))
    return out


def load_fixtures(trial: Trial) -> list[Fixture]:
    """Every fixture of a trial, ordered by criterion file then position."""
    folder = trial.folder / "fixtures"
    bases = load_bases(folder / BASES_FILE)
    fixtures: list[Fixture] = []
    for f in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        if f.name != BASES_FILE:
            fixtures.extend(load_file(f, bases=bases))
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
    needs: tuple[str, ...] = ()

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
                         s.verdict if fx.verdict is not None else None, got.reason, needs=got.needs)


# ------------------------------------------------------------------ snapshots
def snapshot_path(trial: Trial, criterion: str) -> Path:
    return trial.folder / "fixtures" / SNAPSHOT_DIR / f"{criterion}.txt"


def update_command(trial: Trial) -> str:
    """The command that rewrites a trial's snapshots (the trial by id when it lives under shapes/)."""
    name = trial.id if trial.folder.resolve() == (SHAPES_DIR / trial.id).resolve() else str(trial.folder)
    return f"eligo shapes test {name} --update-snapshots"


def render_snapshot(trial: Trial, criterion: str, results: Sequence[FixtureResult]) -> str:
    """One criterion's snapshot: per fixture (in file order), the outcome, reason and needs it renders."""
    lines = [f"# {criterion}: the outcome, reason and needs each fixture renders (fixtures/{criterion}.toml).",
             f"# Generated by `eligo shapes test {trial.id} --update-snapshots`; review the diff before committing."]
    for r in results:
        lines += ["", f"[{r.fixture.name}]"]
        if r.error is not None:
            lines.append(f"error: {_one_line(r.error)}")
            continue
        lines.append(f"outcome: {r.outcome.value if r.outcome else 'none'}")
        lines.append(f"reason: {_one_line(r.reason)}")
        lines += [f"needs: {_one_line(n)}" for n in r.needs]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return text.replace("\n", "\n  ")


def _by_criterion(results: Sequence[FixtureResult]) -> dict[str, list[FixtureResult]]:
    out: dict[str, list[FixtureResult]] = {}
    for r in results:
        out.setdefault(r.fixture.criterion, []).append(r)
    return out


def snapshot_diff(trial: Trial, criterion: str, results: Sequence[FixtureResult]) -> str:
    """A unified diff from the committed snapshot to what the fixtures render now ("" when equal)."""
    path = snapshot_path(trial, criterion)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    new = render_snapshot(trial, criterion, results)
    if old == new:
        return ""
    rel = f"{trial.id}/fixtures/{SNAPSHOT_DIR}/{path.name}"
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        f"{rel} (committed)", f"{rel} (rendered now)"))


def stale_snapshots(trial: Trial, criteria: Sequence[str]) -> list[Path]:
    """Snapshot files of criteria that have no fixtures any more."""
    folder = trial.folder / "fixtures" / SNAPSHOT_DIR
    return [p for p in sorted(folder.glob("*.txt")) if p.stem not in criteria] if folder.is_dir() else []


def snapshot_diffs(trial: Trial, results: Sequence[FixtureResult]) -> dict[str, str]:
    """Criterion id -> diff, for every criterion of ``results`` whose snapshot differs."""
    diffs = {cid: snapshot_diff(trial, cid, rs) for cid, rs in _by_criterion(results).items()}
    return {cid: d for cid, d in diffs.items() if d}


def write_snapshots(trial: Trial, results: Sequence[FixtureResult], *, prune: bool = False) -> list[Path]:
    """Rewrite the snapshots of the criteria in ``results`` that changed (and, with ``prune``, delete those
    of criteria without fixtures); the paths written or deleted."""
    changed: list[Path] = []
    groups = _by_criterion(results)
    for cid, rs in groups.items():
        path = snapshot_path(trial, cid)
        text = render_snapshot(trial, cid, rs)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    if prune:
        for path in stale_snapshots(trial, list(groups)):
            path.unlink()
            changed.append(path)
    return changed
