"""The term module: grouping classes, their member codes, and the hierarchy.

Source files: ``ontology/model.ttl`` and ``ontology/terms/*.ttl`` (each code an
``owl:Class`` under a grouping class, with ``rdfs:label`` and ``eligo:source``).
``eligo ontology check`` reasons over them with HermiT and writes the
materialised hierarchy ``ontology/generated/hierarchy.ttl``, which is what the
validator uses; :func:`inputs_digest` tells whether that file is stale.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from eligo.cache import cached, files_digest
from eligo.errors import TermModuleError
from eligo.model import ELIGO
from eligo.paths import ONTOLOGY_DIR

if TYPE_CHECKING:
    from eligo.codemap import CodeMap

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


@dataclass(frozen=True, slots=True)
class PrefixHierarchy:
    """A code system whose codes carry their hierarchy (``eligo:CodeHierarchy`` in the term module):
    a code the term module lists covers every code that extends it (ICD-10-CM I50 covers I50.32)."""

    namespace: str
    min_length: int
    ignored_trailing: str
    label: str

    def parents(self, code: URIRef) -> Iterator[URIRef]:
        """The shorter codes that ``code`` extends, nearest first, never shorter than ``min_length``."""
        local = str(code)[len(self.namespace):]
        while len(local) > self.min_length:
            local = local[:-1].rstrip(self.ignored_trailing)
            if len(local) < self.min_length:
                return
            yield URIRef(self.namespace + local)


@dataclass(frozen=True, slots=True)
class Recognition:
    """How a code was recognised: directly, through a category it extends, or through a site's code map."""

    code: URIRef
    via: URIRef | None = None
    code_map: str | None = None
    hierarchy: str | None = None


@dataclass(frozen=True, slots=True)
class NameScreen:
    """Names that make a record with unrecognised codes a possible member of ``group``
    (``eligo:nameSynonym``), also when its codes only say one of ``confusable`` (``eligo:confusableWith``)."""

    group: URIRef
    names: tuple[str, ...]
    confusable: frozenset[URIRef]
    pattern: re.Pattern[str]

    def find(self, text: str) -> str | None:
        """The first name that ``text`` mentions as a whole word, case-insensitively."""
        m = self.pattern.search(text)
        return m.group(0) if m else None


_SEPARATOR = re.compile(r"\\[ \-]")  # an escaped space or hyphen in a re.escape()d name


def _name_screens(sources: Graph) -> tuple[NameScreen, ...]:
    out = []
    for group in sorted({g for g in sources.subjects(ELIGO.nameSynonym, None) if isinstance(g, URIRef)}):
        names = tuple(sorted({str(n).strip().lower() for n in sources.objects(group, ELIGO.nameSynonym)
                              if str(n).strip()}, key=lambda n: (-len(n), n)))
        confusable = frozenset(c for c in sources.objects(group, ELIGO.confusableWith) if isinstance(c, URIRef))
        alternatives = "|".join(_SEPARATOR.sub(lambda _m: r"[\s\-]*", re.escape(n)) for n in names)
        pattern = re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)
        out.append(NameScreen(group, names, confusable, pattern))
    return tuple(out)


def _hierarchies(sources: Graph) -> tuple[PrefixHierarchy, ...]:
    out = []
    for node in sorted(set(sources.subjects(RDF.type, ELIGO.CodeHierarchy)), key=str):
        ns = sources.value(node, ELIGO.codeNamespace)
        length = sources.value(node, ELIGO.minCodeLength)
        if ns is None or length is None:
            raise TermModuleError(f"{node}: an eligo:CodeHierarchy needs eligo:codeNamespace and "
                                  "eligo:minCodeLength")
        trailing = sources.value(node, ELIGO.ignoredTrailing)
        label = sources.value(node, RDFS.label)
        out.append(PrefixHierarchy(str(ns), int(str(length)), str(trailing or ""), str(label or node)))
    return tuple(sorted(out, key=lambda h: -len(h.namespace)))


