"""FHIR R4 reading: bundle kinds, references, value forms, errors and warnings."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD

from eligo import InputError, PatientGraphError, Screener
from eligo.cli import main
from eligo.engine.derive import Deriver
from eligo.ingest import read_patient
from eligo.ingest.fhir_json import resources_from_document
from eligo.ingest.fhir_map import map_patient
from eligo.model import ELIGO, LOINC, RXNORM
from eligo.notices import WarningKind
from eligo.paths import PROJECT_ROOT

CODEX = PROJECT_ROOT.parent / "shared" / "fhir-examples" / "codex"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-04-02"}


def bundle(*resources: dict[str, Any], btype: str = "collection", urn: bool = False) -> dict[str, Any]:
    entries = []
    for r in (PATIENT, *resources):
        e: dict[str, Any] = {"resource": r}
        e["fullUrl"] = f"urn:uuid:{r['id']}" if urn else f"http://example.org/{r['resourceType']}/{r['id']}"
        entries.append(e)
    return {"resourceType": "Bundle", "type": btype, "entry": entries}


def mapped(doc: dict[str, Any]):
    return map_patient(list(resources_from_document(doc, "test.json")), source="test.json")


def obs(oid: str, loinc: str, **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "effectiveDateTime": "2026-11-20", **value}


def node(m, rtype: str, rid: str) -> URIRef:
    return URIRef(f"https://eligo.dev/patient/p1/{rtype}/{rid}")


@pytest.mark.parametrize("btype", ["collection", "transaction", "searchset", "document", "batch"])
def test_bundle_types(btype: str) -> None:
    m = mapped(bundle(obs("o1", "10230-1", valueQuantity={"value": 55, "unit": "%", "system":
                                                            "http://unitsofmeasure.org", "code": "%"}), btype=btype))
    n = node(m, "Observation", "o1")
    assert (n, ELIGO.code, LOINC["10230-1"]) in m.graph
    assert (n, ELIGO.unit, Literal("%")) in m.graph
    assert (n, ELIGO.sourceId, Literal("Observation/o1")) in m.graph


def test_urn_uuid_subject_references() -> None:
    o = obs("o1", "10230-1", valueQuantity={"value": 55, "unit": "%"})
    o["subject"] = {"reference": "urn:uuid:p1"}
    m = mapped(bundle(o, urn=True))
    assert (node(m, "Observation", "o1"), ELIGO.subject, m.patient) in m.graph
    assert not m.warnings


def test_record_of_another_patient_is_not_used() -> None:
    o = obs("o1", "10230-1", valueQuantity={"value": 55, "unit": "%"})
    o["subject"] = {"reference": "Patient/other"}
    m = mapped(bundle(o))
    assert (node(m, "Observation", "o1"), None, None) not in m.graph
    assert any(w.kind is WarningKind.NOT_THE_PATIENTS and "Observation/o1" in w.text and "Patient/other" in w.text
               for w in m.warnings)


def test_partial_dates_and_periods_keep_their_precision() -> None:
    o = obs("o1", "10230-1", valueQuantity={"value": 55, "unit": "%"})
    o["effectiveDateTime"] = "2024-05"
    med = {"resourceType": "MedicationStatement", "id": "m1", "status": "completed",
           "subject": {"reference": "Patient/p1"}, "effectivePeriod": {"start": "2024", "end": "2025-02-03T10:00:00Z"},
           "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                     "code": "224905"}]}}
    m = mapped(bundle(o, med))
    assert (node(m, "Observation", "o1"), ELIGO.date, Literal("2024-05", datatype=XSD.gYearMonth)) in m.graph
    mn = node(m, "MedicationStatement", "m1")
    assert (mn, ELIGO.start, Literal("2024", datatype=XSD.gYear)) in m.graph
    assert (mn, ELIGO.end, Literal("2025-02-03T10:00:00Z", datatype=XSD.dateTime)) in m.graph
    assert (mn, ELIGO.code, RXNORM["224905"]) in m.graph


def test_medication_request_and_medication_reference() -> None:
    med = {"resourceType": "Medication", "id": "kadcyla",
           "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1371041"}]}}
    req = {"resourceType": "MedicationRequest", "id": "r1", "status": "completed", "intent": "order",
           "subject": {"reference": "Patient/p1"}, "authoredOn": "2025-01-10",
           "medicationReference": {"reference": "Medication/kadcyla"}}
    m = mapped(bundle(med, req))
    n = node(m, "MedicationRequest", "r1")
    assert (n, RDF.type, ELIGO.MedicationExposure) in m.graph
    assert (n, ELIGO.code, RXNORM["1371041"]) in m.graph
    assert (n, ELIGO.date, Literal("2025-01-10", datatype=XSD.date)) in m.graph


def test_wrong_types_are_reported_and_skipped() -> None:
    o = obs("o1", "718-7", valueQuantity="8.5 g/dL")
    o2 = obs("o2", "89247-1", valueInteger="one")
    m = mapped(bundle(o, o2))
    assert any(w.kind is WarningKind.UNREADABLE_ELEMENT and w.record == "Observation/o1" and "Quantity" in w.text
               for w in m.warnings)
    assert any(w.kind is WarningKind.UNREADABLE_ELEMENT and w.record == "Observation/o2"
               and "not an integer" in w.text for w in m.warnings)
    assert (node(m, "Observation", "o1"), ELIGO.value, None) not in m.graph


def test_attestations_and_components(screener: Screener) -> None:
    att = obs("a1", "x", valueBoolean=True, performer=[{"display": "J. Doe, research nurse"}])
    att["code"] = {"coding": [{"system": "https://eligo.dev/fhir/CodeSystem/eligo", "code": "informed-consent"}]}
    bone = obs("b1", "x", valueCodeableConcept={"coding": [{"system": "https://eligo.dev/fhir/CodeSystem/eligo",
                                                            "code": "lytic"}]})
    bone["code"] = {"coding": [{"system": "https://eligo.dev/fhir/CodeSystem/eligo", "code": "bone-lesion"}]}
    bone["component"] = [{"code": {"coding": [{"system": "https://eligo.dev/fhir/CodeSystem/eligo",
                                               "code": "irradiated-site"}]}, "valueBoolean": False}]
    m = mapped(bundle(att, bone))
    # read as an Observation; its code, under eterm:AttestationTopic, makes it an attestation in the derivation
    assert (node(m, "Observation", "a1"), RDF.type, ELIGO.Observation) in m.graph
    derived = Deriver(screener.trial, screener.terms).derive(m.graph, index_date=dt.date(2026, 12, 1)).graph
    assert (node(m, "Observation", "a1"), RDF.type, ELIGO.Attestation) in derived
    assert (node(m, "Observation", "a1"), RDF.type, ELIGO.Observation) not in derived
    assert (node(m, "Observation", "b1"), RDF.type, ELIGO.Observation) in derived
    assert (node(m, "Observation", "a1"), ELIGO.performer, Literal("J. Doe, research nurse")) in m.graph
    comp = m.graph.value(node(m, "Observation", "b1"), ELIGO.component)
    assert m.graph.value(comp, ELIGO.valueBoolean) == Literal(False)


def test_unmapped_resource_types_are_counted_not_dropped_silently() -> None:
    extra = {"resourceType": "FamilyMemberHistory", "id": "f1", "patient": {"reference": "Patient/p1"}}
    m = mapped(bundle(extra))
    assert any(w.kind is WarningKind.RESOURCE_TYPE_NOT_READ and "1 FamilyMemberHistory resource(s) not mapped" in w.text
               and "FamilyMemberHistory/f1" in w.text for w in m.warnings)


def test_duplicate_ids_are_reported() -> None:
    o = obs("o1", "10230-1", valueQuantity={"value": 55, "unit": "%"})
    m = mapped(bundle(o, copy.deepcopy(o)))
    assert any(w.kind is WarningKind.DUPLICATE_RESOURCES and w.record == "Observation/o1" for w in m.warnings)


@pytest.mark.parametrize(("resources", "message"), [
    ([], "no Patient"),
    ([dict(PATIENT, id="p2")], "2 Patient resources"),
])
def test_patient_count(resources: list[dict[str, Any]], message: str) -> None:
    doc = bundle(*resources)
    if not resources:
        doc["entry"] = []
    with pytest.raises(PatientGraphError, match=message):
        mapped(doc)


def test_malformed_json_names_file_and_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bundle.json"
    f.write_text('{"resourceType": "Bundle",\n "type": "collection", "entry": [}', encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2, column \d+"):
        read_patient(f)
    assert main(["check", str(f), "--index-date", "2026-12-01"]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and "malformed JSON" in err and len(err.strip().splitlines()) == 1


def test_entered_in_error_is_ignored_with_warning(tmp_path: Path, screener: Screener) -> None:
    o = obs("o1", "10230-1", valueQuantity={"value": 55, "unit": "%"}, status="entered-in-error")
    f = tmp_path / "b.json"
    f.write_text(json.dumps(bundle(o)), encoding="utf-8")
    s = screener.check(f, index_date=dt.date(2026, 12, 1))
    assert any(w.kind is WarningKind.ENTERED_IN_ERROR and "Observation/o1" in w.text for w in s.warnings)


@pytest.mark.skipif(not CODEX.is_dir(), reason="../shared/fhir-examples not beside this checkout")
@pytest.mark.parametrize("name", ["TrialMatching_Patient01.json", "TrialMatching_Patient02.json"])
def test_codex_bundles_ingest_cleanly(name: str) -> None:
    p = read_patient(CODEX / name)
    assert not [w for w in p.warnings if "not used" in w.text or "ignored" in w.text], p.warnings
    assert len(set(p.graph.subjects(RDF.type, ELIGO.Patient))) == 1


def test_reference_range_in_another_unit_is_converted(screener: Screener, tmp_path: Path) -> None:
    """Bilirubin in umol/L against a ULN given in mg/dL (1.2 mg/dL = 20.5 umol/L)."""
    bili = obs("b1", "1975-2", valueQuantity={"value": 30, "unit": "umol/L", "system": "http://unitsofmeasure.org",
                                              "code": "umol/L"},
               referenceRange=[{"high": {"value": 1.2, "unit": "mg/dL", "system": "http://unitsofmeasure.org",
                                         "code": "mg/dL"}}])
    m = mapped(bundle(bili))
    n = node(m, "Observation", "b1")
    assert m.graph.value(n, ELIGO.referenceHighUnit) == Literal("mg/dL")
    derived = screener.deriver.derive(m.graph, index_date=dt.date(2026, 12, 1), rules=[])
    uln = derived.graph.value(n, ELIGO.normReferenceHigh)
    value = derived.graph.value(n, ELIGO.normValue)
    assert uln is not None and value is not None
    # both in the canonical unit: 30 umol/L is about 1.75 mg/dL, 1.46 x ULN
    assert 1.4 < float(value) / float(uln) < 1.5


@pytest.mark.skipif(not CODEX.is_dir(), reason="../shared/fhir-examples not beside this checkout")
@pytest.mark.parametrize(("name", "her2"), [
    ("TrialMatching_Patient01.json", "Observation/mCODETrialMatchingTumorMarker03PatientExample01"),
    ("TrialMatching_Patient02.json", None),
])
def test_codex_patients_are_ineligible_on_her2(name: str, her2: str | None, screener: Screener) -> None:
    s = screener.check(CODEX / name, index_date=dt.date(2026, 12, 1))
    assert s.verdict.value == "ineligible"
    in04 = s.result("IN04")
    assert in04.outcome.value == "not-met", in04.reason
    cited = [e.source_id for e in in04.evidence]
    assert cited and all(c.startswith("Observation/") for c in cited)
    if her2 is not None:
        assert her2 in cited
