"""The attrition funnel (`eligo funnel`): ``queries/funnel.rq`` as typed steps, a table and a chart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eligo.errors import StoreError, UsageError
from eligo.paths import QUERIES_DIR
from eligo.population.cohort import load_query, run_query, text_value
from eligo.population.store import Backend, Table


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One criterion of the funnel, in catalogue order."""

    position: int
    criterion: str
    kind: str
    label: str
    met: int
    not_met: int
    unknown: int
    not_applicable: int
    remaining: int  # not ruled out (no not-met) by this criterion or any before it
    confirmed: int  # every criterion so far met or not applicable


@dataclass(frozen=True, slots=True)
class Funnel:
    """A run's funnel."""

    run: str
    trial: str
    index_date: str
    screened: int
    steps: tuple[FunnelStep, ...]


def _int(table: Table, row: tuple[Any, ...], name: str) -> int:
    return int(text_value(row[table.columns.index(name)]) or 0)


def funnel_from_tables(steps: Table, runs: Table) -> Funnel:
    """The funnel from the answers of ``funnel.rq`` and ``runs.rq`` (the same run)."""
    if not steps.rows:
        raise StoreError("no screening run with results in the store; load one with "
                         "`eligo load INPUT... --index-date YYYY-MM-DD`")
    out = []
    for r in steps.rows:
        def v(name: str, row: tuple[Any, ...] = r) -> str:
            return text_value(row[steps.columns.index(name)])
        out.append(FunnelStep(_int(steps, r, "position"), v("criterion"), v("kind"), v("label"),
                              _int(steps, r, "met"), _int(steps, r, "notMet"), _int(steps, r, "unknown"),
                              _int(steps, r, "notApplicable"), _int(steps, r, "remaining"),
                              _int(steps, r, "confirmed")))
    first = out[0]
    screened = first.met + first.not_met + first.unknown + first.not_applicable
    run = text_value(steps.rows[0][steps.columns.index("run")])
    meta = runs.records()[0] if runs.rows else {}
    return Funnel(run, text_value(meta.get("trial")), text_value(meta.get("indexDate")), screened, tuple(out))


def compute(backend: Backend, params: Mapping[str, str], *, queries_dir: Path = QUERIES_DIR) -> tuple[Funnel, Table]:
    """Run ``funnel.rq`` (with ``params``: run, trial) and ``runs.rq`` for the run it chose."""
    table = run_query(backend, load_query("funnel", queries_dir=queries_dir), params)
    if not table.rows:
        raise StoreError("no screening run with results in the store; load one with "
                         "`eligo load INPUT... --index-date YYYY-MM-DD`")
    run = text_value(table.rows[0][table.columns.index("run")])
    runs = run_query(backend, load_query("runs", queries_dir=queries_dir), {"run": run})
    return funnel_from_tables(table, runs), table


def render_text(f: Funnel) -> str:
    head = (f"Funnel   trial {f.trial}   index date {f.index_date}   run {f.run}\n"
            f"{f.screened} patients screened\n")
    cols = f"{'#':>3}  {'criterion':<9} {'label':<44} {'met':>6} {'not-met':>8} {'unknown':>8} {'n/a':>6} " \
           f"{'remaining':>10} {'confirmed':>10}"
    lines = [head, cols, "-" * len(cols)]
    for s in f.steps:
        lines.append(f"{s.position:>3}  {s.criterion:<9} {s.label[:44]:<44} {s.met:>6} {s.not_met:>8} "
                     f"{s.unknown:>8} {s.not_applicable:>6} {s.remaining:>10} {s.confirmed:>10}")
    return "\n".join(lines)


def write_chart(f: Funnel, stem: Path) -> tuple[Path, Path]:
    """Write the funnel as ``stem.png`` and ``stem.svg``; return both paths."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if stem.suffix.lower() in (".png", ".svg"):
        stem = stem.with_suffix("")
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the chart folder: {exc.strerror or exc}", source=str(stem.parent)) from exc
    labels = ["screened"] + [f"{s.criterion}  {s.label[:38]}" for s in f.steps]
    remaining = [f.screened] + [s.remaining for s in f.steps]
    confirmed = [f.screened] + [s.confirmed for s in f.steps]
    with matplotlib.rc_context({"svg.hashsalt": "eligo", "font.size": 8}):
        fig = Figure(figsize=(9, 0.32 * len(labels) + 1.4), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        y = list(range(len(labels)))
        ax.barh(y, remaining, color="#9ecae1", label="not ruled out (no not-met so far)")
        ax.barh(y, confirmed, height=0.45, color="#08519c", label="confirmed (all met or n/a so far)")
        top = max(f.screened, 1)
        for yi, (r, c) in enumerate(zip(remaining, confirmed, strict=True)):
            ax.text(r, yi, f" {r}", va="center", fontsize=7)
            if c != r and c > 0.08 * top:
                ax.text(c, yi, f"{c} ", va="center", ha="right", fontsize=7, color="white")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.12)
        ax.set_xlabel("patients")
        ax.set_title(f"{f.trial}: attrition by criterion (index date {f.index_date}, {f.screened} screened)")
        ax.legend(loc="lower right", frameon=False)
        png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
        try:
            fig.savefig(png, dpi=150)
            fig.savefig(svg, metadata={"Date": None})
        except OSError as exc:
            raise UsageError(f"cannot write the chart: {exc.strerror or exc}", source=str(stem)) from exc
    return png, svg
