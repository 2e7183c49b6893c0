"""Reading patient files: FHIR R4 JSON (Bundle, resource, NDJSON) or RDF in the eligo model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from eligo.errors import InputError
from eligo.ingest.fhir_json import is_fhir, load_json_file, read_fhir_file, resources_from_document
from eligo.ingest.fhir_map import map_patient
from eligo.ingest.rdf import read_rdf
from eligo.notices import DataWarning

#: A patient file is read whole (one patient's graph is built in memory); a larger file is refused
#: before anything is read. Populations go through `eligo screen`, which streams NDJSON.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PatientInput:
    """One patient's graph in the eligo model, with what reading it noticed."""

    graph: Graph
    source: str
    warnings: tuple[DataWarning, ...]


def check_size(path: Path, limit: int | None = None, *, what: str = "a patient file",
               advice: str = ". A file this large is a population: screen it with `eligo screen` (which streams "
                             "FHIR Bulk Data NDJSON), or split it") -> None:
    """Refuse a file over ``limit`` bytes (default :data:`MAX_DOCUMENT_BYTES`), naming its size, before reading
    it (``what`` is read whole)."""
    limit = MAX_DOCUMENT_BYTES if limit is None else limit
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("no such file", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", source=str(path)) from exc
    if size > limit:
        raise InputError(f"the file is {size / 2**20:.0f} MB; {what} is read whole and may be at most "
                         f"{limit // 2**20} MB{advice}", source=str(path))


def read_patient(path: Path) -> PatientInput:
    """Read one patient from a FHIR JSON file (Bundle, resource or NDJSON) or an RDF file."""
    check_size(path)
    suffix = path.suffix.lower()
    if suffix == ".ndjson":
        m = map_patient(read_fhir_file(path), source=str(path))
        return PatientInput(m.graph, str(path), tuple(m.warnings))
    if suffix == ".json":
        doc = load_json_file(path)
        if is_fhir(doc):
            m = map_patient(list(resources_from_document(doc, str(path))), source=str(path))
            return PatientInput(m.graph, str(path), tuple(m.warnings))
    return PatientInput(read_rdf(path), str(path), ())


__all__ = ["MAX_DOCUMENT_BYTES", "PatientInput", "check_size", "read_patient", "read_rdf"]
