"""Mapping the elements of one patient's FHIR resources (Condition, Observation, Procedure, Immunization,
Consent; medications: :mod:`eligo.ingest.fhir_medications`) to records of the eligo patient graph.

Every element read here is listed in docs/data-requirements.md. A malformed element is reported and
skipped, the rest of the resource is kept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, URIRef

from eligo.dates import parse_date
from eligo.ingest.fhir_codes import code_iri
from eligo.ingest.fhir_identity import resource_id, source_id
from eligo.model import ECODE, ELIGO
from eligo.model import RDF_TERMS as RDF
from eligo.model import XSD_TERMS as XSD
from eligo.notices import DataWarning, WarningKind
from eligo.triples import Triples

EXT_HISTOLOGY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
EXT_EVIDENCE_TYPE = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-disease-status-evidence-type"
EXT_INTENT = (
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-procedure-intent",
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-treatment-intent",
)
MEDICATION_TYPES = ("MedicationAdministration", "MedicationStatement", "MedicationRequest")
_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")
PATIENT_NS = "https://eligo.dev/patient/"
#: A quantity whose decimal exponent is beyond this (1e31, 1e-31) is no measurement: it is not read.
MAX_EXPONENT = 30


@dataclass(frozen=True, slots=True)
class CodingRead:
    """A coding the mapping read into a code IRI: of which record, with the display (or text) written with it."""

    record: str  # the record's source id
    code: URIRef
    display: str | None


G = TypeVar("G", Graph, Triples)


@dataclass
class Mapping(Generic[G]):
    """The graph for one patient (an rdflib ``Graph``, or :class:`eligo.triples.Triples` for the batch
    engine) plus what the mapping noticed."""

    graph: G
    patient: URIRef
    patient_id: str
    warnings: list[DataWarning] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    #: every record mapped, as (source id, FHIR resource type), and every coding read into a code of a record
    records: list[tuple[str, str]] = field(default_factory=list)
    codings: list[CodingRead] = field(default_factory=list)


def array_of(value: Any) -> list[Any]:
    """A FHIR array element; anything else (a lone object, a string, a number) reads as empty."""
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _date_literal(value: Any) -> Literal | None:
    """The literal for a FHIR date, dateTime or instant; None when it is not one (2026-13-45 included)."""
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return None
    return _date_literal_of(value)


@lru_cache(maxsize=4096)  # statuses, units and codes repeat endlessly; literals are immutable
def plain_literal(text: str) -> Literal:
    """A plain string literal (cached)."""
    return Literal(text)


@lru_cache(maxsize=65536)  # a population repeats its dates; literals are immutable
def _date_literal_of(value: str) -> Literal | None:
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


@lru_cache(maxsize=65536)  # lab values repeat; keyed by the decimal's text, as 1.0 and 1.00 are equal Decimals
def _decimal_literal(text: str) -> Literal:
    return Literal(Decimal(text), datatype=XSD.decimal)


class ResourceMapper:
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
        return self.sid_of.get(id(res)) or source_id(res)

    def warn(self, warning: DataWarning) -> None:
        self.m.warnings.append(warning)

    def problem(self, warning: DataWarning) -> None:
        """A part of the record could not be read: a warning, and an eligo:dataProblem on the record
        so that a criterion that needed it says so in its reason."""
        self.warn(warning)
        if self.current is not None:
            self.g.add((self.current, ELIGO.dataProblem, Literal(str(warning))))

    def node(self, res: dict[str, Any]) -> URIRef:
        known = self.node_of.get(id(res))
        if known is not None:
            return known
        return URIRef(f"{PATIENT_NS}{quote(self.m.patient_id, safe='')}/{res['resourceType']}/"
                      f"{quote(resource_id(res) or 'no-id', safe='')}")

    def codes(self, res: dict[str, Any], cc: Any, where: str, *, record: bool = True) -> list[URIRef]:
        """The code IRIs of a CodeableConcept; with ``record``, each is also listed in ``Mapping.codings``."""
        if cc is None:
            return []
        if not isinstance(cc, dict) or not isinstance(cc.get("coding", []), list):
            self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                     f"{where} is not a CodeableConcept; its codes were not read", self.sid(res)))
            return []
        out = []
        for coding in cc.get("coding", []):
            if not isinstance(coding, dict):
                self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                         f"{where}: a coding is not an object and was not read", self.sid(res)))
                continue
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str) and code.strip():
                iri = code_iri(system, code)
                out.append(iri)
                if record:
                    display = coding.get("display") if isinstance(coding.get("display"), str) \
                        and coding["display"].strip() else cc.get("text")
                    self.m.codings.append(CodingRead(self.sid(res), iri, display if isinstance(display, str)
                                                     and display.strip() else None))
            elif isinstance(code, str):
                self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                         f"{where}: code {code!r} has no system and was not used", self.sid(res)))
            elif code is not None:
                self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                         f"{where}: code {code!r} is not a string and was not used", self.sid(res)))
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

    def add_date(self, subj: URIRef, prop: URIRef, res: dict[str, Any], value: Any, where: str) -> None:
        if value is None:
            return
        lit = _date_literal(value)
        if lit is None:
            self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                     f"{where} {short(value)} is not a FHIR date or dateTime; ignored", self.sid(res)))
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
                self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                         f"{prefix}Period is not a Period; the record is undated", self.sid(res)))
                return
            self.add_date(subj, ELIGO.start, res, period.get("start"), f"{prefix}Period.start")
            self.add_date(subj, ELIGO.end, res, period.get("end"), f"{prefix}Period.end")
            return
        for other in ("String", "Age", "Range"):
            if f"{prefix}{other}" in res:
                self.warn(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                      f"{prefix}{other} cannot be placed in time; the record is undated",
                                      self.sid(res)))

    def quantity(self, subj: URIRef | BNode, res: dict[str, Any], q: Any, where: str,
                 value_prop: URIRef = ELIGO.value) -> bool:
        if not isinstance(q, dict) or "value" not in q:
            self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                     f"{where} {short(q)} is not a Quantity with a value; ignored", self.sid(res)))
            return False
        raw = q["value"]
        number: Decimal | None = None
        if isinstance(raw, int | float | str) and not isinstance(raw, bool):
            try:
                number = Decimal(str(raw).strip())
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                     f"{where}.value {short(raw)} is not a number; ignored", self.sid(res)))
            return False
        if number and abs(number.adjusted()) > MAX_EXPONENT:
            self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                     f"{where}.value {short(raw)} is not a number of any measurable size; "
                                     "ignored", self.sid(res)))
            return False
        self.g.add((subj, value_prop, _decimal_literal(str(number))))
        unit = q.get("code") if q.get("system") in (None, "http://unitsofmeasure.org") else None
        unit = unit or q.get("unit")
        if isinstance(unit, str) and unit:
            unit_prop = ELIGO.unit if value_prop == ELIGO.value else ELIGO.referenceHighUnit
            self.g.add((subj, unit_prop, plain_literal(unit)))
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
                self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                         f"{where}valueInteger {short(v)} is not an integer; ignored", self.sid(res)))
        elif "valueBoolean" in holder:
            v = holder["valueBoolean"]
            if isinstance(v, bool):
                self.g.add((subj, ELIGO.valueBoolean, Literal(v)))
            else:
                self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                         f"{where}valueBoolean {short(v)} is not true/false; ignored", self.sid(res)))
        elif "valueString" in holder:
            v = holder["valueString"]
            if isinstance(v, str):
                self.g.add((subj, ELIGO.valueString, Literal(v)))
            else:
                self.problem(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                         f"{where}valueString is not a string; ignored", self.sid(res)))
        elif "valueDateTime" in holder and isinstance(subj, URIRef):
            self.add_date(subj, ELIGO.valueDate, res, holder["valueDateTime"], f"{where}valueDateTime")

    def extensions(self, res: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
        for ext in array_of(res.get("extension")):
            if isinstance(ext, dict) and isinstance(ext.get("url"), str):
                yield ext["url"], ext

    def record(self, res: dict[str, Any], cls: URIRef) -> URIRef:
        n = self.node(res)
        self.current = n
        self.m.records.append((self.sid(res), str(res["resourceType"])))
        self.g.add((n, RDF.type, cls))
        self.g.add((n, ELIGO.subject, self.m.patient))
        self.g.add((n, ELIGO.sourceId, Literal(self.sid(res))))
        status = res.get("status")
        if isinstance(status, str):
            self.g.add((n, ELIGO.status, plain_literal(status)))
        for url, ext in self.extensions(res):
            if url in EXT_INTENT:
                self.add_codes(n, ELIGO.intent, res, ext.get("valueCodeableConcept"), "intent extension")
        return n

    # ------------------------------------------------------------ resources
    def condition(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Condition)
        self.add_code(n, res, res.get("code"), "code")
        for prop, key in ((ELIGO.clinicalStatus, "clinicalStatus"), (ELIGO.verificationStatus, "verificationStatus")):
            for coding in array_of(res[key].get("coding")) if isinstance(res.get(key), dict) else []:
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    self.g.add((n, prop, plain_literal(coding["code"])))
        self.add_codes(n, ELIGO.severity, res, res.get("severity"), "severity")
        for site in array_of(res.get("bodySite")):
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
        # an attestation is an Observation coded under eterm:AttestationTopic: the derivation types it
        n = self.record(res, ELIGO.Observation)
        for c in codes:
            self.g.add((n, ELIGO.code, c))
        for text in _texts(res.get("code")):
            self.g.add((n, ELIGO.codeText, Literal(text)))
        self.add_time(n, res, "effective")
        if (n, ELIGO.date, None) not in self.g and (n, ELIGO.start, None) not in self.g and "issued" in res:
            self.add_date(n, ELIGO.date, res, res["issued"], "issued")
        self.value(n, res, res, "")
        for rr in array_of(res.get("referenceRange")):
            if isinstance(rr, dict) and isinstance(rr.get("high"), dict):
                self.quantity(n, res, rr["high"], "referenceRange.high", ELIGO.referenceHigh)
                break
        for i, comp in enumerate(array_of(res.get("component"))):
            if not isinstance(comp, dict):
                continue
            b = URIRef(f"{n}/component/{i}")  # patient-scoped, not a blank node: stores refuse those in updates
            self.g.add((n, ELIGO.component, b))
            self.g.add((b, RDF.type, ELIGO.Component))
            self.add_codes(b, ELIGO.code, res, comp.get("code"), f"component[{i}].code")
            self.value(b, res, comp, f"component[{i}].")
        for url, ext in self.extensions(res):
            if url == EXT_EVIDENCE_TYPE:
                self.add_codes(n, ELIGO.evidenceType, res, ext.get("valueCodeableConcept"), "evidence-type extension")
        for perf in array_of(res.get("performer")):
            if isinstance(perf, dict):
                who = perf.get("display") or perf.get("reference")
                if isinstance(who, str):
                    self.g.add((n, ELIGO.performer, Literal(who)))
        for cat in res.get("bodySite", []) if isinstance(res.get("bodySite"), list) else [res.get("bodySite")]:
            self.add_codes(n, ELIGO.bodySite, res, cat, "bodySite")

    def procedure(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Procedure)
        self.add_code(n, res, res.get("code"), "code")
        self.add_time(n, res, "performed")
        for site in array_of(res.get("bodySite")):
            self.add_codes(n, ELIGO.bodySite, res, site, "bodySite")
        for rc in array_of(res.get("reasonCode")):
            self.add_codes(n, ELIGO.reason, res, rc, "reasonCode")

    def immunization(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Immunization)
        self.add_code(n, res, res.get("vaccineCode"), "vaccineCode")
        self.add_time(n, res, "occurrence")
        if "occurrenceString" in res:
            self.warn(DataWarning(WarningKind.UNREADABLE_ELEMENT,
                                  "occurrenceString cannot be placed in time; the immunisation is undated",
                                  self.sid(res)))

    def consent(self, res: dict[str, Any]) -> None:
        n = self.record(res, ELIGO.Consent)
        for coding in array_of(res["scope"].get("coding")) if isinstance(res.get("scope"), dict) else []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                self.g.add((n, ELIGO.scope, Literal(coding["code"])))
        self.add_date(n, ELIGO.date, res, res.get("dateTime"), "dateTime")
        for cat in array_of(res.get("category")):
            for c in self.codes(res, cat, "category", record=False):  # only eligo's own category is read
                if c.startswith(str(ECODE)):
                    self.g.add((n, ELIGO.code, c))
        provision = res.get("provision")
        if isinstance(provision, dict):
            for cc in array_of(provision.get("code")):
                self.add_codes(n, ELIGO.code, res, cc, "provision.code")


def _texts(cc: Any) -> list[str]:
    """A CodeableConcept's text and its codings' displays, as written, without repeats."""
    if not isinstance(cc, dict):
        return []
    found = [cc.get("text")] + [c.get("display") for c in array_of(cc.get("coding")) if isinstance(c, dict)]
    return list(dict.fromkeys(t.strip() for t in found if isinstance(t, str) and t.strip()))


def short(value: Any) -> str:
    """A value as it can be quoted in one line of a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