class TermModule:
    """Read-only view of the term module and its materialised hierarchy."""

    def __init__(self, sources: Graph, ancestors: dict[URIRef, frozenset[URIRef]], *,
                 code_map: CodeMap | None = None) -> None:
        self._sources = sources
        self._ancestors = ancestors
        self._code_map = code_map
        self._hierarchies = _hierarchies(sources)
        self._name_screens = _name_screens(sources)
        self._recognised: dict[URIRef, Recognition | None] = {}
        self._ancestor_sets: dict[URIRef, frozenset[URIRef]] = {}
        self._labels: dict[URIRef, str | None] = {}
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
    def load(cls, ontology_dir: Path = ONTOLOGY_DIR, *, require_fresh: bool = True,
             cache_dir: Path | None = None) -> TermModule:
        """Load sources and the generated hierarchy.

        With ``require_fresh`` a hierarchy older than its sources is an error
        (run ``eligo ontology check``). With ``cache_dir``, reuse the term module
        loaded from the same files before (see :mod:`eligo.cache`).
        """
        if cache_dir is not None:
            files = [*source_files(ontology_dir), ontology_dir / HIERARCHY_FILE]
            return cached(cache_dir, "terms", ontology_dir, f"{require_fresh}\0{files_digest(files, ontology_dir)}",
                          cls, lambda: cls.load(ontology_dir, require_fresh=require_fresh))
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

    def with_code_map(self, code_map: CodeMap | None) -> TermModule:
        """The same term module, reading a site's local codes through ``code_map``."""
        if code_map is None and self._code_map is None:
            return self
        return TermModule(self._sources, self._ancestors, code_map=code_map)

    @property
    def code_map(self) -> CodeMap | None:
        return self._code_map

    def recognise(self, code: URIRef) -> Recognition | None:
        """How ``code`` is recognised, or None: listed in the term module; else mapped by the site's code
        map to codes that count as their target (equivalent, equal, wider); else through the nearest
        category it extends in a code system whose codes carry their hierarchy."""
        try:
            return self._recognised[code]
        except KeyError:
            pass
        found: Recognition | None = None
        if code in self._ancestors:
            found = Recognition(code)
        if found is None and self._code_map is not None:
            for target in self._code_map.targets(code):
                if target.relationship.counts_as_target and self._base(target.code) is not None:
                    found = Recognition(code, via=target.code, code_map=self._code_map.name)
                    break
        if found is None:
            base = self._base(code)
            if base is not None and base != code:
                hierarchy = next(h.label for h in self._hierarchies if str(code).startswith(h.namespace))
                found = Recognition(code, via=base, hierarchy=hierarchy)
        self._recognised[code] = found
        return found

    def _base(self, code: URIRef) -> URIRef | None:
        """``code`` itself when listed, else the nearest listed category it extends."""
        if code in self._ancestors:
            return code
        for h in self._hierarchies:
            if str(code).startswith(h.namespace):
                return next((p for p in h.parents(code) if p in self._ancestors), None)
        return None

    def is_known(self, code: URIRef) -> bool:
        return self.recognise(code) is not None

    def ancestors(self, code: URIRef) -> frozenset[URIRef]:
        """Every class above ``code`` in the hierarchy, ``code`` included; for a code recognised through a
        code map, the union over every target that counts as it."""
        found = self._ancestor_sets.get(code)
        if found is None:
            found = self._ancestor_sets[code] = self._find_ancestors(code)
        return found

    def _find_ancestors(self, code: URIRef) -> frozenset[URIRef]:
        rec = self.recognise(code)
        if rec is None:
            return frozenset({code})
        if rec.code_map is not None and self._code_map is not None:
            found = {code}
            for target in self._code_map.targets(code):
                base = self._base(target.code) if target.relationship.counts_as_target else None
                if base is not None:
                    found |= self._ancestors[base]
            return frozenset(found)
        return self._ancestors[rec.via or code] | {code}

    def possible_groups(self, code: URIRef) -> frozenset[URIRef]:
        """The classes a code may or may not belong to by the site's code map (narrower, specializes,
        related-to, inexact targets): never counted as membership, only as a reason for doubt."""
        if self._code_map is None:
            return frozenset()
        found: set[URIRef] = set()
        for target in self._code_map.targets(code):
            if target.relationship.possibly_target and (base := self._base(target.code)) is not None:
                found |= self._ancestors[base]
        return frozenset(found)

    @property
    def name_screens(self) -> tuple[NameScreen, ...]:
        return self._name_screens

    def label(self, code: URIRef) -> str | None:
        try:
            return self._labels[code]
        except KeyError:
            found = self._labels[code] = self._find_label(code)
            return found

    def _find_label(self, code: URIRef) -> str | None:
        value = self._sources.value(code, RDFS.label)
        if isinstance(value, Literal):
            return str(value)
        rec = self.recognise(code)
        if rec is None or rec.via is None:
            return None
        base = self.label(rec.via) or str(rec.via)
        if rec.code_map is not None:
            return f"{base} (local code {_local(code)} via code map {rec.code_map})"
        return f"{base} ({_local(code)}, under {_local(rec.via)})"

    def unit_for(self, code: URIRef) -> UnitSpec | None:
        """The canonical unit of the first grouping class above ``code`` that has one."""
        for group in sorted(self.ancestors(code)):
            spec = self._units.get(group)
            if spec is not None:
                return spec
        return None

    @property
    def hierarchies(self) -> tuple[PrefixHierarchy, ...]:
        return self._hierarchies

    @property
    def codes(self) -> frozenset[URIRef]:
        return frozenset(self._ancestors)

    @property
    def sources(self) -> Graph:
        return self._sources


def _local(code: URIRef) -> str:
    """The code part of a code IRI, for messages."""
    text = str(code)
    for sep in ("#", "/"):
        if sep in text:
            text = text.rsplit(sep, 1)[1]
            break
    return text
