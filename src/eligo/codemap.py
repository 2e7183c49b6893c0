"""Local code maps: a FHIR ConceptMap that sends a site's own codes to codes the term module knows.

A site whose records carry local codes (``http://hospital.example/lab#EF``) gives
eligo a FHIR R4 ConceptMap (``--code-map FILE``). :func:`load_code_map` reads it
into a frozen :class:`CodeMap`: for each source code IRI (the IRI
:func:`eligo.ingest.fhir_map.code_iri` gives its system and code), its targets,
each with how it relates to its source (:class:`Relationship`).

- R4 ``target.equivalence`` is read as is; R5 ``target.relationship`` is read
  too (``source-is-narrower-than-target`` is R4 ``wider``: the source is-a the
  target), so an R5 map works unchanged.
- Targets ``unmatched`` and ``disjoint`` are dropped: such a source code stays
  unrecognised. An element whose targets are all dropped has no entry.
- ``group.unmapped`` is not applied: a code the map does not list stays
  unrecognised (never guessed).
- A group needs its ``source`` system, and its ``target`` system as soon as one
  of its targets has a code (the skeleton ``eligo terms coverage
  --emit-conceptmap`` writes has none yet, so it loads unchanged).

Anything else wrong is a :class:`~eligo.errors.CodeMapError` naming the file and
the JSON location, e.g. ``group[0].element[3].target[0]: equivalence 'sameish'
is not a FHIR ConceptMapEquivalence``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import URIRef

from eligo.errors import CodeMapError
from eligo.ingest import check_size
from eligo.ingest.fhir_codes import code_iri
from eligo.ingest.fhir_json import read_text


class Relationship(enum.Enum):
    """How a target relates to its source code: the FHIR R4 ConceptMapEquivalence values."""

    RELATEDTO = "relatedto"
    EQUIVALENT = "equivalent"
    EQUAL = "equal"
    WIDER = "wider"
    SUBSUMES = "subsumes"
    NARROWER = "narrower"
    SPECIALIZES = "specializes"
    INEXACT = "inexact"
    UNMATCHED = "unmatched"
    DISJOINT = "disjoint"

    @property
    def counts_as_target(self) -> bool:
        """The source code is (is-a) the target: it counts wherever the target counts."""
        return self in _IS_A

    @property
    def possibly_target(self) -> bool:
        """The source code may or may not be the target (the target is narrower, or only related)."""
        return self in _MAYBE


_IS_A = frozenset({Relationship.EQUIVALENT, Relationship.EQUAL, Relationship.WIDER, Relationship.SUBSUMES})
_MAYBE = frozenset({Relationship.NARROWER, Relationship.SPECIALIZES, Relationship.RELATEDTO, Relationship.INEXACT})
_DROPPED = frozenset({Relationship.UNMATCHED, Relationship.DISJOINT})
#: FHIR R5 ConceptMapRelationship -> the R4 equivalence with the same meaning.
R5_RELATIONSHIPS: dict[str, Relationship] = {
    "related-to": Relationship.RELATEDTO,
    "equivalent": Relationship.EQUIVALENT,
    "source-is-narrower-than-target": Relationship.WIDER,
    "source-is-broader-than-target": Relationship.NARROWER,
    "not-related-to": Relationship.DISJOINT,
}


@dataclass(frozen=True, slots=True)
class MapTarget:
    """One target of a source code."""

    code: URIRef  # code_iri(target system, target code)
    relationship: Relationship
    display: str | None


@dataclass(frozen=True, slots=True)
class CodeMap:
    """A site's code map, read from a FHIR ConceptMap (picklable: it travels to worker processes)."""

    name: str  # ConceptMap.name, else .title, else .url, else the file name
    source: str  # the file path as given
    entries: Mapping[URIRef, tuple[MapTarget, ...]]  # source code IRI -> its targets (unmatched/disjoint dropped)

    def targets(self, code: URIRef) -> tuple[MapTarget, ...]:
        """The targets of ``code``; empty when the map does not list it."""
        return self.entries.get(code, ())


