"""Date functions for rules, as SPARQL extension functions.

rdflib keeps extension functions in a process-wide registry; registering is
idempotent and the functions are pure, so importing this module twice is
harmless. Rules call them with the ``eligo:`` prefix:
``eligo:addMonths(?date, 6)``, ``eligo:addYears``, ``eligo:addDays``,
``eligo:daysBetween(?from, ?to)``.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from rdflib import Literal
from rdflib.namespace import XSD
from rdflib.plugins.sparql.operators import register_custom_function
from rdflib.plugins.sparql.sparql import SPARQLError

from eligo.dates import add_months, add_years
from eligo.model import ELIGO


def _date(term: object) -> dt.date:
    value = term.toPython() if isinstance(term, Literal) else None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise SPARQLError(f"expected an xsd:date, got {term!r}")


def _int(term: object) -> int:
    value = term.toPython() if isinstance(term, Literal) else None
    if isinstance(value, bool) or value is None:
        raise SPARQLError(f"expected an integer, got {term!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise SPARQLError(f"expected an integer, got {term!r}") from exc


def _in_calendar(make: object) -> Literal:
    """The date ``make()`` builds, or a SPARQL error (an unbound result) when it leaves the calendar
    Python can represent (years 1-9999; an end date of 9999-12-31 plus 6 months, say)."""
    try:
        return Literal(make(), datatype=XSD.date)  # type: ignore[operator]
    except (ValueError, OverflowError) as exc:
        raise SPARQLError(f"date out of range: {exc}") from exc


def _add_months(date: Literal, n: Literal) -> Literal:
    d, k = _date(date), _int(n)
    return _in_calendar(lambda: add_months(d, k))


def _add_years(date: Literal, n: Literal) -> Literal:
    d, k = _date(date), _int(n)
    return _in_calendar(lambda: add_years(d, k))


def _add_days(date: Literal, n: Literal) -> Literal:
    d, k = _date(date), _int(n)
    return _in_calendar(lambda: d + dt.timedelta(days=k))


def _days_between(start: Literal, end: Literal) -> Literal:
    return Literal((_date(end) - _date(start)).days, datatype=XSD.integer)


_FUNCTIONS = {
    ELIGO.addMonths: _add_months,
    ELIGO.addYears: _add_years,
    ELIGO.addDays: _add_days,
    ELIGO.daysBetween: _days_between,
}


def register() -> None:
    """Make the functions available to rdflib SPARQL (idempotent)."""
    for iri, fn in _FUNCTIONS.items():
        with contextlib.suppress(ValueError):  # already registered by an earlier call
            register_custom_function(iri, fn)  # type: ignore[arg-type]  # rdflib types it loosely


register()
