"""The term module: grouping classes, their member codes, and the hierarchy.

Source files: ``ontology/model.ttl`` and ``ontology/terms/*.ttl`` (each code an
``owl:Class`` under a grouping class, with ``rdfs:label`` and ``eligo:source``).
``eligo ontology check`` reasons over them with HermiT and writes the
materialised hierarchy ``ontology/generated/hierarchy.ttl``, which is what the
validator uses; :func:`inputs_digest` tells whether that file is stale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS

from eligo.errors import TermModuleError
from eligo.model import ELIGO
from eligo.paths import ONTOLOGY_DIR

HIERARCHY_FILE = Path("generated") / "hierarchy.ttl"
DIGEST_MARK = "# inputs-sha256: "


def source_files(ontology_dir: Path = ONTOLOGY_DIR) -> list[Path]:
    """The hand-written ontology files, in a stable order."""
    files = [ontology_dir / "model.ttl", *sorted((ontology_dir / "terms").glob("*.ttl"))]
    return [f for f in files if f.is_file()]


def inputs_digest(ontology_dir: Path = ONTOLOGY_DIR) -> str:
    """SHA-256 over the source files' names and bytes."""
    h = hashlib.sha256()
    for f in source_files(ontology_dir):
        h.update(f.relative_to(ontology_dir).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def load_sources(ontology_dir: Path = ONTOLOGY_DIR) -> Graph:
    """Parse the model and every term file into one graph."""
    g = Graph()
    for f in source_files(ontology_dir):
        try:
            g.parse(f, format="turtle")
        except Exception as exc:  # rdflib raises many types for bad Turtle
            raise TermModuleError(f"cannot parse: {exc}", source=str(f)) from exc
    return g


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """The unit a grouping class's quantities are compared in."""

    group: URIRef
    canonical_unit: str
    molar_mass: Decimal | None


class TermModule:
    """Read-only view of the term module and its materialised hierarchy."""

    def __init__(self, sources: Graph, ancestors: dict[URIRef, frozenset[URIRef]]) -> None:
        self._sources = sources
        self._ancestors = ancestors
        self._units: dict[URIRef, UnitSpec] = {}
        for group, unit in sources.subject_objects(ELIGO.canonicalUnit):
            if not isinstance(group, URIRef):
                continue
            mm = sources.value(group, ELIGO.molarMass)
            molar: Decimal | None = None
            if mm is not None:
                try:
                    molar = Decimal(str(mm))
                except InvalidOperation as exc:
                    raise TermModuleError(f"eligo:molarMass of {group} is not a number") from exc
            self._units[group] = UnitSpec(group, str(unit), molar)

    @classmethod
    def load(cls, ontology_dir: Path = ONTOLOGY_DIR, *, require_fresh: bool = True) -> TermModule:
        """Load sources and the generated hierarchy.

        With ``require_fresh`` a hierarchy older than its sources is an error
        (run ``eligo ontology check``).
        """
        sources = load_sources(ontology_dir)
        path = ontology_dir / HIERARCHY_FILE
        if not path.is_file():
            raise TermModuleError(
                "the materialised hierarchy is missing; run `eligo ontology check`",
                source=str(path),
            )
        text = path.read_text(encoding="utf-8")
        if require_fresh:
            recorded = next(
                (ln[len(DIGEST_MARK):].strip() for ln in text.splitlines()
                 if ln.startswith(DIGEST_MARK)),
                None,
            )
            if recorded != inputs_digest(ontology_dir):
                raise TermModuleError(
                    "the materialised hierarchy is stale (term files changed since it was "
                    "generated); run `eligo ontology check`",
                    source=str(path),
                )
        hierarchy = Graph().parse(data=text, format="turtle")
        ancestors: dict[URIRef, set[URIRef]] = {}
        for code, group in hierarchy.subject_objects(RDFS.subClassOf):
            if isinstance(code, URIRef) and isinstance(group, URIRef):
                ancestors.setdefault(code, {code}).add(group)
        return cls(sources, {c: frozenset(a) for c, a in ancestors.items()})

    def is_known(self, code: URIRef) -> bool:
        return code in self._ancestors

    def ancestors(self, code: URIRef) -> frozenset[URIRef]:
        """Every class above ``code`` in the hierarchy, ``code`` included."""
        return self._ancestors.get(code, frozenset({code}))

    def label(self, code: URIRef) -> str | None:
        value = self._sources.value(code, RDFS.label)
        return str(value) if isinstance(value, Literal) else None

    def unit_for(self, code: URIRef) -> UnitSpec | None:
        """The canonical unit of the first grouping class above ``code`` that has one."""
        for group in sorted(self.ancestors(code)):
            spec = self._units.get(group)
            if spec is not None:
                return spec
        return None

    @property
    def codes(self) -> frozenset[URIRef]:
        return frozenset(self._ancestors)

    @property
    def sources(self) -> Graph:
        return self._sources
