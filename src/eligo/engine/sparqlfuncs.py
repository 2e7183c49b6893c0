"""The SPARQL extension functions rules call, defined once for every engine that runs rules.

Rules call them with the ``eligo:`` prefix (docs/authoring.md, "Functions rules can call"):

- dates: ``eligo:addMonths(?date, ?n)``, ``eligo:addYears``, ``eligo:addDays`` (an ``xsd:date``, the day
  clamped to the month end) and ``eligo:daysBetween(?from, ?to)`` (an integer, ``?to - ?from``);
- arithmetic: ``eligo:multiply(?a, ?b)`` and ``eligo:divide(?a, ?b)``, the exact product or quotient
  rounded once to :data:`DECIMAL_PLACES` fractional digits, half to even (docs/decisions.md, "Arithmetic
  in rules"). SPARQL's own ``*``, ``/`` and ``AVG`` are not used in rules: rdflib computes them with 28
  significant digits and Oxigraph with 18 fractional digits (a product that needs more is an error there),
  so the two engines would disagree near a threshold.

Each function is written once, in pure Python, over :class:`Lit` (a literal's lexical form and datatype
IRI), and bound to each engine by an adapter: :func:`register` binds them to rdflib (the per-patient
path; done on import, idempotent: rdflib keeps extension functions in a process-wide registry), and
:mod:`eligo.engine.batch_rules` binds the same functions to pyoxigraph. An argument a function cannot
read, or a result outside what both engines can hold, is a SPARQL error (the expression is unbound) in
both engines alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.plugins.sparql.operators import register_custom_function
from rdflib.plugins.sparql.sparql import SPARQLError
from rdflib.term import Node

from eligo.dates import add_months, add_years
from eligo.model import ELIGO

#: Fractional digits of every eligo:multiply and eligo:divide result: the most Oxigraph's xsd:decimal keeps.
DECIMAL_PLACES = 18
#: A product or quotient whose magnitude reaches this is an error: Oxigraph's xsd:decimal (a 128-bit integer
#: of 10^-18 units) holds magnitudes below about 1.7 x 10^20 only.
DECIMAL_LIMIT = Decimal(10) ** 20

_XSD = str(XSD)
_INTEGER_TYPES = frozenset(_XSD + t for t in (
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "nonPositiveInteger",
    "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"))
_DECIMAL = _XSD + "decimal"
_DATE_TYPES = frozenset({_XSD + "date", _XSD + "dateTime"})
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)?"
                      r"(?:Z|[+-][0-9]{2}:[0-9]{2})?")


class FunctionError(ValueError):
    """An argument the function cannot read or a result it cannot give: a SPARQL error (unbound)."""


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal as every engine can give it: its lexical form and its datatype IRI."""

    lexical: str
    datatype: str


# ---------------------------------------------------------------------------------------- reading arguments
def read_integer(arg: Lit) -> int:
    """An xsd:integer (or a type derived from it)."""
    text = arg.lexical.strip()
    if arg.datatype not in _INTEGER_TYPES or not _INTEGER_RE.fullmatch(text):
        raise FunctionError(f"expected an integer, got {arg.lexical!r}^^<{arg.datatype}>")
    return int(text)


def read_number(arg: Lit) -> Decimal:
    """An xsd:decimal or xsd:integer (or a type derived from it), exactly; floats and doubles are refused
    (their value is binary, their lexical form is not what either engine computes with)."""
    text = arg.lexical.strip()
    if arg.datatype in _INTEGER_TYPES and _INTEGER_RE.fullmatch(text):
        return Decimal(text)
    if arg.datatype == _DECIMAL and _DECIMAL_RE.fullmatch(text):
        return Decimal(text)
    raise FunctionError(f"expected an xsd:decimal or xsd:integer, got {arg.lexical!r}^^<{arg.datatype}>")


def read_date(arg: Lit) -> dt.date:
    """An xsd:date, or the calendar date of an xsd:dateTime as written (its local date)."""
    m = _DATE_RE.fullmatch(arg.lexical.strip())
    if arg.datatype not in _DATE_TYPES or m is None or (("T" in arg.lexical) != arg.datatype.endswith("dateTime")):
        raise FunctionError(f"expected an xsd:date, got {arg.lexical!r}^^<{arg.datatype}>")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise FunctionError(f"not a calendar date: {arg.lexical!r}") from exc


