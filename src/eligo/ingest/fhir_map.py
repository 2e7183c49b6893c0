"""The one mapping from FHIR R4 resources to the eligo patient graph.

Every element read here is listed in docs/data-requirements.md. A resource
that cannot be mapped is reported (type and id), never silently dropped; a
malformed element is reported and skipped, the rest of the resource is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from eligo.errors import PatientGraphError
from eligo.ingest.fhir_json import Located
from eligo.model import CODE_SYSTEMS, ECODE, ELIGO

EXT_HISTOLOGY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
EXT_EVIDENCE_TYPE = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-disease-status-evidence-type"
EXT_INTENT = (
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-procedure-intent",
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-treatment-intent",
)
ATTESTATION_CODES = frozenset({
    "informed-consent", "life-expectancy-weeks", "liquid-biopsy-sampling-agreed",
    "not-amenable-to-curative-treatment", "brain-metastases-symptomatic",
    "recovered-from-brain-radiotherapy", "autoimmune-pulmonary-involvement",
})
MEDICATION_TYPES = ("MedicationAdministration", "MedicationStatement", "MedicationRequest")
IGNORED_TYPES = frozenset({"Medication", "Practitioner", "PractitionerRole", "Organization", "Encounter",
                           "Location", "Specimen", "DiagnosticReport", "Provenance", "Device"})
_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")
PATIENT_NS = "https://eligo.dev/patient/"
ICDO3_SYSTEM = "http://terminology.hl7.org/CodeSystem/icd-o-3"


def code_iri(system: str, code: str) -> URIRef:
    """The IRI of a FHIR coding; unknown systems keep ``system#code``."""
    system = system.rstrip("/")
    if system == ICDO3_SYSTEM:
        code = code.replace("/", "-")  # ICD-O-3 morphology 8500/3 -> icdo3:8500-3
    ns = CODE_SYSTEMS.get(system)
    local = quote(code, safe="-._~")
    return ns[local] if ns is not None else URIRef(f"{system}#{local}")


@dataclass
class Mapping:
    """The graph for one patient plus what the mapping noticed."""

    graph: Graph
    patient: URIRef
    patient_id: str
    warnings: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)


def _date_literal(value: Any) -> Literal | None:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return None
    if "T" in value:
        return Literal(value, datatype=XSD.dateTime)
    if len(value) == 10:
        return Literal(value, datatype=XSD.date)
    if len(value) == 7:
        return Literal(value, datatype=XSD.gYearMonth)
    return Literal(value, datatype=XSD.gYear)


