"""Texts that name parameters: ``{labWindow}`` in a message reads "14 days".

A criterion's ``sh:message``, ``eligo:needs``, ``eligo:metReason`` and
``eligo:notApplicableReason`` never restate a window or threshold: they name
the parameter by the local name of its IRI, and the trial loader renders the
text from ``parameters.ttl`` (docs/authoring.md, Placeholders).

- ``{ancMin}``: the value with its unit, "1.5 x10^9/L", "50%", "9.0 g/dL";
  a window, "14 days", "6 months", "3 years"; no unit, "3".
- ``{adultAge.value}``: the number alone, "18" (a window: its count).
- ``{records}`` is not a parameter: the translator fills it in ``needs`` with
  the records a violation cites (``eligo.engine.verdict.RECORDS_PLACEHOLDER``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from eligo.errors import TrialError
from eligo.model import ELIGO

if TYPE_CHECKING:
    from eligo.trial import Parameter

#: The properties whose texts may name parameters.
TEXT_PROPERTIES: tuple[URIRef, ...] = (SH.message, ELIGO.needs, ELIGO.metReason, ELIGO.notApplicableReason)
#: ``{name}`` or ``{name.value}``.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w-]*)(\.value)?\}")
#: Placeholders that are not parameters (filled by the translator).
RESERVED = frozenset({"records"})
#: UCUM units of time and the word a text uses for them.
TIME_UNITS: dict[str, str] = {"d": "day", "wk": "week", "mo": "month", "a": "year"}


def local_name(iri: URIRef) -> str:
    """The name a placeholder uses for a parameter: its IRI after the last ``#`` or ``/``."""
    return re.split(r"[#/]", str(iri))[-1]


def unit_text(unit: str) -> str:
    """A UCUM unit as a text writes it: ``10*9/L`` -> ``x10^9/L``, ``m[IU]/mL`` -> ``mIU/mL``."""
    return re.sub(r"10\*(\d+)", r"x10^\1", unit).replace("[", "").replace("]", "")


def _count(n: str, word: str) -> str:
    return f"{n} {word}{'' if n == '1' else 's'}"


def render_parameter(p: Parameter, *, number_only: bool = False) -> str:
    """How a parameter reads in a text (see the module docstring)."""
    if p.value is None:  # a window
        parts = [(str(n), w) for n, w in ((p.years, "year"), (p.months, "month"), (p.days, "day")) if n]
        if not parts:
            parts = [("0", "day")]
        return parts[0][0] if number_only else " ".join(_count(n, w) for n, w in parts)
    number = str(p.value)
    if number_only or not p.unit:
        return number
    if p.unit in TIME_UNITS:
        return _count(number, TIME_UNITS[p.unit])
    return number + unit_text(p.unit) if p.unit == "%" else f"{number} {unit_text(p.unit)}"


def render_text(text: str, by_name: Mapping[str, Parameter]) -> str:
    """``text`` with every parameter placeholder rendered; KeyError names an unknown placeholder."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in RESERVED and not m.group(2):
            return m.group(0)
        if name not in by_name:
            raise KeyError(name)
        return render_parameter(by_name[name], number_only=bool(m.group(2)))

    return PLACEHOLDER.sub(one, text)


def _file_of(graph: Graph, node: Node, files: Mapping[URIRef, Path]) -> Path | None:
    """The file a node was written in; a blank node (a property shape) is found through its parents."""
    seen: set[Node] = set()
    current: Node | None = node
    while current is not None and current not in seen:
        seen.add(current)
        if isinstance(current, URIRef) and current in files:
            return files[current]
        current = next(iter(graph.subjects(None, current)), None)
    return None


def render_texts(graph: Graph, parameters: Mapping[URIRef, Parameter], *, files: Mapping[URIRef, Path],
                 folder: Path) -> None:
    """Render, in place, the placeholders of every message, needs and reason text of a trial's graph."""
    by_name = {local_name(iri): p for iri, p in parameters.items()}
    for prop in TEXT_PROPERTIES:
        for node, text in list(graph.subject_objects(prop)):
            if not isinstance(text, Literal) or "{" not in str(text):
                continue
            try:
                rendered = render_text(str(text), by_name)
            except KeyError as exc:
                name = str(exc.args[0])
                close = difflib.get_close_matches(name, list(by_name), n=1)
                hint = f" (did you mean {{{close[0]}}}?)" if close else ""
                raise TrialError(f"the text {str(text)!r} names {{{name}}}, which is not a parameter of the "
                                 f"trial (parameters.ttl){hint}",
                                 source=str(_file_of(graph, node, files) or folder)) from None
            if rendered != str(text):
                graph.remove((node, prop, text))
                graph.add((node, prop, Literal(rendered, lang=text.language, datatype=text.datatype)))


