"""How the generated docs name terms: prefixed names, a grouping class's member codes, the term IRIs a
criterion reads. Shared by the criteria catalogue and the data requirements."""

from __future__ import annotations

from rdflib import URIRef

from eligo.authoring.ontology_check import is_code
from eligo.model import PREFIXES, TERM_NAMESPACES
from eligo.terms import TermModule
from eligo.trial import Criterion, Trial


def curie(iri: URIRef, extra: dict[str, str] | None = None) -> str:
    """A prefixed name with eligo's prefixes (and a trial's own, in ``extra``)."""
    for p, ns in [*((k, str(v)) for k, v in PREFIXES.items()), *(extra or {}).items()]:
        if str(iri).startswith(ns):
            return f"{p}:{str(iri)[len(ns):]}"
    return f"<{iri}>"


def members(terms: TermModule, group: URIRef) -> list[URIRef]:
    """The codes filed under a grouping class (not the grouping classes below it)."""
    return sorted((c for c in terms.codes if group in terms.ancestors(c) and c != group and is_code(c)), key=str)


def terms_read(trial: Trial, c: Criterion) -> list[URIRef]:
    """The term-module IRIs (grouping classes and codes) a criterion's shapes and rules name."""
    return sorted((i for i in trial.reads(c.id) if str(i).startswith(TERM_NAMESPACES)), key=str)


__all__ = ["curie", "members", "terms_read"]