class _ResourceMapper:
    """Maps the resources of one patient."""

    def __init__(self, m: Mapping, by_ref: dict[str, dict[str, Any]]) -> None:
        self.m = m
        self.g = m.graph
        self.by_ref = by_ref

    # ------------------------------------------------------------ helpers
    def warn(self, res: dict[str, Any], text: str) -> None:
        self.m.warnings.append(f"{_sid(res)}: {text}")

    def node(self, res: dict[str, Any]) -> URIRef:
        return URIRef(f"{PATIENT_NS}{quote(self.m.patient_id, safe='')}/{res['resourceType']}/"
                      f"{quote(str(res.get('id', id(res))), safe='')}")

    def codes(self, res: dict[str, Any], cc: Any, where: str) -> list[URIRef]:
        if cc is None:
            return []
        if not isinstance(cc, dict) or not isinstance(cc.get("coding", []), list):
            self.warn(res, f"{where} is not a CodeableConcept")
            return []
        out = []
        for coding in cc.get("coding", []):
            if not isinstance(coding, dict):
                continue
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str) and code:
                out.append(code_iri(system, code))
            elif isinstance(code, str):
                self.warn(res, f"{where}: code {code!r} has no system and was not used")
        return out

    def add_codes(self, subj: URIRef | BNode, prop: URIRef, res: dict[str, Any], cc: Any, where: str) -> None:
        for c in self.codes(res, cc, where):
            self.g.add((subj, prop, c))

    def add_date(self, subj: URIRef, prop: URIRef, res: dict[str, Any], value: Any, where: str) -> None:
        if value is None:
            return
        lit = _date_literal(value)
        if lit is None:
            self.warn(res, f"{where} {value!r} is not a FHIR date or dateTime; ignored")
            return
        self.g.add((subj, prop, lit))

    def add_time(self, subj: URIRef, res: dict[str, Any], prefix: str) -> None:
        """``{prefix}DateTime`` / ``{prefix}Period`` / ``{prefix}Date`` / ``{prefix}String``."""
        for suffix in ("DateTime", "Date", "Instant"):
            if f"{prefix}{suffix}" in res:
                self.add_date(subj, ELIGO.date, res, res[f"{prefix}{suffix}"], f"{prefix}{suffix}")
                return
        period = res.get(f"{prefix}Period")
        if period is not None:
            if not isinstance(period, dict):
                self.warn(res, f"{prefix}Period is not a Period")
                return
            self.add_date(subj, ELIGO.start, res, period.get("start"), f"{prefix}Period.start")
            self.add_date(subj, ELIGO.end, res, period.get("end"), f"{prefix}Period.end")
            return
        for other in ("String", "Age", "Range"):
            if f"{prefix}{other}" in res:
                self.warn(res, f"{prefix}{other} cannot be placed in time; the record is undated")

    def quantity(self, subj: URIRef | BNode, res: dict[str, Any], q: Any, where: str,
                 value_prop: URIRef = ELIGO.value) -> bool:
        if not isinstance(q, dict) or "value" not in q:
            self.warn(res, f"{where} is not a Quantity with a value; ignored")
            return False
        raw = q["value"]
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            self.warn(res, f"{where}.value {raw!r} is not a number; ignored")
            return False
        try:
            number = Decimal(str(raw))
        except InvalidOperation:
            self.warn(res, f"{where}.value {raw!r} is not a number; ignored")
            return False
        self.g.add((subj, value_prop, Literal(number, datatype=XSD.decimal)))
        unit = q.get("code") if q.get("system") in (None, "http://unitsofmeasure.org") else None
        unit = unit or q.get("unit")
        if isinstance(unit, str) and unit:
            unit_prop = ELIGO.unit if value_prop == ELIGO.value else ELIGO.referenceHighUnit
            self.g.add((subj, unit_prop, Literal(unit)))
        return True

    def value(self, subj: URIRef | BNode, res: dict[str, Any], holder: dict[str, Any], where: str) -> None:
        if "valueQuantity" in holder:
            self.quantity(subj, res, holder["valueQuantity"], f"{where}valueQuantity")
        elif "valueCodeableConcept" in holder:
            self.add_codes(subj, ELIGO.valueCode, res, holder["valueCodeableConcept"], f"{where}valueCodeableConcept")
        elif "valueInteger" in holder:
            v = holder["valueInteger"]
            if isinstance(v, int) and not isinstance(v, bool):
                self.g.add((subj, ELIGO.value, Literal(v, datatype=XSD.integer)))
            else:
                self.warn(res, f"{where}valueInteger {v!r} is not an integer; ignored")
        elif "valueBoolean" in holder:
            v = holder["valueBoolean"]
            if isinstance(v, bool):
                self.g.add((subj, ELIGO.valueBoolean, Literal(v)))
            else:
                self.warn(res, f"{where}valueBoolean {v!r} is not true/false; ignored")
        elif "valueString" in holder:
            v = holder["valueString"]
            if isinstance(v, str):
                self.g.add((subj, ELIGO.valueString, Literal(v)))
            else:
                self.warn(res, f"{where}valueString is not a string; ignored")
        elif "valueDateTime" in holder and isinstance(subj, URIRef):
            self.add_date(subj, ELIGO.valueDate, res, holder["valueDateTime"], f"{where}valueDateTime")

    def extensions(self, res: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
        for ext in res.get("extension", []) or []:
            if isinstance(ext, dict) and isinstance(ext.get("url"), str):
                yield ext["url"], ext

    def record(self, res: dict[str, Any], cls: URIRef) -> URIRef:
        n = self.node(res)
        self.g.add((n, RDF.type, cls))
        self.g.add((n, ELIGO.subject, self.m.patient))
        self.g.add((n, ELIGO.sourceId, Literal(_sid(res))))
        status = res.get("status")
        if isinstance(status, str):
            self.g.add((n, ELIGO.status, Literal(status)))
        for url, ext in self.extensions(res):
            if url in EXT_INTENT:
                self.add_codes(n, ELIGO.intent, res, ext.get("valueCodeableConcept"), "intent extension")
        return n

    # ------------------------------------------------------------ resources
    def condition(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Condition)
        self.add_codes(n, ELIGO.code, res, res.get("code"), "code")
        for prop, key in ((ELIGO.clinicalStatus, "clinicalStatus"), (ELIGO.verificationStatus, "verificationStatus")):
            for coding in (res.get(key) or {}).get("coding", []) if isinstance(res.get(key), dict) else []:
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    self.g.add((n, prop, Literal(coding["code"])))
        self.add_codes(n, ELIGO.severity, res, res.get("severity"), "severity")
        for site in res.get("bodySite", []) or []:
            self.add_codes(n, ELIGO.bodySite, res, site, "bodySite")
        for url, ext in self.extensions(res):
            if url == EXT_HISTOLOGY:
                self.add_codes(n, ELIGO.histology, res, ext.get("valueCodeableConcept"), "histology extension")
        self.add_time(n, res, "onset")
        if "onsetDateTime" not in res and "onsetPeriod" not in res and "recordedDate" in res:
            self.add_date(n, ELIGO.date, res, res["recordedDate"], "recordedDate")
        for suffix in ("DateTime", "Date"):
            if f"abatement{suffix}" in res:
                self.add_date(n, ELIGO.end, res, res[f"abatement{suffix}"], f"abatement{suffix}")
        if isinstance(res.get("abatementPeriod"), dict):
            self.add_date(n, ELIGO.end, res, res["abatementPeriod"].get("end"), "abatementPeriod.end")

    def observation(self, res: dict[str, Any]) -> None:
        codes = self.codes(res, res.get("code"), "code")
        attestation = any(c.startswith(str(ECODE)) and c[len(str(ECODE)):] in ATTESTATION_CODES for c in codes)
        n = self.record(res, ELIGO.Attestation if attestation else ELIGO.Observation)
        for c in codes:
            self.g.add((n, ELIGO.code, c))
        self.add_time(n, res, "effective")
        if (n, ELIGO.date, None) not in self.g and (n, ELIGO.start, None) not in self.g and "issued" in res:
            self.add_date(n, ELIGO.date, res, res["issued"], "issued")
        self.value(n, res, res, "")
        for rr in res.get("referenceRange", []) or []:
            if isinstance(rr, dict) and isinstance(rr.get("high"), dict):
                self.quantity(n, res, rr["high"], "referenceRange.high", ELIGO.referenceHigh)
                break
        for i, comp in enumerate(res.get("component", []) or []):
            if not isinstance(comp, dict):
                continue
            b = BNode()
            self.g.add((n, ELIGO.component, b))
            self.g.add((b, RDF.type, ELIGO.Component))
            self.add_codes(b, ELIGO.code, res, comp.get("code"), f"component[{i}].code")
            self.value(b, res, comp, f"component[{i}].")
        for url, ext in self.extensions(res):
            if url == EXT_EVIDENCE_TYPE:
                self.add_codes(n, ELIGO.evidenceType, res, ext.get("valueCodeableConcept"), "evidence-type extension")
        for perf in res.get("performer", []) or []:
            if isinstance(perf, dict):
                who = perf.get("display") or perf.get("reference")
                if isinstance(who, str):
                    self.g.add((n, ELIGO.performer, Literal(who)))
        for cat in res.get("bodySite", []) if isinstance(res.get("bodySite"), list) else [res.get("bodySite")]:
            self.add_codes(n, ELIGO.bodySite, res, cat, "bodySite")

    def medication(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.MedicationExposure)
        if "medicationCodeableConcept" in res:
            self.add_codes(n, ELIGO.code, res, res["medicationCodeableConcept"], "medicationCodeableConcept")
        elif isinstance(res.get("medicationReference"), dict):
            ref = res["medicationReference"].get("reference", "")
            med = self.by_ref.get(ref) or self.by_ref.get(ref.lstrip("#"))
            if med is None:
                self.warn(res, f"medicationReference {ref!r} does not resolve; the agent is unknown")
            else:
                self.add_codes(n, ELIGO.code, res, med.get("code"), "Medication.code")
        if res["resourceType"] == "MedicationRequest":
            self.add_date(n, ELIGO.date, res, res.get("authoredOn"), "authoredOn")
            dosages = res.get("dosageInstruction", []) or []
        else:
            self.add_time(n, res, "effective")
            d = res.get("dosage")
            dosages = d if isinstance(d, list) else [d] if isinstance(d, dict) else []
        for d in dosages:
            if isinstance(d, dict):
                self.add_codes(n, ELIGO.route, res, d.get("route"), "dosage.route")
        for rc in res.get("reasonCode", []) or []:
            self.add_codes(n, ELIGO.reason, res, rc, "reasonCode")

    def procedure(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Procedure)
        self.add_codes(n, ELIGO.code, res, res.get("code"), "code")
        self.add_time(n, res, "performed")
        for site in res.get("bodySite", []) or []:
            self.add_codes(n, ELIGO.bodySite, res, site, "bodySite")
        for rc in res.get("reasonCode", []) or []:
            self.add_codes(n, ELIGO.reason, res, rc, "reasonCode")

    def immunization(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Immunization)
        self.add_codes(n, ELIGO.code, res, res.get("vaccineCode"), "vaccineCode")
        self.add_time(n, res, "occurrence")
        if "occurrenceString" in res:
            self.warn(res, "occurrenceString cannot be placed in time; the immunisation is undated")

    def consent(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Consent)
        for coding in (res.get("scope") or {}).get("coding", []) if isinstance(res.get("scope"), dict) else []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                self.g.add((n, ELIGO.scope, Literal(coding["code"])))
        self.add_date(n, ELIGO.date, res, res.get("dateTime"), "dateTime")
        for cat in res.get("category", []) or []:
            for c in self.codes(res, cat, "category"):
                if c.startswith(str(ECODE)):
                    self.g.add((n, ELIGO.code, c))
        provision = res.get("provision")
        if isinstance(provision, dict):
            for cc in provision.get("code", []) or []:
                self.add_codes(n, ELIGO.code, res, cc, "provision.code")


def _sid(res: dict[str, Any]) -> str:
    return f"{res.get('resourceType', '?')}/{res.get('id', '?')}"


def _subject_ref(res: dict[str, Any]) -> str | None:
    for key in ("subject", "patient"):
        ref = res.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return ref["reference"]
    return None


def map_patient(resources: list[Located], *, source: str) -> Mapping:
    """Map the resources of exactly one patient to an eligo graph."""
    patients = [r for r in resources if r.resource["resourceType"] == "Patient"]
    if not patients:
        raise PatientGraphError("no Patient resource; a file for `eligo check` must hold one patient",
                                source=source)
    if len(patients) > 1:
        ids = ", ".join(_sid(p.resource) for p in patients[:3])
        raise PatientGraphError(f"{len(patients)} Patient resources ({ids}); `eligo check` screens one "
                                "patient per file (use `eligo screen` for populations)", source=source)
    pres = patients[0].resource
    pid = str(pres.get("id") or patients[0].full_url or "patient")
    g = Graph()
    patient = URIRef(f"{PATIENT_NS}{quote(pid, safe='')}")
    m = Mapping(g, patient, pid)
    g.add((patient, RDF.type, ELIGO.Patient))
    g.add((patient, ELIGO.sourceId, Literal(f"Patient/{pid}")))
    if isinstance(pres.get("gender"), str):
        g.add((patient, ELIGO.gender, Literal(pres["gender"])))
    by_ref: dict[str, dict[str, Any]] = {}
    for r in resources:
        res = r.resource
        if "id" in res:
            by_ref[f"{res['resourceType']}/{res['id']}"] = res
        if r.full_url:
            by_ref[r.full_url] = res
        for contained in res.get("contained", []) or []:
            if isinstance(contained, dict) and "id" in contained:
                by_ref[f"#{contained['id']}"] = contained
                by_ref[str(contained["id"])] = contained
    mapper = _ResourceMapper(m, by_ref)
    mapper.add_date(patient, ELIGO.birthDate, pres, pres.get("birthDate"), "birthDate")
    patient_refs = {f"Patient/{pid}"} | ({patients[0].full_url} if patients[0].full_url else set())
    seen: set[str] = set()
    handlers = {"Condition": mapper.condition, "Observation": mapper.observation,
                "Procedure": mapper.procedure, "Immunization": mapper.immunization, "Consent": mapper.consent,
                **{t: mapper.medication for t in MEDICATION_TYPES}}
    for r in resources:
        res = r.resource
        rtype = res["resourceType"]
        if rtype == "Patient" or rtype in IGNORED_TYPES:
            continue
        handler = handlers.get(rtype)
        if handler is None:
            m.skipped.setdefault(rtype, []).append(_sid(res))
            continue
        sid = _sid(res)
        if sid in seen:
            m.warnings.append(f"{sid}: duplicate resource id in {r.where}; the later copy was ignored")
            continue
        seen.add(sid)
        ref = _subject_ref(res)
        if ref is None:
            m.warnings.append(f"{sid} ({r.where}): no subject/patient reference; not used")
            continue
        if ref not in patient_refs:
            m.warnings.append(f"{sid} ({r.where}): refers to {ref}, not to the patient; not used")
            continue
        handler(res)
    for rtype, ids in sorted(m.skipped.items()):
        m.warnings.append(f"{len(ids)} {rtype} resource(s) not mapped (eligo does not read {rtype}): "
                          + ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else ""))
    return m
