"""The JSON API, mirroring the CLI: ``POST /api/check`` is ``eligo check --format json``, ``GET /api/cohort/{query}``
is ``eligo cohort QUERY --format json``; ``/api/openapi.json`` describes both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eligo import __version__
from eligo.errors import EligoError
from eligo.population.cohort import list_queries, load_query, render, run_query
from eligo.report import to_json
from eligo.web.context import index_date_of, page, state
from eligo.web.state import WebError
from eligo.web.uploads import read_upload

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi(request: Request) -> dict[str, Any]:
    st = state(request)
    queries = list_queries()
    criterion = {"type": "object", "required": ["id", "kind", "outcome", "attestation", "reason", "needs", "evidence"],
                 "properties": {"id": {"type": "string"}, "kind": {"enum": ["inclusion", "exclusion"]},
                                "outcome": {"enum": ["met", "not-met", "unknown", "not-applicable"]},
                                "attestation": {"type": "boolean"}, "reason": {"type": "string"},
                                "needs": {"type": "array", "items": {"type": "string"}},
                                "evidence": {"type": "array", "items": {"type": "string"}}}}
    check = {"type": "object", "required": ["patient", "trial", "index_date", "verdict", "criteria", "warnings"],
             "properties": {"patient": {"type": "string"}, "trial": {"type": "string"},
                            "index_date": {"type": "string", "format": "date"},
                            "verdict": {"enum": ["eligible", "ineligible", "needs-data", "pending-attestation"]},
                            "criteria": {"type": "array", "items": {"$ref": "#/components/schemas/Criterion"}},
                            "warnings": {"type": "array", "items": {"type": "string"}}}}
    table = {"type": "object", "required": ["columns", "rows"],
             "properties": {"columns": {"type": "array", "items": {"type": "string"}},
                            "rows": {"type": "array", "items": {"type": "object"}}}}
    params = sorted({(p.name, p.type.value, p.description) for q in queries for p in q.parameters})
    body_types = ["application/fhir+json", "application/json", "text/turtle", "application/n-triples",
                  "application/ld+json", "application/rdf+xml"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "eligo", "version": __version__,
                 "description": f"Eligibility for trial {st.screener.trial.id}; the same documents as the eligo CLI."},
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "the token eligo serve printed or read from --token-file"}},
            "schemas": {"Check": check, "Criterion": criterion, "Table": table, "Error": ERROR}},
        "paths": {
            "/api/check": {"post": {
                "summary": "Screen one patient: the document `eligo check FILE --format json` prints",
                "parameters": [
                    {"name": "index_date", "in": "query", "required": True,
                     "schema": {"type": "string", "format": "date"}},
                    {"name": "criterion", "in": "query", "required": False, "description": "only these criteria",
                     "schema": {"type": "array", "items": {"type": "string"}}, "explode": True}],
                "requestBody": {"required": True, "description": "a FHIR R4 JSON Bundle or resource, or RDF in the "
                                "eligo model (Turtle by default when the media type says nothing); at most 64 MB",
                                "content": {t: {"schema": {"type": "string"}} for t in body_types}},
                "responses": {"200": {"description": "the screening", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Check"}}}},
                    "400": _error("bad input: the CLI's one-line message"), "401": _error("no or wrong token"),
                    "413": _error("the body is over 64 MB")}}},
            "/api/cohort": {"get": {"summary": "The query files and their parameters (`eligo cohort --list`)",
                                    "responses": {"200": {"description": "queries"}}}},
            "/api/cohort/{query}": {"get": {
                "summary": "Run a query of queries/: the document `eligo cohort QUERY --format json` prints",
                "parameters": [{"name": "query", "in": "path", "required": True,
                                "schema": {"enum": [q.name for q in queries]}},
                               *({"name": n, "in": "query", "required": False, "description": d,
                                  "schema": {"type": "integer" if t == "integer" else "string"}}
                                 for n, t, d in params)],
                "responses": {"200": {"description": "columns and rows", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Table"}}}},
                    "400": _error("unknown query or bad parameter"), "404": _error("no population store")}}},
        },
    }


async def api_check(request: Request) -> Response:
    st = state(request)
    index_date = index_date_of(request.query_params.get("index_date"), None)
    criteria = request.query_params.getlist("criterion") or None
    body = await request.body()
    if not body.strip():
        raise WebError(400, "the request body is empty: send a FHIR Bundle or a Turtle document")

    def work() -> str:
        read = read_upload(body, filename=None, content_type=request.headers.get("content-type"), default_stem="body")
        with st.screen_lock:
            return to_json(st.screener.check(read.patient, index_date=index_date, criteria=criteria))

    return await _json_answer(work)


async def _json_answer(work: Callable[[], str]) -> Response:
    """Run ``work`` off the event loop; its JSON text is the answer, an eligo error a 400 with its message."""
    try:
        text = await run_in_threadpool(work)
    except EligoError as exc:
        raise WebError(400, str(exc)) from None
    return Response(text + "\n", media_type="application/json")


async def api_queries(request: Request) -> Response:
    return JSONResponse({"queries": [
        {"name": q.name, "title": q.title, "purpose": q.purpose, "columns": list(q.columns),
         "parameters": [{"name": p.name, "type": p.type.value, "required": p.required, "description": p.description}
                        for p in q.parameters]} for q in list_queries()]})


async def api_cohort(request: Request) -> Response:
    st = state(request)
    name = request.path_params["query"]
    known = {q.name for q in list_queries()}
    if name not in known:  # only the files of queries/: a path would let a client read any .rq file
        raise WebError(404, f"no query {name!r}: one of {', '.join(sorted(known))}")
    if st.backend is None:
        raise WebError(404, "this server has no population store: start it with --store DIR or --endpoint URL")
    backend = st.backend
    params = {k: v for k, v in request.query_params.items() if k != "token"}

    def work() -> str:
        query = load_query(name)
        return render(run_query(backend, query, params), "json")

    return await _json_answer(work)


async def api_openapi(request: Request) -> Response:
    return JSONResponse(openapi(request))


async def api_docs(request: Request) -> Response:
    return page(request, "api.html", spec=openapi(request))


ROUTES = [
    Route("/api", api_docs, methods=["GET"]),
    Route("/api/openapi.json", api_openapi, methods=["GET"]),
    Route("/api/check", api_check, methods=["POST"]),
    Route("/api/cohort", api_queries, methods=["GET"]),
    Route("/api/cohort/{query}", api_cohort, methods=["GET"]),
]
