"""The check page and the printed checklist, for an uploaded patient and for a patient of the store alike."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from rdflib import Graph
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from eligo.engine.verdict import Screening, Verdict
from eligo.ingest import PatientInput
from eligo.trial import Outcome
from eligo.web import attest
from eligo.web.context import WebState, page, state
from eligo.web.storeops import RunMeta, StoredResult

VERDICT_TEXT = {
    Verdict.ELIGIBLE: "Every criterion is met or does not apply, each met inclusion on recorded evidence.",
    Verdict.INELIGIBLE: "At least one criterion is not met.",
    Verdict.NEEDS_DATA: "No criterion is not-met, but some need data that the record does not hold.",
    Verdict.PENDING_ATTESTATION: "Every data criterion is met or does not apply; a coordinator's attestation is "
                                 "still to be recorded.",
}


@dataclass
class PatientView:
    """What the check page shows about one patient, wherever it came from."""

    screening: Screening
    graph: Graph
    source_label: str
    base: str  # the page's URL; the attest form, print view and downloads hang off it
    query: str  # the query string that names the patient on those URLs ("" for an upload)
    hidden: dict[str, str]
    display_name: str | None = None
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    run: RunMeta | None = None
    stored: StoredResult | None = None
    flash: list[str] = field(default_factory=list)


def screen(st: WebState, patient: PatientInput, index_date: dt.date) -> Screening:
    """Screen under the app's lock: one screening at a time shares the loaded trial."""
    with st.screen_lock:
        return st.screener.check(patient, index_date=index_date)


def with_triples(patient: PatientInput, extra: Graph) -> PatientInput:
    g = Graph()
    g += patient.graph
    g += extra
    return PatientInput(g, patient.source, patient.warnings)


def _rows(st: WebState, view: PatientView, recorded: dict[str, attest.AttestationRecord]) -> list[dict[str, Any]]:
    rows = []
    for c in view.screening.criteria:
        crit = st.screener.trial.criterion(c.id)
        rows.append({
            "result": c, "criterion": crit,
            "topics": attest.topics_for(st.topics, c.id) if c.outcome is Outcome.UNKNOWN else [],
            "attestations": [recorded[e.source_id] for e in c.evidence if e.source_id in recorded],
        })
    return rows


def context(request: Request, view: PatientView) -> dict[str, Any]:
    st = state(request)
    recorded = attest.records(view.graph, st.screener)
    s = view.screening
    unknown_attestations = [c.id for c in s.criteria if c.outcome is Outcome.UNKNOWN and c.attestation]
    return {
        "v": view, "s": s, "rows": _rows(st, view, recorded), "recorded": recorded,
        "verdict_text": VERDICT_TEXT[s.verdict], "unknown_attestations": unknown_attestations,
        "all_topics": list(st.topics.values()), "index_date": s.index_date.isoformat(),
        "counts": {o.value: sum(1 for c in s.criteria if c.outcome is o) for o in Outcome},
        "suffix": f"?{view.query}" if view.query else "",
        "attest_default": min(dt.date.today(), s.index_date).isoformat(),
    }


def check_page(request: Request, view: PatientView, *, status: int = 200, error: str | None = None) -> HTMLResponse:
    return page(request, "patient.html", status=status, error=error, **context(request, view))


def checklist_page(request: Request, view: PatientView) -> HTMLResponse:
    return page(request, "checklist.html", printed=dt.date.today().isoformat(), **context(request, view))


def bundle_response(request: Request, view: PatientView) -> Response:
    st = state(request)
    doc = attest.bundle(attest.records(view.graph, st.screener), view.resources, st.topics, view.screening.patient)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", view.screening.patient.replace("/", "-"))[:80]
    return Response(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", media_type="application/fhir+json",
                    headers={"content-disposition": f'attachment; filename="{name}-attestations.json"'})