def load_code_map(path: Path) -> CodeMap:
    """Read a FHIR R4 (or R5) ConceptMap JSON file; a problem is a CodeMapError naming file and location."""
    check_size(path)
    text = read_text(path)  # missing, empty, not UTF-8: an InputError naming the file
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodeMapError(f"not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}", source=str(path)) from exc
    except (RecursionError, ValueError) as exc:
        raise CodeMapError(f"unreadable JSON ({type(exc).__name__})", source=str(path)) from exc
    return _Reader(str(path)).read(doc, fallback_name=path.name)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Walks a ConceptMap document; anything wrong is a CodeMapError naming its JSON location."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.entries: dict[URIRef, list[MapTarget]] = {}

    def items(self, holder: dict[str, Any], key: str, where: str) -> list[tuple[str, dict[str, Any]]]:
        """The objects of an array element, each with its location; absent reads as empty."""
        value = holder.get(key, [])
        here = f"{where}.{key}" if where else key
        if not isinstance(value, list):
            raise CodeMapError(f"{here}: is not a list ({_shown(value)})", source=self.source)
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise CodeMapError(f"{here}[{i}]: is not an object ({_shown(item)})", source=self.source)
            out.append((f"{here}[{i}]", item))
        return out

    def string(self, holder: dict[str, Any], key: str, where: str) -> str | None:
        """A non-empty string element; absent is None; anything else is an error."""
        value = holder.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise CodeMapError(f"{where}: {key} {_shown(value)} is not a non-empty string", source=self.source)
        return value

    def read(self, doc: Any, *, fallback_name: str) -> CodeMap:
        if not isinstance(doc, dict) or doc.get("resourceType") != "ConceptMap":
            found = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
            raise CodeMapError(f"not a FHIR ConceptMap (resourceType {_shown(found)})", source=self.source)
        name = next((v for k in ("name", "title", "url") if isinstance(v := doc.get(k), str) and v.strip()),
                    fallback_name)
        for where, group in self.items(doc, "group", ""):
            self.group(group, where)
        return CodeMap(name=name, source=self.source, entries={k: tuple(v) for k, v in self.entries.items()})

    def group(self, group: dict[str, Any], where: str) -> None:
        system = self.string(group, "source", where)
        if system is None:
            raise CodeMapError(f"{where}: no source system (group.source), so its codes cannot be named",
                               source=self.source)
        target_system = self.string(group, "target", where)
        for e_where, element in self.items(group, "element", where):
            code = self.string(element, "code", e_where)
            if code is None:
                raise CodeMapError(f"{e_where}: no code", source=self.source)
            targets = [t for t_where, target in self.items(element, "target", e_where)
                       if (t := self.target(target, t_where, target_system)) is not None]
            if targets:
                self.entries.setdefault(code_iri(system, code), []).extend(targets)

    def target(self, target: dict[str, Any], where: str, system: str | None) -> MapTarget | None:
        relationship = self.relationship(target, where)
        code = self.string(target, "code", where)
        if relationship in _DROPPED:
            return None
        if code is None:
            raise CodeMapError(f"{where}: no code (only an unmatched or disjoint target may leave it out; this one "
                               f"is {relationship.value})", source=self.source)
        if system is None:
            raise CodeMapError(f"{where}: code {code!r} has no system: the group has no target system "
                               "(group.target)", source=self.source)
        display = target.get("display")
        return MapTarget(code_iri(system, code), relationship, display if isinstance(display, str) else None)

    def relationship(self, target: dict[str, Any], where: str) -> Relationship:
        if "equivalence" in target:
            value = target["equivalence"]
            try:
                return Relationship(value)
            except ValueError:
                raise CodeMapError(f"{where}: equivalence {_shown(value)} is not a FHIR ConceptMapEquivalence "
                                   f"({', '.join(r.value for r in Relationship)})", source=self.source) from None
        if "relationship" in target:
            value = target["relationship"]
            found = R5_RELATIONSHIPS.get(value) if isinstance(value, str) else None
            if found is None:
                raise CodeMapError(f"{where}: relationship {_shown(value)} is not a FHIR R5 "
                                   f"ConceptMapRelationship ({', '.join(R5_RELATIONSHIPS)})", source=self.source)
            return found
        raise CodeMapError(f"{where}: no equivalence (FHIR R4) or relationship (R5)", source=self.source)
