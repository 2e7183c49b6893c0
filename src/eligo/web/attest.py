"""Attestations: which codes a criterion reads, a coordinator's form as a FHIR Observation, that Observation
in the eligo model, the attestations a patient graph holds, and what a new one changed.

Nothing here names a criterion: the attestation codes are the members of ``eterm:AttestationTopic`` in the
term module, and a criterion takes the ones its shapes and rules read (:meth:`eligo.Trial.reads`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from eligo.check import Screener
from eligo.engine.verdict import Screening
from eligo.ingest.fhir_export import coding
from eligo.ingest.fhir_json import Located
from eligo.ingest.fhir_map import map_patient
from eligo.model import ATTESTATION_TOPIC, ELIGO
from eligo.trial import Outcome
from eligo.web.state import WebError

UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True, slots=True)
class Topic:
    """One attestation code of the term module and the criteria of the trial that read it."""

    iri: URIRef
    system: str
    code: str
    label: str
    #: the unit of a quantity attestation (``wk``); None: a yes/no attestation (valueBoolean)
    unit: str | None
    criteria: tuple[str, ...]


def attestation_topics(screener: Screener) -> dict[str, Topic]:
    """The attestation codes some criterion of the trial reads, by code (in the term module's order)."""
    terms, trial = screener.terms, screener.trial
    out: dict[str, Topic] = {}
    for iri in sorted(terms.codes):
        if iri == ATTESTATION_TOPIC or ATTESTATION_TOPIC not in terms.ancestors(iri):
            continue
        readers = tuple(c.id for c in trial.criteria if iri in trial.reads(c.id))
        if not readers:
            continue
        fhir = coding(iri)
        spec = terms.unit_for(iri)
        out[fhir["code"]] = Topic(iri, fhir["system"], fhir["code"], terms.label(iri) or fhir["code"],
                                  spec.canonical_unit if spec is not None else None, readers)
    return out


def topics_for(topics: dict[str, Topic], criterion_id: str) -> list[Topic]:
    return [t for t in topics.values() if criterion_id in t.criteria]


@dataclass(frozen=True, slots=True)
class AttestationRecord:
    """An attestation in a patient graph, as the checklist and the download show it."""

    source_id: str
    code: str
    label: str
    value: str
    date: str
    performer: str


def parse_form(topic: Topic, *, who: str, when: str, value: str, note: str, index_date: dt.date) -> tuple[
        str, dt.date, bool | Decimal, str]:
    """Check a form's fields; a WebError (400) names the field that is wrong."""
    who, note = who.strip(), note.strip()
    if not who:
        raise WebError(400, "who: name the person who attests (for example 'Dr A. Rossi, investigator')")
    if len(who) > 200 or len(note) > 2000:
        raise WebError(400, "who may be at most 200 characters and the note at most 2000")
    try:
        day = dt.date.fromisoformat(when.strip())
    except ValueError:
        raise WebError(400, f"when: {when.strip()[:40]!r} is not a date in YYYY-MM-DD form") from None
    if day > index_date:
        raise WebError(400, f"when: {day.isoformat()} is after the index date {index_date.isoformat()}; a record "
                            "dated after the index date is not used")
    parsed: bool | Decimal
    if topic.unit is None:
        answer = value.strip().lower()
        if answer not in ("true", "false", "yes", "no"):
            raise WebError(400, f"value: answer yes or no for '{topic.label}'")
        parsed = answer in ("true", "yes")
    else:
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise WebError(400, f"value: {value.strip()[:40]!r} is not a number of {topic.unit}") from None
        if not parsed.is_finite() or parsed < 0:
            raise WebError(400, f"value: give a number of {topic.unit}, 0 or more")
    return who, day, parsed, note


def observation(topic: Topic, *, patient_ref: str, who: str, when: dt.date, value: bool | Decimal,
                note: str = "") -> dict[str, Any]:
    """The attestation as a FHIR R4 Observation in the eligo code system (CRITERIA.md, FHIR input contract)."""
    res: dict[str, Any] = {
        "resourceType": "Observation", "id": f"attestation-{uuid.uuid4().hex[:16]}", "status": "final",
        "code": {"coding": [{"system": topic.system, "code": topic.code, "display": topic.label}]},
        "subject": {"reference": patient_ref}, "effectiveDateTime": when.isoformat(),
        "performer": [{"display": who}],
    }
    if isinstance(value, bool):
        res["valueBoolean"] = value
    else:
        number: int | float = int(value) if value == value.to_integral_value() else float(value)
        res["valueQuantity"] = {"value": number, "unit": topic.unit, "system": UCUM, "code": topic.unit}
    if note:
        res["note"] = [{"text": note}]
    return res


def patient_node(graph: Graph) -> URIRef:
    node = next((s for s in graph.subjects(RDF.type, ELIGO.Patient) if isinstance(s, URIRef)), None)
    if node is None:
        raise WebError(400, "the patient graph has no eligo:Patient")
    return node


def observation_triples(resource: dict[str, Any], graph: Graph) -> Graph:
    """The Observation in the eligo model (mapped by eligo's FHIR mapping), about ``graph``'s patient."""
    ref = str(resource["subject"]["reference"])
    pid = ref.split("/", 1)[1] if ref.startswith("Patient/") and "/" in ref else "patient"
    stub = {"resourceType": "Patient", "id": pid}
    mapped = map_patient([Located(stub, "attestation form"), Located(resource, "attestation form")],
                         source="attestation form")
    target = patient_node(graph)
    out = Graph()
    for s, p, o in mapped.graph:
        if s == mapped.patient:
            continue
        out.add((s, p, target if o == mapped.patient else o))
    return out


def records(graph: Graph, screener: Screener) -> dict[str, AttestationRecord]:
    """The patient's attestations (records typed eligo:Attestation or coded under eterm:AttestationTopic)."""
    terms = screener.terms
    out: dict[str, AttestationRecord] = {}
    for rec in set(graph.subjects(ELIGO.subject, None)):
        codes = [c for c in graph.objects(rec, ELIGO.code) if isinstance(c, URIRef)]
        topic = next((c for c in codes if ATTESTATION_TOPIC in terms.ancestors(c)), None)
        if topic is None and (rec, RDF.type, ELIGO.Attestation) not in graph:
            continue
        sid = str(graph.value(rec, ELIGO.sourceId) or rec)
        boolean, number = graph.value(rec, ELIGO.valueBoolean), graph.value(rec, ELIGO.value)
        if isinstance(boolean, Literal):
            value = "yes" if boolean.toPython() is True else "no"
        elif number is not None:
            value = f"{number} {graph.value(rec, ELIGO.unit) or ''}".strip()
        else:
            value = ""
        code = coding(topic)["code"] if topic is not None else ""
        out[sid] = AttestationRecord(sid, code, terms.label(topic) or code if topic is not None else "", value,
                                     str(graph.value(rec, ELIGO.date) or ""),
                                     str(graph.value(rec, ELIGO.performer) or ""))
    return dict(sorted(out.items(), key=lambda kv: (kv[1].date, kv[0])))


def bundle(recorded: dict[str, AttestationRecord], resources: dict[str, dict[str, Any]], topics: dict[str, Topic],
           patient_ref: str) -> dict[str, Any]:
    """The patient's attestations as a FHIR R4 collection Bundle: those recorded here as written (with their
    note), the others rebuilt from the patient graph."""
    entries = []
    for sid, rec in recorded.items():
        res = resources.get(sid)
        if res is None and rec.code in topics:
            topic = topics[rec.code]
            value: bool | Decimal = rec.value == "yes"
            if topic.unit is not None:
                try:
                    value = Decimal(rec.value.split()[0])
                except (InvalidOperation, IndexError):
                    continue
            when = dt.date.fromisoformat(rec.date[:10]) if rec.date[:10] else dt.date.today()
            res = observation(topic, patient_ref=patient_ref, who=rec.performer, when=when, value=value)
            res["id"] = sid.split("/", 1)[-1]
        if res is not None:
            entries.append({"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, sid)}", "resource": res})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def shown(value: bool | Decimal, topic: Topic) -> str:
    """A value as the page says it: yes / no, or the number and its unit."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value} {topic.unit}"


def explain(before: Screening, after: Screening, topic: Topic, source_id: str,
            recorded: dict[str, AttestationRecord]) -> list[str]:
    """What recording one attestation changed, in sentences for the page."""
    lines: list[str] = []
    if before.verdict is not after.verdict:
        lines.append(f"Verdict: {before.verdict.value.upper()} → {after.verdict.value.upper()}.")
    for b, a in zip(before.criteria, after.criteria, strict=True):
        if b.outcome is not a.outcome:
            lines.append(f"{a.id} {a.label}: {b.outcome.value} → {a.outcome.value}.")
    for cid in topic.criteria:
        a, b = after.result(cid), before.result(cid)
        if a.outcome is not b.outcome:
            continue
        data = [e.source_id for e in b.evidence if e.source_id not in recorded]
        if a.outcome is Outcome.NOT_MET and data:
            lines.append(f"Nothing changed for {cid}: it is not-met from the patient's data ({a.reason} Records: "
                         f"{', '.join(data)}). An attestation never overrides a data-derived not-met.")
        elif a.outcome is Outcome.NOT_MET:
            lines.append(f"{cid} stays not-met on the attestations already recorded "
                         f"({', '.join(e.source_id for e in b.evidence)}).")
        elif a.outcome is Outcome.UNKNOWN:
            lines.append(f"{cid} is still unknown: {a.reason}" + (f" It needs: {'; '.join(a.needs)}"
                                                                     if a.needs else ""))
        else:
            lines.append(f"{cid} stays {a.outcome.value}.")
    data_not_met = [c.id for c in after.criteria if c.outcome is Outcome.NOT_MET
                    and any(e.source_id not in recorded for e in c.evidence)]
    if data_not_met and before.verdict is after.verdict:
        lines.append(f"The verdict stays {after.verdict.value.upper()}: {', '.join(data_not_met)} not-met from the "
                     "patient's data, and an attestation never overrides a data-derived not-met.")
    return lines
