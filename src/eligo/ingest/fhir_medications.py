"""Mapping medication resources (MedicationAdministration, MedicationStatement, MedicationRequest) to
eligo:MedicationExposure records: the agent from medicationCodeableConcept, or from the Medication a
medicationReference points to (its code and its ingredients' codes), the dates, routes and reasons.

Every element read here is listed in docs/data-requirements.md; the rest of the mapping is
:mod:`eligo.ingest.fhir_records`.
"""

from __future__ import annotations

from typing import Any

from rdflib import Literal, URIRef

from eligo.ingest.fhir_records import ResourceMapper, array_of, short
from eligo.model import ELIGO
from eligo.notices import DataWarning, WarningKind

__all__ = ["map_medication"]


def map_medication(mapper: ResourceMapper, res: dict[str, Any]) -> None:
    """One medication resource as an eligo:MedicationExposure."""
    n = mapper.record(res, ELIGO.MedicationExposure)
    if "medicationCodeableConcept" in res:
        mapper.add_code(n, res, res["medicationCodeableConcept"], "medicationCodeableConcept")
    elif "medicationReference" in res:
        mref = res["medicationReference"]
        ref = mref.get("reference") if isinstance(mref, dict) else None
        med = mapper.resolve(mref)
        display = mref.get("display") if isinstance(mref, dict) else None
        if isinstance(display, str) and display.strip():
            mapper.g.add((n, ELIGO.codeText, Literal(display.strip())))
        if med is None or med.get("resourceType") not in (None, "Medication"):
            mapper.problem(DataWarning(WarningKind.UNRESOLVED_REFERENCE,
                                       f"medicationReference {short(ref)} does not resolve to a Medication in the "
                                       "input; the agent is unknown", mapper.sid(res)))
        else:
            _medication_resource(mapper, n, res, med, "Medication")
    if res["resourceType"] == "MedicationRequest":
        mapper.add_date(n, ELIGO.date, res, res.get("authoredOn"), "authoredOn")
        dosages = array_of(res.get("dosageInstruction"))
    else:
        mapper.add_time(n, res, "effective")
        d = res.get("dosage")
        dosages = d if isinstance(d, list) else [d] if isinstance(d, dict) else []
    for d in dosages:
        if isinstance(d, dict):
            mapper.add_codes(n, ELIGO.route, res, d.get("route"), "dosage.route")
    for rc in array_of(res.get("reasonCode")):
        mapper.add_codes(n, ELIGO.reason, res, rc, "reasonCode")


def _medication_resource(mapper: ResourceMapper, n: URIRef, res: dict[str, Any], med: dict[str, Any], where: str,
                         depth: int = 0) -> None:
    """A Medication's code, and the codes of its ingredients (itemCodeableConcept, or itemReference to a
    Substance or Medication): a product recognised through its ingredient counts as the ingredient."""
    mapper.add_code(n, res, med.get("code"), f"{where}.code")
    for i, ing in enumerate(array_of(med.get("ingredient"))):
        if not isinstance(ing, dict):
            continue
        if "itemCodeableConcept" in ing:
            mapper.add_code(n, res, ing["itemCodeableConcept"], f"{where}.ingredient[{i}].itemCodeableConcept")
        elif "itemReference" in ing:
            item = mapper.resolve(ing["itemReference"])
            display = ing["itemReference"].get("display") if isinstance(ing["itemReference"], dict) else None
            if isinstance(display, str) and display.strip():
                mapper.g.add((n, ELIGO.codeText, Literal(display.strip())))
            if item is None:
                mapper.problem(DataWarning(WarningKind.UNRESOLVED_REFERENCE,
                                           f"{where}.ingredient[{i}].itemReference does not resolve in the input; "
                                           "that ingredient is unknown", mapper.sid(res)))
            elif item.get("resourceType") == "Medication" and depth < 3:
                _medication_resource(mapper, n, res, item, f"{where}.ingredient[{i}]", depth + 1)
            elif item.get("resourceType") == "Substance":
                mapper.add_code(n, res, item.get("code"), f"{where}.ingredient[{i}] Substance.code")
