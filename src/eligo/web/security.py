"""What keeps health data in: the access token, the session cookie, CSRF tokens, body limits, headers, logs.

Every request needs the token: ``Authorization: Bearer TOKEN``, or once ``?token=TOKEN``, which sets a
session cookie and redirects to the same address without the token. The cookie holds a random session id
and its HMAC under the token (nothing is kept on the server); a form's CSRF token is the HMAC of that
session id, so a form posted from another site, or without its hidden ``csrf`` field, is refused.

The access log holds method, path (never the query string: patient keys travel there), status and time;
an unexpected error is logged by its exception type only.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from eligo.ingest import MAX_DOCUMENT_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOG = logging.getLogger("eligo.web")
COOKIE = "eligo_session"
#: The smallest token `--token-file` may hold.
MIN_TOKEN_LENGTH = 16
#: Non-file form fields and everything but an upload: far below a patient file.
SMALL_BODY = 1024 * 1024
#: An upload form carries the file (at most MAX_DOCUMENT_BYTES) and a few small fields.
FORM_OVERHEAD = 1024 * 1024

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def new_token() -> str:
    """A fresh random access token (printed in the URL at start, as Jupyter does)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Auth:
    """Checks the token and derives session and CSRF values from it (stateless)."""

    token: str

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.token.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def new_session(self) -> str:
        """A cookie value: a random session id and its MAC."""
        sid = secrets.token_urlsafe(18)
        return f"{sid}.{self._mac('session', sid)}"

    def session_id(self, cookie: str | None) -> str | None:
        """The session id of a valid cookie value, else None."""
        if not cookie or "." not in cookie:
            return None
        sid, _, mac = cookie.partition(".")
        return sid if hmac.compare_digest(mac.encode(), self._mac("session", sid).encode()) else None

    def csrf(self, session: str | None) -> str:
        """The CSRF token of a session's forms ("" without a cookie session: Bearer clients post no forms)."""
        return self._mac("csrf", session) if session else ""

    def csrf_ok(self, session: str | None, candidate: str | None) -> bool:
        return bool(session) and bool(candidate) and hmac.compare_digest(
            str(candidate).encode(), self.csrf(session).encode())


def body_limit(path: str) -> int:
    """The largest request body a path accepts: a patient file for the check API and the upload form."""
    if path == "/api/check":
        return MAX_DOCUMENT_BYTES
    if path == "/check":
        return MAX_DOCUMENT_BYTES + FORM_OVERHEAD
    return SMALL_BODY


def too_large_message(size: int | None) -> str:
    what = f"the upload is {size / 2**20:.0f} MB; " if size else "the upload is too large; "
    return (f"{what}a patient file is read whole and may be at most {MAX_DOCUMENT_BYTES // 2**20} MB. A file this "
            "large is a population: screen it with `eligo screen` (which streams FHIR Bulk Data NDJSON), or split it")


class _TooLarge(Exception):
    pass


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _send_plain(send: Send, status: int, body: str, *, api: bool,
                      extra: list[tuple[bytes, bytes]] | None = None) -> None:
    if api:
        data, ctype = json.dumps({"error": body}).encode(), b"application/json"
    else:
        data = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>eligo: {status}</title>"
                f"<link rel=stylesheet href=/static/eligo.css></head><body><main><h1>{status}</h1>"
                f"<p class=error-message>{html.escape(body)}</p></main></body></html>").encode()
        ctype = b"text/html; charset=utf-8"
    headers = [(b"content-type", ctype), (b"content-length", str(len(data)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class Guard:
    """ASGI middleware: token or session, body size, security headers, a patient-free access log, and no
    traceback ever reaching the client or the log."""

    def __init__(self, app: ASGIApp, *, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 0}
        api = scope["path"].startswith("/api")

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                took = (time.perf_counter() - started) * 1000
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS,
                                      (b"server-timing", f"app;dur={took:.1f}".encode())]
            await send(message)

        try:
            await self._handle(scope, receive, send_secure, api)
        except _TooLarge:
            if not status["code"]:
                await _send_plain(send_secure, 413, too_large_message(None), api=api)
        except Exception as exc:  # a bug: one line to the client, the exception type only to the log
            LOG.error("internal error (%s) in %s %s", type(exc).__name__, scope["method"], scope["path"])
            if not status["code"]:
                await _send_plain(send_secure, 500, "internal error in eligo (this is a bug; the server log "
                                  "names the exception type)", api=api)
        finally:
            LOG.info("%s %s %s %.0f ms", scope["method"], scope["path"], status["code"] or "-",
                     (time.perf_counter() - started) * 1000)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, api: bool) -> None:
        headers = _headers(scope)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [v for k, v in query if k == "token"]
        if given:  # once, from the printed URL: set the session cookie and drop the token from the address
            if not self.auth.token_ok(given[0]):
                await _send_plain(send, 401, "wrong token: open the URL `eligo serve` printed", api=api)
                return
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            path = "/" + scope["path"].lstrip("/")  # never "//host": the redirect stays on this server
            location = scope.get("root_path", "") + path + (f"?{rest}" if rest else "")
            secure = "; Secure" if scope.get("scheme") == "https" else ""
            cookie = f"{COOKIE}={self.auth.new_session()}; Path=/; HttpOnly; SameSite=Lax{secure}"
            await _send_plain(send, 303, "signed in", api=api,
                              extra=[(b"location", location.encode()), (b"set-cookie", cookie.encode())])
            return
        session = self.auth.session_id(_cookie(headers.get("cookie", ""), COOKIE))
        bearer = headers.get("authorization", "")
        if bearer.lower().startswith("bearer ") and self.auth.token_ok(bearer[7:].strip()):
            kind = "bearer"
        elif session is not None:
            kind = "cookie"
        else:
            await _send_plain(send, 401, "a token is needed: send `Authorization: Bearer TOKEN`, or open the "
                                         "URL `eligo serve` printed (it ends in ?token=...)", api=api)
            return
        scope.setdefault("state", {}).update({"session": session if kind == "cookie" else None, "auth": kind})
        limit = body_limit(scope["path"])
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _send_plain(send, 413, too_large_message(int(length)), api=api)
            return
        seen = {"n": 0}

        async def limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen["n"] += len(message.get("body", b""))
                if seen["n"] > limit:
                    raise _TooLarge
            return message

        await self.app(scope, limited, send)
