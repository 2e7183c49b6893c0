"""Reading patient files: FHIR R4 JSON (Bundle, resource, NDJSON) or RDF in the eligo model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from eligo.ingest.fhir_json import looks_like_fhir_json, read_fhir_file
from eligo.ingest.fhir_map import map_patient
from eligo.ingest.rdf import read_rdf


@dataclass(frozen=True, slots=True)
class PatientInput:
    """One patient's graph in the eligo model, with what reading it noticed."""

    graph: Graph
    source: str
    warnings: tuple[str, ...]


def read_patient(path: Path) -> PatientInput:
    """Read one patient from a FHIR JSON file or an RDF file."""
    if looks_like_fhir_json(path):
        m = map_patient(read_fhir_file(path), source=str(path))
        return PatientInput(m.graph, str(path), tuple(m.warnings))
    return PatientInput(read_rdf(path), str(path), ())


__all__ = ["PatientInput", "read_patient", "read_rdf"]
