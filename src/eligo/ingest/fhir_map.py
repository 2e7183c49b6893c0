"""The one mapping from FHIR R4 resources to the eligo patient graph: which resources are the patient's
records, read once each, whatever their order (the elements of each record: :mod:`eligo.ingest.fhir_records`).

A resource that cannot be mapped is reported (type and id), never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any, overload
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef

from eligo.errors import PatientGraphError
from eligo.ingest.fhir_codes import code_iri
from eligo.ingest.fhir_identity import (
    CONTEXT_TYPES,
    SHARED_TYPES,
    content_digest,
    resource_id,
    source_id,
    subject_reference,
)
from eligo.ingest.fhir_json import Located
from eligo.ingest.fhir_medications import map_medication
from eligo.ingest.fhir_records import MEDICATION_TYPES, PATIENT_NS, Mapping, ResourceMapper, array_of
from eligo.model import ELIGO
from eligo.model import RDF_TERMS as RDF
from eligo.notices import DataWarning, WarningKind
from eligo.triples import Triples

__all__ = ["Mapping", "code_iri", "map_patient"]


def _short_digest(res: dict[str, Any]) -> str:
    """The content digest, shortened for node IRIs and source ids."""
    return content_digest(res)[:12]


def _identity(r: Located) -> str:
    """The source id of a resource: ``Type/id``; without an id, its fullUrl; else a content digest."""
    rtype = r.resource["resourceType"]
    rid = resource_id(r.resource)
    if rid is not None:
        return f"{rtype}/{rid}"
    if isinstance(r.full_url, str) and r.full_url.strip():
        return r.full_url
    return f"{rtype}/#{_short_digest(r.resource)}"


@lru_cache(maxsize=64)  # resource types: a handful
def _segment(text: str) -> str:
    return quote(text, safe="")


@overload
def map_patient(resources: list[Located], *, source: str, into: None = None) -> Mapping[Graph]: ...


@overload
def map_patient(resources: list[Located], *, source: str, into: Triples) -> Mapping[Triples]: ...


def map_patient(resources: list[Located], *, source: str, into: Triples | None = None) -> Mapping[Any]:
    """Map the resources of exactly one patient to an eligo graph.

    The result does not depend on the order of ``resources``: identical copies of a resource are read
    once; different resources that share an id are all read, as separate records, with a warning.
    ``into`` is the (empty) graph to write, by default a new rdflib ``Graph``; the batch engine passes a
    :class:`eligo.triples.Triples`.
    """
    digests = {id(r.resource): _short_digest(r.resource) for r in resources}  # one canonical JSON each
    patients = [r for r in resources if r.resource["resourceType"] == "Patient"]
    distinct = {digests[id(p.resource)]: p for p in patients}
    if not patients:
        raise PatientGraphError("no Patient resource; a file for `eligo check` must hold one patient",
                                source=source)
    if len(distinct) > 1:
        ids = sorted({source_id(p.resource) for p in distinct.values()})
        if len(ids) == 1:
            places = ", ".join(sorted(p.where for p in distinct.values()))
            raise PatientGraphError(f"{ids[0]} appears {len(distinct)} times with different content ({places}); "
                                    "keep one version of the patient", source=source)
        raise PatientGraphError(f"{len(ids)} Patient resources ({', '.join(ids[:3])}); `eligo check` screens one "
                                "patient per file (use `eligo screen` for populations)", source=source)
    pres = patients[0].resource  # the copies are identical
    full_urls = sorted({p.full_url for p in patients if isinstance(p.full_url, str) and p.full_url})
    pid = resource_id(pres) or (full_urls[0] if full_urls else "patient")
    g: Graph | Triples = Graph() if into is None else into
    patient_iri = f"{PATIENT_NS}{quote(pid, safe='')}"
    patient = URIRef(patient_iri)
    m: Mapping[Any] = Mapping(g, patient, pid)
    if len(patients) > 1:
        m.warnings.append(DataWarning(WarningKind.DUPLICATE_RESOURCES,
                                      f"{len(patients)} identical copies in the input; read once", f"Patient/{pid}"))
    g.add((patient, RDF.type, ELIGO.Patient))
    g.add((patient, ELIGO.sourceId, Literal(f"Patient/{pid}")))
    if isinstance(pres.get("gender"), str):
        g.add((patient, ELIGO.gender, Literal(pres["gender"])))
    by_ref: dict[str, dict[str, Any]] = {}
    for r in sorted(resources, key=lambda r: digests[id(r.resource)]):  # by content: independent of input order
        res = r.resource
        rid = resource_id(res)
        if rid is not None:
            by_ref.setdefault(f"{res['resourceType']}/{rid}", res)
        if isinstance(r.full_url, str) and r.full_url:
            by_ref.setdefault(r.full_url, res)
        for contained in array_of(res.get("contained")):
            cid = resource_id(contained) if isinstance(contained, dict) else None
            if cid is not None:
                by_ref.setdefault(f"#{cid}", contained)
                by_ref.setdefault(cid, contained)
    mapper = ResourceMapper(m, by_ref)
    mapper.add_date(patient, ELIGO.birthDate, pres, pres.get("birthDate"), "birthDate")
    patient_refs = {f"Patient/{pid}", *full_urls}
    handlers: dict[str, Callable[[dict[str, Any]], None]] = {
        "Condition": mapper.condition, "Observation": mapper.observation, "Procedure": mapper.procedure,
        "Immunization": mapper.immunization, "Consent": mapper.consent,
        **{t: partial(map_medication, mapper) for t in MEDICATION_TYPES}}
    # group the records by source id: identical copies are read once, different ones sharing an id all count
    groups: dict[tuple[str, str], dict[str, Located]] = {}
    occurrences: dict[tuple[str, str], int] = {}
    for r in resources:
        rtype = r.resource["resourceType"]
        if rtype == "Patient" or rtype in SHARED_TYPES or rtype in CONTEXT_TYPES:
            continue
        if rtype not in handlers:
            m.skipped.setdefault(rtype, []).append(_identity(r))
            continue
        key = (rtype, _identity(r))
        groups.setdefault(key, {}).setdefault(digests[id(r.resource)], r)
        occurrences[key] = occurrences.get(key, 0) + 1
    for (rtype, sid), copies in sorted(groups.items()):
        local = sid[len(rtype) + 1:] if sid.startswith(f"{rtype}/") else sid
        base = f"{patient_iri}/{_segment(rtype)}/{quote(local, safe='')}"
        if len(copies) > 1:
            places = ", ".join(sorted(c.where for c in copies.values()))
            m.warnings.append(DataWarning(WarningKind.DUPLICATE_RESOURCES,
                                          f"{len(copies)} different resources share this id ({places}); each is "
                                          "read as a separate record", sid))
        if occurrences[(rtype, sid)] > len(copies):
            m.warnings.append(DataWarning(WarningKind.DUPLICATE_RESOURCES,
                                          f"{occurrences[(rtype, sid)] - len(copies)} identical duplicate(s) in the "
                                          "input; read once", sid))
        for digest, r in sorted(copies.items()):
            res = r.resource
            ref = subject_reference(res)
            if ref is None:
                m.warnings.append(DataWarning(WarningKind.NOT_THE_PATIENTS,
                                              f"{sid} ({r.where}): no subject/patient reference; not used"))
                continue
            if ref not in patient_refs:
                m.warnings.append(DataWarning(WarningKind.NOT_THE_PATIENTS,
                                              f"{sid} ({r.where}): refers to {ref}, not to the patient; not used"))
                continue
            mapper.node_of[id(res)] = URIRef(f"{base}~{digest}" if len(copies) > 1 else base)
            mapper.sid_of[id(res)] = sid
            handlers[rtype](res)
    for rtype, ids in sorted(m.skipped.items()):
        ids = sorted(ids)
        m.warnings.append(DataWarning(WarningKind.RESOURCE_TYPE_NOT_READ,
                                      f"{len(ids)} {rtype} resource(s) not mapped (eligo does not read {rtype}): "
                                      + ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")))
    return m
