"""Checking an uploaded patient: the upload form, the check page, attestations, the checklist, the trial."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from eligo.errors import EligoError
from eligo.ingest import MAX_DOCUMENT_BYTES
from eligo.report import to_dict
from eligo.web import attest
from eligo.web.context import check_csrf, form_text, index_date_of, page, session, state
from eligo.web.state import Case, WebError
from eligo.web.uploads import read_upload
from eligo.web.views import PatientView, bundle_response, check_page, checklist_page, screen, with_triples


def _examples(request: Request) -> list[str]:
    folder = state(request).examples_dir
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".json", ".ttl") and p.is_file())


def _home(request: Request, *, status: int = 200, error: str | None = None, index_date: str = "") -> Response:
    st = state(request)
    default = st.default_index_date or dt.date.today()
    return page(request, "home.html", status=status, error=error, examples=_examples(request),
                index_date=index_date or default.isoformat())


async def home(request: Request) -> Response:
    return _home(request)


async def upload(request: Request) -> Response:
    st = state(request)
    form = await request.form(max_files=2, max_fields=20, max_part_size=MAX_DOCUMENT_BYTES + 1)
    check_csrf(request, form)
    typed_date = form_text(form, "index_date")
    try:
        index_date = index_date_of(typed_date, None)
        file, text, example = form.get("file"), form_text(form, "text"), form_text(form, "example")
        if isinstance(file, UploadFile) and file.filename:
            data, name, ctype = await file.read(), file.filename, file.content_type
        elif text.strip():
            data, name, ctype = text.encode("utf-8"), None, form_text(form, "format") or None
        elif example and example in _examples(request) and st.examples_dir is not None:
            data, name, ctype = (st.examples_dir / example).read_bytes(), example, None
        else:
            raise WebError(400, "choose a file, paste a FHIR Bundle or Turtle document, or pick an example")
        if not data.strip():
            raise WebError(400, f"{name or 'the pasted text'}: the file is empty")
        read = await run_in_threadpool(read_upload, data, filename=name, content_type=ctype, default_stem="pasted")
        screening = await run_in_threadpool(screen, st, read.patient, index_date)
    except WebError as exc:
        return _home(request, status=exc.status, error=exc.message, index_date=typed_date)
    except EligoError as exc:
        return _home(request, status=400, error=str(exc), index_date=typed_date)
    case = Case(st.cases.new_id(), session(request), read.name, read.display_name, read.patient, index_date,
                screening)
    st.cases.put(case)
    return RedirectResponse(f"/case/{case.id}", status_code=303)


def _view(request: Request, case: Case) -> PatientView:
    return PatientView(case.screening, case.patient.graph, f"upload {case.name}", f"/case/{case.id}", "", {},
                       display_name=case.display_name, resources=case.resources,
                       flash=state(request).flash.pop(request.query_params.get("flash")))


def _case(request: Request) -> Case:
    return state(request).cases.get(request.path_params["case"], session(request))


async def case_page(request: Request) -> Response:
    return check_page(request, _view(request, _case(request)))


async def case_print(request: Request) -> Response:
    return checklist_page(request, _view(request, _case(request)))


async def case_bundle(request: Request) -> Response:
    return bundle_response(request, _view(request, _case(request)))


async def case_json(request: Request) -> Response:
    return JSONResponse(to_dict(_case(request).screening))


def parse_attestation(request: Request, form: FormData, index_date: dt.date) -> tuple[
        attest.Topic, str, dt.date, bool | Decimal, str]:
    """The attestation form's topic and fields, checked (a WebError names the field that is wrong)."""
    topic = state(request).topics.get(form_text(form, "topic"))
    if topic is None:
        raise WebError(400, "topic: choose one of the attestation codes the trial reads")
    who, when, value, note = attest.parse_form(topic, who=form_text(form, "who"), when=form_text(form, "when"),
                                               value=form_text(form, "value"), note=form_text(form, "note"),
                                               index_date=index_date)
    return topic, who, when, value, note


async def case_attest(request: Request) -> Response:
    st = state(request)
    case = _case(request)
    form = await request.form(max_files=0, max_fields=20)
    check_csrf(request, form)
    try:
        topic, who, when, value, note = parse_attestation(request, form, case.index_date)
    except WebError as exc:
        return check_page(request, _view(request, case), status=exc.status, error=exc.message)
    resource = attest.observation(topic, patient_ref=case.screening.patient, who=who, when=when,
                                  value=value, note=note)
    sid = f"Observation/{resource['id']}"
    added = with_triples(case.patient, attest.observation_triples(resource, case.patient.graph))
    after = await run_in_threadpool(screen, st, added, case.index_date)
    lines = [f"Recorded {sid}: {topic.label} = {attest.shown(value, topic)} by {who} on {when.isoformat()}."]
    lines += attest.explain(case.screening, after, topic, sid, attest.records(added.graph, st.screener))
    case.patient, case.screening = added, after
    case.resources[sid] = resource
    return RedirectResponse(f"/case/{case.id}?flash={st.flash.put(lines)}", status_code=303)


async def trial_page(request: Request) -> Response:
    st = state(request)
    trial = st.screener.trial
    terms = st.screener.terms
    needs: dict[str, set[str]] = {}
    for meaning in trial.shape_meanings.values():
        cid = next((c.id for c in trial.criteria if c.iri == meaning.criterion), None)
        if cid is not None:
            needs.setdefault(cid, set()).update(meaning.needs)
    rows = []
    for c in trial.criteria:
        concepts = sorted((terms.label(i) or str(i).rsplit("#", 1)[-1]) for i in trial.concepts(c.id))
        rows.append({"c": c, "concepts": concepts, "needs": sorted(needs.get(c.id, ())),
                     "topics": attest.topics_for(st.topics, c.id),
                     "outcomes": sorted(o.value for o in c.possible_outcomes)})
    return page(request, "trial.html", rows=rows)


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/check", upload, methods=["POST"]),
    Route("/case/{case}", case_page, methods=["GET"]),
    Route("/case/{case}/attest", case_attest, methods=["POST"]),
    Route("/case/{case}/print", case_print, methods=["GET"]),
    Route("/case/{case}/attestations.json", case_bundle, methods=["GET"]),
    Route("/case/{case}/check.json", case_json, methods=["GET"]),
    Route("/trial", trial_page, methods=["GET"]),
]
