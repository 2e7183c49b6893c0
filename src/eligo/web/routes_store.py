"""With a store or endpoint: a patient of the store (check page, attestations written back), runs, the funnel,
candidates and the data-gap worklist."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from eligo.ingest import PatientInput
from eligo.population.cohort import text_value
from eligo.web import attest, cohortview, storeops
from eligo.web.context import WebState, check_csrf, form_text, page, state
from eligo.web.routes_check import parse_attestation
from eligo.web.state import WebError
from eligo.web.storeops import Backend, RunMeta
from eligo.web.views import PatientView, bundle_response, check_page, checklist_page, screen, with_triples


def _backend(st: WebState) -> Backend:
    if st.backend is None:
        raise WebError(404, "this server has no population store: start it with --store DIR or --endpoint URL")
    return st.backend


def _run(st: WebState, run: str | None) -> RunMeta:
    found = storeops.choose_run(_backend(st), run or None)
    if found is None:
        raise WebError(404, "the store holds no screening run yet: load one with "
                            "`eligo load INPUT... --store DIR --index-date YYYY-MM-DD`")
    return found


def _patient_view(request: Request, key: str, run_iri: str | None) -> PatientView:
    st = state(request)
    backend = _backend(st)
    if not key:
        raise WebError(400, "key: name the patient (Patient/ID)")
    run = _run(st, run_iri)
    graph = storeops.read_patient_graph(backend, key)
    screening = screen(st, PatientInput(graph, key, ()), run.index_date)
    query = urlencode({"key": key, "run": run.iri})
    return PatientView(screening, graph, f"store, run {run.short}",
                       "/patient", query, {"key": key, "run": run.iri}, run=run,
                       stored=storeops.stored_result(backend, run, key),
                       flash=st.flash.pop(request.query_params.get("flash")))


async def patient_page(request: Request) -> Response:
    q = request.query_params
    view = await run_in_threadpool(_patient_view, request, q.get("key", ""), q.get("run"))
    return check_page(request, view)


async def patient_print(request: Request) -> Response:
    q = request.query_params
    return checklist_page(request, await run_in_threadpool(_patient_view, request, q.get("key", ""), q.get("run")))


async def patient_bundle(request: Request) -> Response:
    q = request.query_params
    return bundle_response(request, await run_in_threadpool(_patient_view, request, q.get("key", ""), q.get("run")))


def _record(request: Request, view: PatientView, topic: attest.Topic, resource: dict[str, object]) -> list[str]:
    """Write the attestation to the patient's graph, re-screen, replace the patient's result in the run."""
    st = state(request)
    backend = _backend(st)
    assert view.run is not None and view.stored is not None
    key = view.hidden["key"]
    sid = f"Observation/{resource['id']}"
    triples = attest.observation_triples(resource, view.graph)
    added = with_triples(PatientInput(view.graph, key, ()), triples)
    after = screen(st, added, view.run.index_date)
    why_not = storeops.run_unchanged_reason(view.run, view.stored, trial=st.screener.trial,
                                            shapes_version=st.shapes_version)
    storeops.write_attestation(backend, key=key, triples=triples, run=None if why_not else view.run,
                               screening=after, source=view.stored.source,
                               note=f"attestation {sid} recorded with eligo serve")
    st.memo.clear()
    cohortview.warm_in_background(backend, st.memo)
    lines = attest.explain(view.screening, after, topic, sid, attest.records(added.graph, st.screener))
    where = f"Written to the patient's graph in the {backend.description}"
    if why_not:
        lines.append(f"{where}; the run was not updated: {why_not}.")
    else:
        lines.append(f"{where}; run {view.run.iri} updated: {key} is now {after.verdict.value.upper()} there "
                     f"(was {(view.stored.verdict or 'no verdict').upper()}).")
    return lines


async def patient_attest(request: Request) -> Response:
    st = state(request)
    form = await request.form(max_files=0, max_fields=20)
    check_csrf(request, form)
    view = await run_in_threadpool(_patient_view, request, form_text(form, "key"), form_text(form, "run"))
    try:
        topic, who, when, value, note = parse_attestation(request, form, view.screening.index_date)
    except WebError as exc:
        return check_page(request, view, status=exc.status, error=exc.message)
    resource = attest.observation(topic, patient_ref=view.screening.patient, who=who, when=when, value=value,
                                  note=note)
    lines = [f"Recorded Observation/{resource['id']}: {topic.label} = {attest.shown(value, topic)} by {who} on "
             f"{when.isoformat()}."]
    lines += await run_in_threadpool(_record, request, view, topic, resource)
    return RedirectResponse(f"/patient?{view.query}&flash={st.flash.put(lines)}", status_code=303)


# ---------------------------------------------------------------- cohort
async def cohort_page(request: Request) -> Response:
    st = state(request)

    def work() -> dict[str, Any]:
        backend = _backend(st)
        all_runs = storeops.runs(backend)
        if not all_runs:
            raise WebError(404, "the store holds no screening run yet: load one with `eligo load`")
        run = _run(st, request.query_params.get("run"))
        f = cohortview.funnel(backend, st.memo, run.iri)
        return {"runs": all_runs, "run": run, "funnel": f, "svg": cohortview.funnel_svg(f)}

    return page(request, "cohort.html", **await run_in_threadpool(work))


async def funnel_svg(request: Request) -> Response:
    st = state(request)

    def work() -> str:
        run = _run(st, request.query_params.get("run"))
        return str(cohortview.funnel_svg(cohortview.funnel(_backend(st), st.memo, run.iri)))

    return Response(await run_in_threadpool(work), media_type="image/svg+xml")


async def candidates_page(request: Request) -> Response:
    st = state(request)

    def work() -> dict[str, Any]:
        run = _run(st, request.query_params.get("run"))
        table = cohortview.candidates(_backend(st), st.memo, run.iri)
        rows = [(text_value(r["patient"]), text_value(r["verdict"])) for r in table.records()]
        return {"run": run, "rows": rows}

    return page(request, "candidates.html", **await run_in_threadpool(work))


def _worklist_params(request: Request) -> tuple[str | None, int | None]:
    q = request.query_params
    criterion = q.get("criterion") or None
    ids = {c.id for c in state(request).screener.trial.criteria}
    if criterion is not None and criterion not in ids:
        raise WebError(400, f"criterion: {criterion[:20]!r} is not a criterion of the trial")
    raw = q.get("maxOpen") or ""
    if raw and not raw.isdigit():
        raise WebError(400, f"maxOpen: {raw[:20]!r} is not a whole number")
    return criterion, int(raw) if raw else None


async def worklist_page(request: Request) -> Response:
    st = state(request)
    criterion, max_open = _worklist_params(request)
    q = request.query_params
    sort = q.get("sort") or "open"
    sort = sort if sort in cohortview.SORTS else "open"
    descending = q.get("desc") == "1"
    page_no = int(q["page"]) if q.get("page", "").isdigit() and int(q["page"]) > 0 else 1

    def work() -> dict[str, Any]:
        run = _run(st, q.get("run"))
        table = cohortview.filtered(cohortview.data_gaps(_backend(st), st.memo, run.iri), criterion=criterion,
                                    max_open=max_open)
        rows = cohortview.gap_rows(table, sort=sort, descending=descending)
        size = cohortview.PAGE_SIZE
        patients = len({r.patient for r in rows})
        return {"run": run, "rows": rows[(page_no - 1) * size: page_no * size], "total": len(rows),
                "patients": patients, "page_no": page_no, "pages": max(1, -(-len(rows) // size))}

    data = await run_in_threadpool(work)
    filters = {k: v for k, v in (("criterion", criterion or ""), ("maxOpen", "" if max_open is None else str(max_open)))
               if v}
    return page(request, "worklist.html", criterion=criterion or "", max_open=max_open, sort=sort,
                descending=descending, filters=filters, labels={c.id: c.label for c in st.screener.trial.criteria},
                **data)


async def worklist_csv(request: Request) -> Response:
    st = state(request)
    criterion, max_open = _worklist_params(request)

    def work() -> str:
        run = _run(st, request.query_params.get("run"))
        return cohortview.csv_text(cohortview.filtered(cohortview.data_gaps(_backend(st), st.memo, run.iri),
                                                       criterion=criterion, max_open=max_open))

    name = f"data-gaps{'-' + criterion if criterion else ''}.csv"
    return Response(await run_in_threadpool(work), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


ROUTES = [
    Route("/patient", patient_page, methods=["GET"]),
    Route("/patient/attest", patient_attest, methods=["POST"]),
    Route("/patient/print", patient_print, methods=["GET"]),
    Route("/patient/attestations.json", patient_bundle, methods=["GET"]),
    Route("/cohort", cohort_page, methods=["GET"]),
    Route("/cohort/funnel.svg", funnel_svg, methods=["GET"]),
    Route("/cohort/candidates", candidates_page, methods=["GET"]),
    Route("/cohort/worklist", worklist_page, methods=["GET"]),
    Route("/cohort/worklist.csv", worklist_csv, methods=["GET"]),
]
