"""Plausibility: the values an analyte can take in a living patient, as the term module declares them
(eligo:plausibleMin / eligo:plausibleMax); a value outside is a data error, not a measurement."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rdflib import Literal, URIRef
from rdflib.term import Node

from eligo.model import ELIGO
from eligo.terms import TermModule

__all__ = ["PlausibleRange", "finite_decimal", "plausible_ranges"]


@dataclass(frozen=True, slots=True)
class PlausibleRange:
    """The values an analyte can take in a living patient (eligo:plausibleMin / eligo:plausibleMax on its
    grouping class in the term module), in the group's canonical unit, or as given when it has none."""

    group: URIRef
    low: Decimal | None
    high: Decimal | None

    def contains(self, value: Decimal) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self, unit: str | None) -> str:
        u = f" {unit}" if unit else ""
        if self.low is not None and self.high is not None:
            return f"{self.low} to {self.high}{u}"
        return f"at least {self.low}{u}" if self.low is not None else f"at most {self.high}{u}"


def plausible_ranges(terms: TermModule) -> dict[URIRef, PlausibleRange]:
    """Every plausibility range the term module declares, by grouping class (or code)."""
    out: dict[URIRef, PlausibleRange] = {}
    groups = {s for p in (ELIGO.plausibleMin, ELIGO.plausibleMax) for s in terms.sources.subjects(p, None)}
    for group in groups:
        if not isinstance(group, URIRef):
            continue
        low = finite_decimal(terms.sources.value(group, ELIGO.plausibleMin))
        high = finite_decimal(terms.sources.value(group, ELIGO.plausibleMax))
        out[group] = PlausibleRange(group, low, high)
    return out


def finite_decimal(value: Node | None) -> Decimal | None:
    """A finite number, or None (not a literal, not a number, NaN or infinite)."""
    if not isinstance(value, Literal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() and (not number or abs(number.adjusted()) <= 30) else None
