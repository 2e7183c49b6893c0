"""Write an eligo patient graph as a FHIR R4 collection Bundle.

The inverse of :mod:`eligo.ingest.fhir_map` for everything the model holds.
Used to produce FHIR forms of RDF fixtures (so every criterion is tested on
FHIR input too), and by the synthetic population generator.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from eligo.errors import PatientGraphError
from eligo.ingest.fhir_codes import ICDO3_SYSTEM
from eligo.ingest.fhir_records import EXT_EVIDENCE_TYPE, EXT_HISTOLOGY, EXT_INTENT, MEDICATION_TYPES
from eligo.model import CODE_SYSTEMS, ELIGO

_REVERSE = sorted(((str(ns), system) for system, ns in CODE_SYSTEMS.items()), key=lambda x: -len(x[0]))
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
UCUM = "http://unitsofmeasure.org"


def coding(iri: Node) -> dict[str, str]:
    text = str(iri)
    for ns, system in _REVERSE:
        if text.startswith(ns):
            code = unquote(text[len(ns):])
            if system == ICDO3_SYSTEM:
                code = code.replace("-", "/")
            return {"system": system, "code": code}
    system, _, code = text.rpartition("#")
    return {"system": system, "code": unquote(code)}


def _cc(g: Graph, node: Node, prop: URIRef) -> dict[str, Any] | None:
    codes = sorted(g.objects(node, prop), key=str)
    texts = sorted(str(t) for t in g.objects(node, ELIGO.codeText)) if prop == ELIGO.code else []
    if not codes and not texts:
        return None
    cc: dict[str, Any] = {"coding": [coding(c) for c in codes]} if codes else {}
    if texts:
        cc["text"] = texts[0]
    return cc


def _text(g: Graph, node: Node, prop: URIRef) -> str | None:
    v = g.value(node, prop)
    return str(v) if v is not None else None


def _number(lit: Literal) -> int | float:
    v = lit.toPython()
    if isinstance(v, bool):
        raise PatientGraphError(f"boolean where a number belongs: {lit!r}")
    if isinstance(v, int):
        return v
    d = Decimal(str(lit))
    return int(d) if d == d.to_integral_value() and "." not in str(lit) else float(d)


def _value(g: Graph, node: Node, out: dict[str, Any]) -> None:
    v = g.value(node, ELIGO.value)
    if isinstance(v, Literal):
        unit = _text(g, node, ELIGO.unit)
        if unit is None and v.datatype == XSD.integer:
            out["valueInteger"] = int(v)
        else:
            q: dict[str, Any] = {"value": _number(v)}
            if unit is not None:
                q.update({"unit": unit, "system": UCUM, "code": unit})
            out["valueQuantity"] = q
        return
    cc = _cc(g, node, ELIGO.valueCode)
    if cc:
        out["valueCodeableConcept"] = cc
    elif isinstance(b := g.value(node, ELIGO.valueBoolean), Literal):
        out["valueBoolean"] = bool(b.toPython())
    elif (s := g.value(node, ELIGO.valueString)) is not None:
        out["valueString"] = str(s)
    elif (d := g.value(node, ELIGO.valueDate)) is not None:
        out["valueDateTime"] = str(d)


def _time(g: Graph, node: Node, out: dict[str, Any], prefix: str) -> None:
    date, start, end = (_text(g, node, p) for p in (ELIGO.date, ELIGO.start, ELIGO.end))
    if start is not None or (end is not None and date is None):
        period = {k: v for k, v in (("start", start or date), ("end", end)) if v is not None}
        out[f"{prefix}Period"] = period
    elif date is not None:
        out[f"{prefix}DateTime"] = date


def _intent(g: Graph, node: Node, out: dict[str, Any]) -> None:
    cc = _cc(g, node, ELIGO.intent)
    if cc:
        out.setdefault("extension", []).append({"url": EXT_INTENT[0], "valueCodeableConcept": cc})


def _resource_id(sid: str, rtype: str, fallback: str) -> str:
    prefix = rtype + "/"
    return sid[len(prefix):] if sid.startswith(prefix) else fallback


def to_bundle(g: Graph) -> dict[str, Any]:
    """The patient graph as a FHIR collection Bundle (one Patient)."""
    patients = sorted(g.subjects(RDF.type, ELIGO.Patient), key=str)
    if len(patients) != 1:
        raise PatientGraphError(f"expected one eligo:Patient, found {len(patients)}")
    p = patients[0]
    pid = _resource_id(_text(g, p, ELIGO.sourceId) or "patient", "Patient", "patient")
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if (gender := _text(g, p, ELIGO.gender)) is not None:
        patient["gender"] = gender
    if (birth := _text(g, p, ELIGO.birthDate)) is not None:
        patient["birthDate"] = birth
    entries = [patient]
    ref = {"reference": f"Patient/{pid}"}
    records = sorted(g.subjects(ELIGO.subject, p), key=lambda n: (_text(g, n, ELIGO.sourceId) or "", str(n)))
    for i, rec in enumerate(records):
        cls = g.value(rec, RDF.type)
        sid = _text(g, rec, ELIGO.sourceId) or f"record-{i}"
        status = _text(g, rec, ELIGO.status)
        if cls == ELIGO.Condition:
            r: dict[str, Any] = {"resourceType": "Condition", "id": _resource_id(sid, "Condition", f"c{i}"),
                                 "subject": ref}
            if (cs := _text(g, rec, ELIGO.clinicalStatus)) is not None:
                r["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": cs}]}
            if (vs := _text(g, rec, ELIGO.verificationStatus)) is not None:
                r["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": vs}]}
            for key, prop in (("code", ELIGO.code), ("severity", ELIGO.severity)):
                if (cc := _cc(g, rec, prop)) is not None:
                    r[key] = cc
            if (cc := _cc(g, rec, ELIGO.bodySite)) is not None:
                r["bodySite"] = [cc]
            if (cc := _cc(g, rec, ELIGO.histology)) is not None:
                r["extension"] = [{"url": EXT_HISTOLOGY, "valueCodeableConcept": cc}]
            if (d := _text(g, rec, ELIGO.date)) is not None:
                r["onsetDateTime"] = d
            elif (s := _text(g, rec, ELIGO.start)) is not None:
                r["onsetDateTime"] = s
            if (e := _text(g, rec, ELIGO.end)) is not None:
                r["abatementDateTime"] = e
        elif cls in (ELIGO.Observation, ELIGO.Attestation):
            r = {"resourceType": "Observation", "id": _resource_id(sid, "Observation", f"o{i}"),
                 "status": status or "final", "subject": ref, "code": _cc(g, rec, ELIGO.code) or {"coding": []}}
            _time(g, rec, r, "effective")
            _value(g, rec, r)
            if isinstance(high := g.value(rec, ELIGO.referenceHigh), Literal):
                q: dict[str, Any] = {"value": _number(high)}
                if (unit := _text(g, rec, ELIGO.referenceHighUnit) or _text(g, rec, ELIGO.unit)) is not None:
                    q.update({"unit": unit, "system": UCUM, "code": unit})
                r["referenceRange"] = [{"high": q}]
            comps = []
            for comp in sorted(g.objects(rec, ELIGO.component), key=lambda c: str(_cc(g, c, ELIGO.code))):
                c: dict[str, Any] = {"code": _cc(g, comp, ELIGO.code) or {"coding": []}}
                _value(g, comp, c)
                comps.append(c)
            if comps:
                r["component"] = comps
            if (cc := _cc(g, rec, ELIGO.evidenceType)) is not None:
                r["extension"] = [{"url": EXT_EVIDENCE_TYPE, "valueCodeableConcept": cc}]
            if (who := _text(g, rec, ELIGO.performer)) is not None:
                r["performer"] = [{"display": who}]
            if (cc := _cc(g, rec, ELIGO.bodySite)) is not None:
                r["bodySite"] = cc
        elif cls == ELIGO.MedicationExposure:
            rtype = sid.split("/", 1)[0] if sid.split("/", 1)[0] in MEDICATION_TYPES else "MedicationStatement"
            r = {"resourceType": rtype, "id": _resource_id(sid, rtype, f"m{i}"),
                 "status": status or "completed", "subject": ref,
                 "medicationCodeableConcept": _cc(g, rec, ELIGO.code) or {"coding": []}}
            route = _cc(g, rec, ELIGO.route)
            if rtype == "MedicationRequest":
                r["intent"] = "order"
                if (d := _text(g, rec, ELIGO.date)) is not None:
                    r["authoredOn"] = d
                if route is not None:
                    r["dosageInstruction"] = [{"route": route}]
            else:
                _time(g, rec, r, "effective")
                if route is not None:
                    r["dosage"] = {"route": route} if rtype == "MedicationAdministration" else [{"route": route}]
            if (cc := _cc(g, rec, ELIGO.reason)) is not None:
                r["reasonCode"] = [cc]
            _intent(g, rec, r)
        elif cls == ELIGO.Procedure:
            r = {"resourceType": "Procedure", "id": _resource_id(sid, "Procedure", f"pr{i}"),
                 "status": status or "completed", "subject": ref, "code": _cc(g, rec, ELIGO.code) or {"coding": []}}
            _time(g, rec, r, "performed")
            if (cc := _cc(g, rec, ELIGO.bodySite)) is not None:
                r["bodySite"] = [cc]
            if (cc := _cc(g, rec, ELIGO.reason)) is not None:
                r["reasonCode"] = [cc]
            _intent(g, rec, r)
        elif cls == ELIGO.Immunization:
            r = {"resourceType": "Immunization", "id": _resource_id(sid, "Immunization", f"im{i}"),
                 "status": status or "completed", "patient": ref,
                 "vaccineCode": _cc(g, rec, ELIGO.code) or {"coding": []}}
            if (d := _text(g, rec, ELIGO.date)) is not None:
                r["occurrenceDateTime"] = d
        elif cls == ELIGO.Consent:
            r = {"resourceType": "Consent", "id": _resource_id(sid, "Consent", f"cs{i}"),
                 "status": status or "active", "patient": ref}
            if (scope := _text(g, rec, ELIGO.scope)) is not None:
                r["scope"] = {"coding": [{"system": CONSENT_SCOPE, "code": scope}]}
            if (d := _text(g, rec, ELIGO.date)) is not None:
                r["dateTime"] = d
            if (cc := _cc(g, rec, ELIGO.code)) is not None:
                r["provision"] = {"code": [cc]}
        else:
            raise PatientGraphError(f"{sid}: record class {cls} has no FHIR form")
        entries.append(r)
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{e['resourceType']}-{e['id']}", "resource": e} for e in entries]}