# ------------------------------------------------------------------ texts that restate a value (lint)
#: A number that is not part of a word, code or unit (``HER2``, ``751-8``, ``x10^9/L``, ``E80.4``).
_NUMBER = re.compile(r"(?<![\w.:/^*+-])\d+(?:\.\d+)?")
#: What after a number makes it part of a code, score or unit rather than a quantity (``3+``, ``10*9``).
_NOT_A_QUANTITY = re.compile(r"[\w*^+]|[.:/,-]\d")
_TIME_WORD = re.compile(r"[ -](?:calendar )?(day|week|month|year)s?\b")
#: A number right after one of these names a code or a unit ("LOINC 718", "unit 1"), it states no value.
_NAMING = re.compile(r"\b(?:unit|LOINC|SNOMED(?: CT)?|CVX|RxNorm|ATC|NCIt|ICD-10-CM|ICD-O-3) $")


@dataclass(frozen=True, slots=True)
class Restated:
    """A number in a text that states the value of parameters (by local name)."""

    text: str
    parameters: tuple[str, ...]
    number_only: bool


def _quantity(p: Parameter) -> tuple[Decimal, str | None] | None:
    if p.value is None:
        n, word = next(((n, w) for n, w in ((p.years, "year"), (p.months, "month"), (p.days, "day")) if n),
                       (0, "day"))
        return Decimal(n), word
    try:
        v = Decimal(str(p.value))
    except InvalidOperation:
        return None
    if not p.unit:
        return v, None
    return v, TIME_UNITS.get(p.unit) or unit_text(p.unit)


def parameters_as_written(graphs: list[Graph]) -> dict[URIRef, Parameter]:
    """The parameters declared in some graphs of a trial's files, read without the trial loader (lint reads
    folders the loader refuses)."""
    from eligo.trial import Parameter  # eligo.trial imports this module

    def count(g: Graph, p: URIRef, prop: URIRef) -> int:
        v = g.value(p, prop)
        try:
            return int(str(v)) if isinstance(v, Literal) else 0
        except ValueError:
            return 0

    out: dict[URIRef, Parameter] = {}
    for g in graphs:
        for p in set(g.subjects(RDF.type, ELIGO.Parameter)) | set(g.subjects(RDF.type, ELIGO.Window)):
            if isinstance(p, URIRef):
                value, unit = g.value(p, ELIGO.value), g.value(p, ELIGO.unit)
                out[p] = Parameter(p, "", "", value if isinstance(value, Literal) else None,
                                   None if unit is None else str(unit), count(g, p, ELIGO.days),
                                   count(g, p, ELIGO.months), count(g, p, ELIGO.years))
    return out


def unknown_placeholders(text: str, names: set[str]) -> list[str]:
    """The placeholders of ``text`` that name no parameter (and are not reserved)."""
    return [m.group(1) for m in PLACEHOLDER.finditer(text)
            if m.group(1) not in names and not (m.group(1) in RESERVED and not m.group(2))]


def restated_values(text: str, parameters: Mapping[URIRef, Parameter]) -> list[Restated]:
    """Numbers of ``text`` (outside placeholders) that equal a parameter's value: with a unit, the value in
    that unit ("14 days" and a 14-day window, "50%" and a 50 % threshold); a bare number, a parameter's
    value as written ("18" and a minimum age of 18, "3" in "3 x ULN"). Codes, scores ("IHC 2+"), ranges
    ("0-5") and units ("10*9/L", "unit 1") are not quantities."""
    quantities = {local_name(i): q for i, p in parameters.items() if (q := _quantity(p)) is not None}
    written = {local_name(i): str(p.value) for i, p in parameters.items() if p.value is not None}
    units = sorted({u for _v, u in quantities.values() if u and u not in TIME_UNITS.values()} |
                   {p.unit for p in parameters.values() if p.unit and p.unit not in TIME_UNITS}, key=len, reverse=True)
    plain = PLACEHOLDER.sub(lambda m: "\x00" * len(m.group(0)), text)
    found: list[Restated] = []
    for m in _NUMBER.finditer(plain):
        after = plain[m.end():]
        if _NOT_A_QUANTITY.match(after) or _NAMING.search(plain[:m.start()]):
            continue
        unit: str | None = None
        if time := _TIME_WORD.match(after):
            unit = time.group(1)
        elif after.startswith("-"):
            continue  # a compound ("12-lead") or a range up to a placeholder
        elif after.startswith("%"):
            unit = "%"
        else:
            unit = next((u for u in units if re.match(" " + re.escape(u) + r"(?![\w/])", after)), None)
        if unit is None:
            names = tuple(n for n, w in written.items() if w == m.group(0))
            shown = m.group(0)
        else:
            value = Decimal(m.group(0))
            canonical = unit if unit in TIME_UNITS.values() or unit == "%" else unit_text(unit)
            names = tuple(n for n, (v, u) in quantities.items() if v == value and u == canonical)
            shown = m.group(0) + ("%" if unit == "%" else after[:(time.end() if time else len(unit) + 1)])
        if names:
            found.append(Restated(shown, names, unit is None))
    return found
