"""Unrecognised is not absent (CRITERIA.md, Terminology): codes recognised through their category,
medications through their ingredients, and the doubts a record with unrecognised codes raises."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef

from eligo import Screener
from eligo.engine.derive import Deriver
from eligo.ingest.fhir_json import resources_from_document
from eligo.ingest.fhir_map import code_iri, map_patient
from eligo.model import ATC, ELIGO, ETERM, ICD10CM, ICDO3, RXNORM
from eligo.notices import DataWarning, WarningKind
from eligo.terms import TermModule
from eligo.trial import Trial

INDEX = dt.date(2026, 12, 1)
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


# ------------------------------------------------------------ codes that carry their hierarchy
@pytest.mark.parametrize(("code", "category", "group"), [
    (ICD10CM["I50.32"], ICD10CM["I50.32"], ETERM.CongestiveHeartFailure),   # listed itself
    (ICD10CM["I50.9"], ICD10CM["I50.9"], ETERM.CongestiveHeartFailure),
    (ICD10CM["J84.112"], ICD10CM["J84.112"], ETERM.InterstitialLungDisease),
    (ICD10CM["I21.A19"], ICD10CM["I21.A1"], ETERM.MyocardialInfarction),    # a code below a listed one
    (ICDO3["8500-33"], ICDO3["8500-3"], ETERM.AdenocarcinomaMorphology),   # 6th digit: grade
    (ATC["J01GB01"], ATC["J01G"], ETERM.AntiInfective),                      # tobramycin, under J01G
])
def test_code_below_a_listed_code_is_recognised_as_it(terms: TermModule, code: URIRef, category: URIRef,
                                                      group: URIRef) -> None:
    found = terms.recognise(code)
    assert found is not None
    assert (found.via or found.code) == category
    assert group in terms.ancestors(code)


@pytest.mark.parametrize("code", [
    ICDO3["8500-2"],      # in situ: the behaviour digit is never dropped
    ICD10CM["I5"],        # shorter than a category
    ICD10CM["Z99.89"],    # nothing listed above it
    ATC["L"],             # an anatomical main group covers nothing
])
def test_codes_not_below_a_listed_code_stay_unrecognised(terms: TermModule, code: URIRef) -> None:
    assert terms.recognise(code) is None
    assert not terms.is_known(code)
    assert terms.ancestors(code) == frozenset({code})


def test_listed_code_decides_for_itself(terms: TermModule) -> None:
    """I21.A1 is listed: it is recognised as itself, not through a shorter code."""
    found = terms.recognise(ICD10CM["I21.A1"])
    assert found is not None and found.via is None and found.hierarchy is None


def test_hierarchies_are_term_module_data(terms: TermModule) -> None:
    namespaces = {h.namespace for h in terms.hierarchies}
    assert namespaces == {str(ICD10CM), str(ICDO3), str(ATC)}


# ------------------------------------------------------------ names that raise doubt
@pytest.mark.parametrize(("text", "named"), [
    ("Enhertu 100 mg IV", "Enhertu"),
    ("fam-trastuzumab deruxtecan-nxki", "fam-trastuzumab deruxtecan"),
    ("TDXd 5.4mg/kg", "TDXd"),
    ("T DM1", "T DM1"),
    ("KADCYLA", "KADCYLA"),
    ("disitamab vedotin (RC48)", "disitamab vedotin"),
])
def test_adc_names_are_found(terms: TermModule, text: str, named: str) -> None:
    screen = next(s for s in terms.name_screens if s.group == ETERM.AntiHER2ADC)
    assert screen.find(text) == named


@pytest.mark.parametrize("text", ["Herceptin 440 mg", "trastuzumab-dkst", "pertuzumab", "Kadcylamide", ""])
def test_other_names_are_not(terms: TermModule, text: str) -> None:
    screen = next(s for s in terms.name_screens if s.group == ETERM.AntiHER2ADC)
    assert screen.find(text) is None


def _bundle(*resources: dict[str, Any]) -> Graph:
    doc = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1970-01-01"}},
        *({"resource": r} for r in resources)]}
    return map_patient(list(resources_from_document(doc, "t.json")), source="t.json").graph


def _admin(rid: str, med: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationAdministration", "id": rid, "status": "completed",
            "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2025-03-01", **med, **extra}


def _record(g: Graph, rid: str) -> URIRef:
    return next(s for s in g.subjects(ELIGO.sourceId, Literal(f"MedicationAdministration/{rid}")))


# ------------------------------------------------------------ Medication.ingredient
def test_bundled_medication_ingredient_gives_the_code() -> None:
    med = {"resourceType": "Medication", "id": "kad", "code": {"text": "Kadcyla 100 mg vial"},
           "ingredient": [{"itemCodeableConcept": {"coding": [{"system": RX, "code": "1371041"}]}}]}
    g = _bundle(med, _admin("a", {"medicationReference": {"reference": "Medication/kad"}}))
    rec = _record(g, "a")
    assert (rec, ELIGO.code, RXNORM["1371041"]) in g
    assert (rec, ELIGO.codeText, Literal("Kadcyla 100 mg vial")) in g


def test_contained_medication_and_substance_ingredients() -> None:
    admin = _admin("a", {"medicationReference": {"reference": "#m"}}, contained=[
        {"resourceType": "Medication", "id": "m", "ingredient": [
            {"itemReference": {"reference": "#s", "display": "trastuzumab emtansine"}}]},
        {"resourceType": "Substance", "id": "s", "code": {"coding": [{"system": RX, "code": "1371041"}]}}])
    g = _bundle(admin)
    rec = _record(g, "a")
    assert (rec, ELIGO.code, RXNORM["1371041"]) in g
    assert (rec, ELIGO.codeText, Literal("trastuzumab emtansine")) in g


def test_unresolved_ingredient_is_a_data_problem() -> None:
    med = {"resourceType": "Medication", "id": "x", "ingredient": [{"itemReference": {"reference": "Substance/gone"}}]}
    g = _bundle(med, _admin("a", {"medicationReference": {"reference": "Medication/x"}}))
    problems = [str(p) for p in g.objects(_record(g, "a"), ELIGO.dataProblem)]
    assert any("ingredient[0].itemReference does not resolve" in p for p in problems), problems


# ------------------------------------------------------------ derivation of doubts
def _derived(trial: Trial, terms: TermModule, med: dict[str, Any]) -> tuple[Graph, URIRef, tuple[DataWarning, ...]]:
    g = _bundle(_admin("a", med))
    d = Deriver(trial, terms).derive(g, index_date=INDEX, rules=[])
    return d.graph, _record(d.graph, "a"), d.warnings


def test_text_only_adc_may_be_an_adc(trial: Trial, terms: TermModule) -> None:
    g, rec, warnings = _derived(trial, terms, {"medicationCodeableConcept": {"text": "Enhertu 100 mg"}})
    assert (rec, ELIGO.mayBe, ETERM.AntiHER2ADC) in g
    assert (rec, ELIGO.codeUnrecognised, Literal(True)) in g
    assert any(w.kind is WarningKind.POSSIBLE_MEMBER and "may be anti-HER2 antibody-drug conjugate" in w.text
               and "Enhertu" in w.text for w in warnings), warnings


def test_plain_trastuzumab_naming_an_adc_may_be_an_adc(trial: Trial, terms: TermModule) -> None:
    cc = {"coding": [{"system": RX, "code": "224905", "display": "trastuzumab"}], "text": "ado-trastuzumab emtansine"}
    g, rec, _w = _derived(trial, terms, {"medicationCodeableConcept": cc})
    assert (rec, ELIGO.mayBe, ETERM.AntiHER2ADC) in g
    assert (rec, ELIGO.codeUnrecognised, None) not in g


def test_coded_adc_raises_no_doubt(trial: Trial, terms: TermModule) -> None:
    cc = {"coding": [{"system": RX, "code": "1371041"}], "text": "Kadcyla"}
    g, rec, _w = _derived(trial, terms, {"medicationCodeableConcept": cc})
    assert (rec, ELIGO.mayBe, None) not in g


def test_recognised_non_confusable_drug_text_is_not_screened(trial: Trial, terms: TermModule) -> None:
    cc = {"coding": [{"system": RX, "code": "72962"}], "text": "docetaxel, then Enhertu planned"}
    g, rec, _w = _derived(trial, terms, {"medicationCodeableConcept": cc})
    assert (rec, ELIGO.mayBe, None) not in g


def test_category_recognition_is_reported(trial: Trial, terms: TermModule) -> None:
    cond = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I21.A19"}]},
            "onsetDateTime": "2026-10-01"}
    d = Deriver(trial, terms).derive(_bundle(cond), index_date=INDEX, rules=[])
    assert any(w.kind is WarningKind.CODE_READ_AS_LISTED and "I21.A19 read as" in w.text and "I21.A1" in w.text
               for w in d.warnings), d.warnings
    assert (ICD10CM["I21.A19"], URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
            ETERM.MyocardialInfarction) in d.graph


# ------------------------------------------------------------ end to end: reason, needs, evidence
def test_ex06_needs_names_the_unrecognised_drug(screener: Screener, tmp_path: Any) -> None:
    import json
    admin = _admin("z", {"medicationCodeableConcept": {
        "coding": [{"system": "http://hospital.example.org/fhir/CodeSystem/drugs", "code": "88001"}],
        "text": "Zerbaxa 1.5 g IV"}}, effectiveDateTime="2026-11-26",
        dosage={"route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]}})
    doc = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1970-01-01"}},
        {"resource": admin}]}
    f = tmp_path / "p.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    ex06 = screener.check(f, index_date=INDEX).result("EX06")
    assert ex06.outcome.value == "unknown", ex06.reason
    assert [e.source_id for e in ex06.evidence] == ["MedicationAdministration/z"]
    assert any("'Zerbaxa 1.5 g IV'" in n and "not an antibiotic" in n for n in ex06.needs), ex06.needs
    assert "{records}" not in " ".join(ex06.needs)


def test_code_iri_of_icd10cm_keeps_the_dot() -> None:
    assert code_iri("http://hl7.org/fhir/sid/icd-10-cm", "I50.32") == ICD10CM["I50.32"]
