"""What one app instance holds: no module-level state, everything hangs off the object ``create_app`` builds.

- :class:`CaseStore`: the patients checked from an upload, in memory only (never written to disk), the most
  recent few per server, each visible only to the session that uploaded it;
- :class:`Flash`: one-time messages shown after a redirect (what an attestation changed);
- :class:`Memo`: cohort answers (funnel, worklist) per run, computed once and dropped when eligo writes to
  the store.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eligo.engine.verdict import Screening
from eligo.ingest import PatientInput

T = TypeVar("T")

#: Uploaded patients kept per server (the oldest is forgotten first).
MAX_CASES = 32
MAX_FLASHES = 256


class WebError(Exception):
    """A request the app refuses, with the HTTP status and a one-line message for the page or the API."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Case:
    """One uploaded patient: the graph as read, the attestations recorded here, the latest screening."""

    id: str
    owner: str | None
    name: str
    display_name: str | None
    patient: PatientInput
    index_date: dt.date
    screening: Screening
    #: attestations recorded on this page, as FHIR Observations, by source id (``Observation/<id>``)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class CaseStore:
    """The uploaded patients, newest last; bounded, thread-safe."""

    def __init__(self, limit: int = MAX_CASES) -> None:
        self._cases: OrderedDict[str, Case] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(12)

    def put(self, case: Case) -> None:
        with self._lock:
            self._cases[case.id] = case
            self._cases.move_to_end(case.id)
            while len(self._cases) > self._limit:
                self._cases.popitem(last=False)

    def get(self, case_id: str, owner: str | None) -> Case:
        with self._lock:
            case = self._cases.get(case_id)
        if case is None or (case.owner is not None and case.owner != owner):
            raise WebError(404, "no such patient on this server (uploads are kept in memory for the last "
                                f"{self._limit} patients only, and only for the session that uploaded them): "
                                "upload the file again")
        return case


class Flash:
    """One-time messages, by a random id passed in the redirect's address."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, lines: list[str]) -> str:
        key = secrets.token_urlsafe(9)
        with self._lock:
            self._items[key] = lines
            while len(self._items) > MAX_FLASHES:
                self._items.popitem(last=False)
        return key

    def pop(self, key: str | None) -> list[str]:
        if not key:
            return []
        with self._lock:
            return self._items.pop(key, [])


class Memo:
    """Answers per key, computed once (a second request for a key being computed waits for it); :meth:`clear`
    after eligo writes to the store."""

    def __init__(self) -> None:
        self._items: dict[object, Any] = {}
        self._running: dict[object, threading.Event] = {}
        self._lock = threading.Lock()
        self._generation = 0

    def get(self, key: object, compute: Callable[[], T]) -> T:
        while True:
            with self._lock:
                if key in self._items:
                    return self._items[key]
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    generation = self._generation
                    break
            running.wait()  # another request computes it; then look again (it may have failed)
        try:
            value = compute()
            with self._lock:
                if generation == self._generation:
                    self._items[key] = value
            return value
        finally:
            with self._lock:
                if self._running.get(key) is running:
                    del self._running[key]
            running.set()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._running.clear()
            self._generation += 1
