"""The web app for research coordinators: ``create_app`` builds it (the trial is loaded once), ``serve`` runs it.

Server-rendered pages (Starlette and Jinja2, no script at all), a JSON API that mirrors the CLI, and the
safeguards of :mod:`eligo.web.security`. See docs/serve.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from eligo.check import Screener
from eligo.errors import EligoError
from eligo.paths import DEFAULT_TRIAL, ONTOLOGY_DIR
from eligo.population.results import folder_digest
from eligo.population.store import open_backend
from eligo.terms import inputs_digest
from eligo.trial import Trial
from eligo.web import cohortview, routes_api, routes_check, routes_store
from eligo.web.attest import attestation_topics
from eligo.web.context import WebState, environment, error_response
from eligo.web.security import LOG, Auth, Guard
from eligo.web.state import WebError

STATIC = Path(__file__).parent / "static"


def create_app(*, trial: str | Path | Trial | Screener = DEFAULT_TRIAL, store: Path | None = None,
               endpoint: str | None = None, token: str, default_index_date: dt.date | None = None,
               examples_dir: Path | None = None, prewarm: bool = True) -> Starlette:
    """The app for one trial (loaded here, once), optionally over a population store or SPARQL endpoint.

    ``token`` is required on every request; ``default_index_date`` fills the upload form;
    ``examples_dir`` offers its patient files on the home page (``eligo serve --demo``).
    """
    if len(token) < 16:
        raise ValueError("the token must be at least 16 characters")
    screener = trial if isinstance(trial, Screener) else Screener(trial=trial)
    backend = open_backend(store=store, endpoint=endpoint) if store is not None or endpoint is not None else None
    st = WebState(screener=screener, auth=Auth(token), backend=backend, topics=attestation_topics(screener),
                  shapes_version=folder_digest(screener.trial.folder),
                  terms_version="sha256:" + inputs_digest(ONTOLOGY_DIR), default_index_date=default_index_date,
                  examples_dir=examples_dir, env=environment())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if prewarm and backend is not None:
            cohortview.warm_in_background(backend, st.memo)
        try:
            yield
        finally:
            if backend is not None:
                backend.close()

    async def on_web_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WebError)
        return error_response(request, exc.status, exc.message)

    async def on_eligo_error(request: Request, exc: Exception) -> Response:
        return error_response(request, 400, str(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: "no such page", 405: "this address does not take that method"}
        return error_response(request, exc.status_code, messages.get(exc.status_code, exc.detail))

    routes = [*routes_check.ROUTES, *routes_store.ROUTES, *routes_api.ROUTES,
              Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, auth=st.auth)], lifespan=lifespan,
                    exception_handlers={WebError: on_web_error, EligoError: on_eligo_error, HTTPException: on_http})
    app.state.web = st
    return app


def quiet_logs() -> None:
    """Server logs without patient data: uvicorn's access log is off (eligo logs method, path, status and
    time), rdflib's per-literal tracebacks are silenced."""
    logging.getLogger("rdflib.term").setLevel(logging.CRITICAL)
    logging.getLogger("uvicorn.access").disabled = True
    if not LOG.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s eligo.web %(levelname)s %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
        LOG.propagate = False
