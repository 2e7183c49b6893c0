"""FHIR codings as code IRIs: the one rule that turns ``system`` + ``code`` into the IRI the term module
files codes under."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from rdflib import URIRef

from eligo.model import CODE_SYSTEMS

ICDO3_SYSTEM = "http://terminology.hl7.org/CodeSystem/icd-o-3"


@lru_cache(maxsize=65536)  # a population repeats its codes endlessly; IRIs are immutable
def code_iri(system: str, code: str) -> URIRef:
    """The IRI of a FHIR coding; unknown systems keep ``system#code``."""
    system = system.rstrip("/")
    if system == ICDO3_SYSTEM:
        code = code.replace("/", "-")  # ICD-O-3 morphology 8500/3 -> icdo3:8500-3
    ns = CODE_SYSTEMS.get(system)
    local = quote(code, safe="-._~")
    return ns[local] if ns is not None else URIRef(f"{system}#{local}")
