"""The one mapping from FHIR R4 resources to the eligo patient graph.

Every element read here is listed in docs/data-requirements.md. A resource
that cannot be mapped is reported (type and id), never silently dropped; a
malformed element is reported and skipped, the rest of the resource is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from eligo.dates import parse_date
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
IGNORED_TYPES = frozenset({"Medication", "Substance", "Practitioner", "PractitionerRole", "Organization", "Encounter",
                           "Location", "Specimen", "DiagnosticReport", "Provenance", "Device"})
_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")
PATIENT_NS = "https://eligo.dev/patient/"
#: A quantity whose decimal exponent is beyond this (1e31, 1e-31) is no measurement: it is not read.
MAX_EXPONENT = 30
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


def _list(value: Any) -> list[Any]:
    """A FHIR array element; anything else (a lone object, a string, a number) reads as empty."""
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _rid(res: dict[str, Any]) -> str | None:
    """A resource's id when it is a usable FHIR id (a non-empty string, or a number written as one)."""
    rid = res.get("id")
    if isinstance(rid, bool):
        return None
    if isinstance(rid, int):
        return str(rid)
    return rid if isinstance(rid, str) and rid.strip() else None


def _date_literal(value: Any) -> Literal | None:
    """The literal for a FHIR date, dateTime or instant; None when it is not one (2026-13-45 included)."""
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return None
    try:
        parse_date(value)
        if "T" in value:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
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
        self.current: URIRef | None = None  # the record being mapped, which data problems attach to
        self.node_of: dict[int, URIRef] = {}  # resource (by object identity) -> its node, set by map_patient
        self.sid_of: dict[int, str] = {}  # resource (by object identity) -> its source id

    # ------------------------------------------------------------ helpers
    def sid(self, res: dict[str, Any]) -> str:
        return self.sid_of.get(id(res)) or _sid(res)

    def warn(self, res: dict[str, Any], text: str) -> None:
        self.m.warnings.append(f"{self.sid(res)}: {text}")

    def problem(self, res: dict[str, Any], text: str) -> None:
        """A part of the record could not be read: a warning, and an eligo:dataProblem on the record
        so that a criterion that needed it says so in its reason."""
        self.warn(res, text)
        if self.current is not None:
            self.g.add((self.current, ELIGO.dataProblem, Literal(f"{self.sid(res)}: {text}")))

    def node(self, res: dict[str, Any]) -> URIRef:
        known = self.node_of.get(id(res))
        if known is not None:
            return known
        return URIRef(f"{PATIENT_NS}{quote(self.m.patient_id, safe='')}/{res['resourceType']}/"
                      f"{quote(_rid(res) or 'no-id', safe='')}")

    def codes(self, res: dict[str, Any], cc: Any, where: str) -> list[URIRef]:
        if cc is None:
            return []
        if not isinstance(cc, dict) or not isinstance(cc.get("coding", []), list):
            self.problem(res, f"{where} is not a CodeableConcept; its codes were not read")
            return []
        out = []
        for coding in cc.get("coding", []):
            if not isinstance(coding, dict):
                self.problem(res, f"{where}: a coding is not an object and was not read")
                continue
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str) and code.strip():
                out.append(code_iri(system, code))
            elif isinstance(code, str):
                self.problem(res, f"{where}: code {code!r} has no system and was not used")
            elif code is not None:
                self.problem(res, f"{where}: code {code!r} is not a string and was not used")
        return out

    def add_codes(self, subj: URIRef | BNode, prop: URIRef, res: dict[str, Any], cc: Any, where: str) -> None:
        for c in self.codes(res, cc, where):
            self.g.add((subj, prop, c))

    def add_code(self, subj: URIRef, res: dict[str, Any], cc: Any, where: str) -> None:
        """A record's own code: its codings, and its text and displays as eligo:codeText (CRITERIA.md,
        Terminology: text never decides, but it can make an unrecognised record a possible exclusion)."""
        self.add_codes(subj, ELIGO.code, res, cc, where)
        for text in _texts(cc):
            self.g.add((subj, ELIGO.codeText, Literal(text)))

    def resolve(self, ref: Any) -> dict[str, Any] | None:
        """The resource a Reference points to in the input (bundled, by fullUrl, or contained)."""
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str):
            return None
        return self.by_ref.get(target) or self.by_ref.get(target.lstrip("#"))

    def medication_resource(self, n: URIRef, res: dict[str, Any], med: dict[str, Any], where: str,
                            depth: int = 0) -> None:
        """A Medication's code, and the codes of its ingredients (itemCodeableConcept, or itemReference to a
        Substance or Medication): a product recognised through its ingredient counts as the ingredient."""
        self.add_code(n, res, med.get("code"), f"{where}.code")
        for i, ing in enumerate(_list(med.get("ingredient"))):
            if not isinstance(ing, dict):
                continue
            if "itemCodeableConcept" in ing:
                self.add_code(n, res, ing["itemCodeableConcept"], f"{where}.ingredient[{i}].itemCodeableConcept")
            elif "itemReference" in ing:
                item = self.resolve(ing["itemReference"])
                display = ing["itemReference"].get("display") if isinstance(ing["itemReference"], dict) else None
                if isinstance(display, str) and display.strip():
                    self.g.add((n, ELIGO.codeText, Literal(display.strip())))
                if item is None:
                    self.problem(res, f"{where}.ingredient[{i}].itemReference does not resolve in the input; "
                                      "that ingredient is unknown")
                elif item.get("resourceType") == "Medication" and depth < 3:
                    self.medication_resource(n, res, item, f"{where}.ingredient[{i}]", depth + 1)
                elif item.get("resourceType") == "Substance":
                    self.add_code(n, res, item.get("code"), f"{where}.ingredient[{i}] Substance.code")

    def add_date(self, subj: URIRef, prop: URIRef, res: dict[str, Any], value: Any, where: str) -> None:
        if value is None:
            return
        lit = _date_literal(value)
        if lit is None:
            self.problem(res, f"{where} {_short(value)} is not a FHIR date or dateTime; ignored")
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
                self.problem(res, f"{prefix}Period is not a Period; the record is undated")
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
            self.problem(res, f"{where} {_short(q)} is not a Quantity with a value; ignored")
            return False
        raw = q["value"]
        number: Decimal | None = None
        if isinstance(raw, int | float | str) and not isinstance(raw, bool):
            try:
                number = Decimal(str(raw).strip())
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            self.problem(res, f"{where}.value {_short(raw)} is not a number; ignored")
            return False
        if number and abs(number.adjusted()) > MAX_EXPONENT:
            self.problem(res, f"{where}.value {_short(raw)} is not a number of any measurable size; ignored")
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
                self.problem(res, f"{where}valueInteger {_short(v)} is not an integer; ignored")
        elif "valueBoolean" in holder:
            v = holder["valueBoolean"]
            if isinstance(v, bool):
                self.g.add((subj, ELIGO.valueBoolean, Literal(v)))
            else:
                self.problem(res, f"{where}valueBoolean {_short(v)} is not true/false; ignored")
        elif "valueString" in holder:
            v = holder["valueString"]
            if isinstance(v, str):
                self.g.add((subj, ELIGO.valueString, Literal(v)))
            else:
                self.problem(res, f"{where}valueString is not a string; ignored")
        elif "valueDateTime" in holder and isinstance(subj, URIRef):
            self.add_date(subj, ELIGO.valueDate, res, holder["valueDateTime"], f"{where}valueDateTime")

    def extensions(self, res: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
        for ext in _list(res.get("extension")):
            if isinstance(ext, dict) and isinstance(ext.get("url"), str):
                yield ext["url"], ext

    def record(self, res: dict[str, Any], cls: URIRef) -> URIRef:
        n = self.node(res)
        self.current = n
        self.g.add((n, RDF.type, cls))
        self.g.add((n, ELIGO.subject, self.m.patient))
        self.g.add((n, ELIGO.sourceId, Literal(self.sid(res))))
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
        self.add_code(n, res, res.get("code"), "code")
        for prop, key in ((ELIGO.clinicalStatus, "clinicalStatus"), (ELIGO.verificationStatus, "verificationStatus")):
            for coding in _list(res[key].get("coding")) if isinstance(res.get(key), dict) else []:
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    self.g.add((n, prop, Literal(coding["code"])))
        self.add_codes(n, ELIGO.severity, res, res.get("severity"), "severity")
        for site in _list(res.get("bodySite")):
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
        for text in _texts(res.get("code")):
            self.g.add((n, ELIGO.codeText, Literal(text)))
        self.add_time(n, res, "effective")
        if (n, ELIGO.date, None) not in self.g and (n, ELIGO.start, None) not in self.g and "issued" in res:
            self.add_date(n, ELIGO.date, res, res["issued"], "issued")
        self.value(n, res, res, "")
        for rr in _list(res.get("referenceRange")):
            if isinstance(rr, dict) and isinstance(rr.get("high"), dict):
                self.quantity(n, res, rr["high"], "referenceRange.high", ELIGO.referenceHigh)
                break
        for i, comp in enumerate(_list(res.get("component"))):
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
        for perf in _list(res.get("performer")):
            if isinstance(perf, dict):
                who = perf.get("display") or perf.get("reference")
                if isinstance(who, str):
                    self.g.add((n, ELIGO.performer, Literal(who)))
        for cat in res.get("bodySite", []) if isinstance(res.get("bodySite"), list) else [res.get("bodySite")]:
            self.add_codes(n, ELIGO.bodySite, res, cat, "bodySite")

    def medication(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.MedicationExposure)
        if "medicationCodeableConcept" in res:
            self.add_code(n, res, res["medicationCodeableConcept"], "medicationCodeableConcept")
        elif "medicationReference" in res:
            mref = res["medicationReference"]
            ref = mref.get("reference") if isinstance(mref, dict) else None
            med = self.resolve(mref)
            display = mref.get("display") if isinstance(mref, dict) else None
            if isinstance(display, str) and display.strip():
                self.g.add((n, ELIGO.codeText, Literal(display.strip())))
            if med is None or med.get("resourceType") not in (None, "Medication"):
                self.problem(res, f"medicationReference {_short(ref)} does not resolve to a Medication in the "
                                  "input; the agent is unknown")
            else:
                self.medication_resource(n, res, med, "Medication")
        if res["resourceType"] == "MedicationRequest":
            self.add_date(n, ELIGO.date, res, res.get("authoredOn"), "authoredOn")
            dosages = _list(res.get("dosageInstruction"))
        else:
            self.add_time(n, res, "effective")
            d = res.get("dosage")
            dosages = d if isinstance(d, list) else [d] if isinstance(d, dict) else []
        for d in dosages:
            if isinstance(d, dict):
                self.add_codes(n, ELIGO.route, res, d.get("route"), "dosage.route")
        for rc in _list(res.get("reasonCode")):
            self.add_codes(n, ELIGO.reason, res, rc, "reasonCode")

    def procedure(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Procedure)
        self.add_code(n, res, res.get("code"), "code")
        self.add_time(n, res, "performed")
        for site in _list(res.get("bodySite")):
            self.add_codes(n, ELIGO.bodySite, res, site, "bodySite")
        for rc in _list(res.get("reasonCode")):
            self.add_codes(n, ELIGO.reason, res, rc, "reasonCode")

    def immunization(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Immunization)
        self.add_code(n, res, res.get("vaccineCode"), "vaccineCode")
        self.add_time(n, res, "occurrence")
        if "occurrenceString" in res:
            self.warn(res, "occurrenceString cannot be placed in time; the immunisation is undated")

    def consent(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Consent)
        for coding in _list(res["scope"].get("coding")) if isinstance(res.get("scope"), dict) else []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                self.g.add((n, ELIGO.scope, Literal(coding["code"])))
        self.add_date(n, ELIGO.date, res, res.get("dateTime"), "dateTime")
        for cat in _list(res.get("category")):
            for c in self.codes(res, cat, "category"):
                if c.startswith(str(ECODE)):
                    self.g.add((n, ELIGO.code, c))
        provision = res.get("provision")
        if isinstance(provision, dict):
            for cc in _list(provision.get("code")):
                self.add_codes(n, ELIGO.code, res, cc, "provision.code")


def _texts(cc: Any) -> list[str]:
    """A CodeableConcept's text and its codings' displays, as written, without repeats."""
    if not isinstance(cc, dict):
        return []
    found = [cc.get("text")] + [c.get("display") for c in _list(cc.get("coding")) if isinstance(c, dict)]
    return list(dict.fromkeys(t.strip() for t in found if isinstance(t, str) and t.strip()))


def _short(value: Any) -> str:
    """A value as it can be quoted in one line of a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _sid(res: dict[str, Any]) -> str:
    return f"{res.get('resourceType', '?')}/{_rid(res) or '?'}"


def _subject_ref(res: dict[str, Any]) -> str | None:
    for key in ("subject", "patient"):
        ref = res.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return ref["reference"]
    return None


def _digest(res: dict[str, Any]) -> str:
    text = json.dumps(res, sort_keys=True, ensure_ascii=False, allow_nan=True, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _identity(r: Located) -> str:
    """The source id of a resource: ``Type/id``; without an id, its fullUrl; else a content digest."""
    rtype = r.resource["resourceType"]
    rid = _rid(r.resource)
    if rid is not None:
        return f"{rtype}/{rid}"
    if isinstance(r.full_url, str) and r.full_url.strip():
        return r.full_url
    return f"{rtype}/#{_digest(r.resource)}"


def map_patient(resources: list[Located], *, source: str) -> Mapping:
    """Map the resources of exactly one patient to an eligo graph.

    The result does not depend on the order of ``resources``: identical copies of a resource are read
    once; different resources that share an id are all read, as separate records, with a warning.
    """
    patients = [r for r in resources if r.resource["resourceType"] == "Patient"]
    distinct = {_digest(p.resource): p for p in patients}
    if not patients:
        raise PatientGraphError("no Patient resource; a file for `eligo check` must hold one patient",
                                source=source)
    if len(distinct) > 1:
        ids = sorted({_sid(p.resource) for p in distinct.values()})
        if len(ids) == 1:
            places = ", ".join(sorted(p.where for p in distinct.values()))
            raise PatientGraphError(f"{ids[0]} appears {len(distinct)} times with different content ({places}); "
                                    "keep one version of the patient", source=source)
        raise PatientGraphError(f"{len(ids)} Patient resources ({', '.join(ids[:3])}); `eligo check` screens one "
                                "patient per file (use `eligo screen` for populations)", source=source)
    pres = patients[0].resource  # the copies are identical
    full_urls = sorted({p.full_url for p in patients if isinstance(p.full_url, str) and p.full_url})
    pid = _rid(pres) or (full_urls[0] if full_urls else "patient")
    g = Graph()
    patient = URIRef(f"{PATIENT_NS}{quote(pid, safe='')}")
    m = Mapping(g, patient, pid)
    if len(patients) > 1:
        m.warnings.append(f"Patient/{pid}: {len(patients)} identical copies in the input; read once")
    g.add((patient, RDF.type, ELIGO.Patient))
    g.add((patient, ELIGO.sourceId, Literal(f"Patient/{pid}")))
    if isinstance(pres.get("gender"), str):
        g.add((patient, ELIGO.gender, Literal(pres["gender"])))
    by_ref: dict[str, dict[str, Any]] = {}
    for r in sorted(resources, key=lambda r: _digest(r.resource)):  # by content: independent of input order
        res = r.resource
        rid = _rid(res)
        if rid is not None:
            by_ref.setdefault(f"{res['resourceType']}/{rid}", res)
        if isinstance(r.full_url, str) and r.full_url:
            by_ref.setdefault(r.full_url, res)
        for contained in _list(res.get("contained")):
            cid = _rid(contained) if isinstance(contained, dict) else None
            if cid is not None:
                by_ref.setdefault(f"#{cid}", contained)
                by_ref.setdefault(cid, contained)
    mapper = _ResourceMapper(m, by_ref)
    mapper.add_date(patient, ELIGO.birthDate, pres, pres.get("birthDate"), "birthDate")
    patient_refs = {f"Patient/{pid}", *full_urls}
    handlers = {"Condition": mapper.condition, "Observation": mapper.observation,
                "Procedure": mapper.procedure, "Immunization": mapper.immunization, "Consent": mapper.consent,
                **{t: mapper.medication for t in MEDICATION_TYPES}}
    # group the records by source id: identical copies are read once, different ones sharing an id all count
    groups: dict[tuple[str, str], dict[str, Located]] = {}
    occurrences: dict[tuple[str, str], int] = {}
    for r in resources:
        rtype = r.resource["resourceType"]
        if rtype == "Patient" or rtype in IGNORED_TYPES:
            continue
        if rtype not in handlers:
            m.skipped.setdefault(rtype, []).append(_identity(r))
            continue
        key = (rtype, _identity(r))
        groups.setdefault(key, {}).setdefault(_digest(r.resource), r)
        occurrences[key] = occurrences.get(key, 0) + 1
    for (rtype, sid), copies in sorted(groups.items()):
        local = sid[len(rtype) + 1:] if sid.startswith(f"{rtype}/") else sid
        base = f"{PATIENT_NS}{quote(pid, safe='')}/{quote(rtype, safe='')}/{quote(local, safe='')}"
        if len(copies) > 1:
            places = ", ".join(sorted(c.where for c in copies.values()))
            m.warnings.append(f"{sid}: {len(copies)} different resources share this id ({places}); each is read "
                              "as a separate record")
        if occurrences[(rtype, sid)] > len(copies):
            m.warnings.append(f"{sid}: {occurrences[(rtype, sid)] - len(copies)} identical duplicate(s) in the "
                              "input; read once")
        for digest, r in sorted(copies.items()):
            res = r.resource
            ref = _subject_ref(res)
            if ref is None:
                m.warnings.append(f"{sid} ({r.where}): no subject/patient reference; not used")
                continue
            if ref not in patient_refs:
                m.warnings.append(f"{sid} ({r.where}): refers to {ref}, not to the patient; not used")
                continue
            mapper.node_of[id(res)] = URIRef(f"{base}~{digest}" if len(copies) > 1 else base)
            mapper.sid_of[id(res)] = sid
            handlers[rtype](res)
    for rtype, ids in sorted(m.skipped.items()):
        ids = sorted(ids)
        m.warnings.append(f"{len(ids)} {rtype} resource(s) not mapped (eligo does not read {rtype}): "
                          + ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else ""))
    return m