# ---------------------------------------------------------------------------------------- writing results
def date_lit(make: Callable[[], dt.date]) -> Lit:
    """The date ``make()`` builds, or an error when it leaves the calendar Python can represent (years
    1-9999; an end date of 9999-12-31 plus 6 months, say)."""
    try:
        return Lit(make().isoformat(), _XSD + "date")
    except (ValueError, OverflowError) as exc:
        raise FunctionError(f"date out of range: {exc}") from exc


def integer_lit(n: int) -> Lit:
    return Lit(str(n), _XSD + "integer")


def decimal_lexical(d: Decimal) -> str:
    """Oxigraph's canonical form of an xsd:decimal: no exponent, no trailing zeros, no ``.0`` (``30``,
    ``1.5``, ``-0.25``), so both engines store the very same literal."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def rounded(exact: Fraction) -> Lit:
    """``exact`` rounded once to :data:`DECIMAL_PLACES` fractional digits, half to even, as an xsd:decimal
    literal; an error when its magnitude is :data:`DECIMAL_LIMIT` or more."""
    units = round(exact * 10**DECIMAL_PLACES)  # int: exact rounding of a Fraction, ties to even
    value = Decimal(units).scaleb(-DECIMAL_PLACES)
    if abs(value) >= DECIMAL_LIMIT:
        raise FunctionError(f"result {value:.3e} is beyond the decimal range rules compute in")
    return Lit(decimal_lexical(value), _DECIMAL)


# ---------------------------------------------------------------------------------------- the functions
def add_months_fn(date: Lit, n: Lit) -> Lit:
    d, k = read_date(date), read_integer(n)
    return date_lit(lambda: add_months(d, k))


def add_years_fn(date: Lit, n: Lit) -> Lit:
    d, k = read_date(date), read_integer(n)
    return date_lit(lambda: add_years(d, k))


def add_days_fn(date: Lit, n: Lit) -> Lit:
    d, k = read_date(date), read_integer(n)
    return date_lit(lambda: d + dt.timedelta(days=k))


def days_between_fn(start: Lit, end: Lit) -> Lit:
    return integer_lit((read_date(end) - read_date(start)).days)


def multiply_fn(a: Lit, b: Lit) -> Lit:
    return rounded(Fraction(read_number(a)) * Fraction(read_number(b)))


def divide_fn(a: Lit, b: Lit) -> Lit:
    divisor = read_number(b)
    if divisor == 0:
        raise FunctionError("division by zero")
    return rounded(Fraction(read_number(a)) / Fraction(divisor))


#: Every function rules can call: IRI -> (arity, pure function over literals).
FUNCTIONS: dict[str, tuple[int, Callable[..., Lit]]] = {
    str(ELIGO.addMonths): (2, add_months_fn),
    str(ELIGO.addYears): (2, add_years_fn),
    str(ELIGO.addDays): (2, add_days_fn),
    str(ELIGO.daysBetween): (2, days_between_fn),
    str(ELIGO.multiply): (2, multiply_fn),
    str(ELIGO.divide): (2, divide_fn),
}


def call(iri: str, args: tuple[Lit | None, ...]) -> Lit:
    """Apply function ``iri`` to literals (None: an argument that is not a literal), or raise
    :class:`FunctionError`. Both engine adapters come through here."""
    arity, fn = FUNCTIONS[iri]
    if len(args) != arity:
        raise FunctionError(f"<{iri}> takes {arity} arguments, got {len(args)}")
    if any(a is None for a in args):
        raise FunctionError(f"<{iri}> takes literals only")
    return fn(*args)


# ---------------------------------------------------------------------------------------- rdflib adapter
def _rdflib_lit(term: Node) -> Lit | None:
    if not isinstance(term, Literal):
        return None
    if term.datatype is not None:
        return Lit(str(term), str(term.datatype))
    return Lit(str(term), str(RDF.langString) if term.language else _XSD + "string")


def _rdflib_function(iri: str) -> Callable[..., Literal]:
    def apply(*args: Node) -> Literal:
        try:
            out = call(iri, tuple(_rdflib_lit(a) for a in args))
        except FunctionError as exc:
            raise SPARQLError(str(exc)) from exc
        return Literal(out.lexical, datatype=URIRef(out.datatype))
    return apply


def register() -> None:
    """Make the functions available to rdflib SPARQL (idempotent)."""
    for iri in FUNCTIONS:
        with contextlib.suppress(ValueError):  # already registered by an earlier call
            register_custom_function(URIRef(iri), _rdflib_function(iri))


register()

__all__ = ["DECIMAL_LIMIT", "DECIMAL_PLACES", "FUNCTIONS", "FunctionError", "Lit", "call", "register"]
