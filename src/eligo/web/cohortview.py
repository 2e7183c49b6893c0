"""The cohort pages' data: the funnel as SVG, candidates, and the data-gap worklist (filter, sort, page, CSV).

Every answer comes from the query files through :func:`eligo.population.cohort.run_query`, for one run,
computed once per run (``Memo``; cleared when the app writes to the store). The worklist is the answer of
``data-gaps`` for the run; filtering by criterion or by ``maxOpen`` keeps the rows the query would return with
that parameter, in the query's order (``ORDER BY ?open ?patient ?position ?needs``), so the CSV is the one
``eligo cohort data-gaps --param criterion=ID --format csv`` prints.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from markupsafe import Markup, escape

from eligo.population.cohort import load_query, render, run_query, text_value
from eligo.population.funnel import Funnel, compute
from eligo.population.store import Table
from eligo.web.security import LOG
from eligo.web.state import Memo
from eligo.web.storeops import Backend

SORTS = ("open", "patient", "criterion")
PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class GapRow:
    patient: str
    open: int
    criterion: str
    needs: str


def funnel(backend: Backend, memo: Memo, run: str) -> Funnel:
    return memo.get(("funnel", run), lambda: compute(backend, {"run": run})[0])


def candidates(backend: Backend, memo: Memo, run: str) -> Table:
    return memo.get(("candidates", run), lambda: run_query(backend, load_query("candidates"), {"run": run}))


def data_gaps(backend: Backend, memo: Memo, run: str) -> Table:
    return memo.get(("data-gaps", run), lambda: run_query(backend, load_query("data-gaps"), {"run": run}))


def warm(backend: Backend, memo: Memo) -> None:
    """Compute the latest run's funnel and worklist, so that the next visitor does not wait for the queries."""
    from eligo.web.storeops import choose_run

    try:
        run = choose_run(backend, None)
        if run is not None:
            funnel(backend, memo, run.iri)
            data_gaps(backend, memo, run.iri)
    except Exception as exc:  # the pages report the same problem when asked; never log patient data
        LOG.warning("could not precompute the cohort pages (%s)", type(exc).__name__)


def warm_in_background(backend: Backend, memo: Memo) -> None:
    """:func:`warm` in a daemon thread (at start, and after eligo writes to the store)."""
    threading.Thread(target=warm, args=(backend, memo), name="eligo-warm", daemon=True).start()


def filtered(table: Table, *, criterion: str | None, max_open: int | None) -> Table:
    """The rows ``data-gaps`` gives with ``criterion`` and ``maxOpen`` (the same order)."""
    ci, oi = table.columns.index("criterion"), table.columns.index("open")
    rows = tuple(r for r in table.rows
                 if (criterion is None or text_value(r[ci]) == criterion)
                 and (max_open is None or int(text_value(r[oi]) or 0) <= max_open))
    return Table(table.columns, rows)


def gap_rows(table: Table, *, sort: str, descending: bool) -> list[GapRow]:
    recs = [GapRow(text_value(r["patient"]), int(text_value(r["open"]) or 0), text_value(r["criterion"]),
                   text_value(r["needs"])) for r in table.records()]
    if sort == "patient":
        recs.sort(key=lambda g: (g.patient, g.criterion), reverse=descending)
    elif sort == "criterion":
        recs.sort(key=lambda g: (g.criterion, g.open, g.patient), reverse=descending)
    elif descending:
        recs.reverse()
    return recs


def csv_text(table: Table) -> str:
    """The CSV ``eligo cohort data-gaps --format csv`` prints (with its final newline)."""
    return render(table, "csv") + "\n"


def funnel_svg(f: Funnel, *, width: int = 1000) -> Markup:
    """The attrition funnel: per criterion, patients not ruled out (light), confirmed (dark) and unknown at
    this criterion (amber, below). Presentation attributes only, so it works inline under the CSP and alone."""
    label_w, bar_w, row_h = 330, width - 330 - 150, 30
    top = max(f.screened, 1)
    rows = [("", "screened", f.screened, f.screened, 0), *[(s.criterion, s.label, s.remaining, s.confirmed, s.unknown)
                                                         for s in f.steps]]
    height = 56 + row_h * len(rows) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="funnel" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="funnel-title" font-family="sans-serif" font-size="12">',
           f'<title id="funnel-title">Attrition funnel of {escape(f.trial)}: {f.screened} patients screened '
           f'(index date {escape(f.index_date)})</title>']
    legend = [("#9ecae1", "not ruled out (no not-met so far)"), ("#08519c", "confirmed (all met or n/a so far)"),
              ("#f0a202", "unknown at this criterion")]
    for i, (colour, text) in enumerate(legend):
        x = 20 + i * (width - 40) // 3
        out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 16}" y="18" fill="#222">{escape(text)}</text>')
    for i, (cid, label, remaining, confirmed, unknown) in enumerate(rows):
        y = 34 + i * row_h
        name = f"{cid}  {label}" if cid else label
        short = name if len(name) <= 46 else name[:45] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" fill="#222">{escape(short)}'
                   f'<title>{escape(name)}</title></text>')
        rw, cw, uw = (round(bar_w * n / top, 1) for n in (remaining, confirmed, unknown))
        out.append(f'<rect x="{label_w}" y="{y}" width="{rw}" height="16" fill="#9ecae1">'
                   f'<title>{remaining} not ruled out</title></rect>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{cw}" height="10" fill="#08519c">'
                   f'<title>{confirmed} confirmed</title></rect>')
        if unknown:
            out.append(f'<rect x="{label_w}" y="{y + 18}" width="{max(uw, 1)}" height="6" fill="#f0a202">'
                       f'<title>{unknown} unknown at {escape(cid)}</title></rect>')
        out.append(f'<text x="{label_w + rw + 6}" y="{y + 13}" fill="#222">{remaining}'
                   + (f' ({unknown} unknown)' if unknown else "") + "</text>")
    axis_y = 34 + len(rows) * row_h + 8
    out.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + bar_w}" y2="{axis_y}" stroke="#888"/>')
    for frac in (0, 0.25, 0.5, 0.75, 1):
        xx = label_w + bar_w * frac
        out.append(f'<text x="{xx}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{round(top * frac)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
