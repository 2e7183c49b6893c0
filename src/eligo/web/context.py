"""What every route shares: the app's :class:`WebState`, page rendering (Jinja2, autoescaped), CSRF checks."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from eligo import __version__
from eligo.check import Screener
from eligo.web.attest import Topic
from eligo.web.security import Auth
from eligo.web.state import CaseStore, Flash, Memo, WebError
from eligo.web.storeops import Backend

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class WebState:
    """Everything one app instance holds; built once by ``create_app``."""

    screener: Screener
    auth: Auth
    backend: Backend | None
    topics: dict[str, Topic]
    shapes_version: str
    terms_version: str
    default_index_date: dt.date | None
    examples_dir: Path | None
    env: jinja2.Environment
    cases: CaseStore = field(default_factory=CaseStore)
    flash: Flash = field(default_factory=Flash)
    memo: Memo = field(default_factory=Memo)
    screen_lock: threading.Lock = field(default_factory=threading.Lock)


def environment() -> jinja2.Environment:
    """Jinja2 with autoescape on for every template: every value is HTML-escaped unless marked safe."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def state(request: Request) -> WebState:
    return request.app.state.web


def session(request: Request) -> str | None:
    return request.scope.get("state", {}).get("session")


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    st = state(request)
    trial = st.screener.trial
    common = {"trial": trial, "csrf": st.auth.csrf(session(request)), "has_store": st.backend is not None,
              "store_label": st.backend.description if st.backend is not None else "", "version": __version__,
              "shapes_version": st.shapes_version, "terms_version": st.terms_version, "path": request.url.path}
    html = st.env.get_template(template).render(**common, **context)
    return HTMLResponse(html, status_code=status)


def error_response(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api"):
        return JSONResponse({"error": message}, status_code=status)
    return page(request, "error.html", status=status, status_code=status, message=message)


def check_csrf(request: Request, form: FormData) -> None:
    """A form must carry its session's CSRF token (forms are for browsers; API clients use the JSON API)."""
    value = form.get("csrf")
    if not state(request).auth.csrf_ok(session(request), value if isinstance(value, str) else None):
        raise WebError(403, "the form has no valid CSRF token: reload the page and submit it again")


def form_text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value if isinstance(value, str) else default


def index_date_of(text: str | None, fallback: dt.date | None) -> dt.date:
    if not text:
        if fallback is None:
            raise WebError(400, "index_date: give the planned enrolment / first-dose date, YYYY-MM-DD")
        return fallback
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise WebError(400, f"index_date: {text.strip()[:40]!r} is not a date in YYYY-MM-DD form") from None
