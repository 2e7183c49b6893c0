"""End-to-end screening of records coded the way real exports code them (issue #11).

Every test starts from the fully eligible FHIR patient ``examples/eligible.json``,
adds or changes the one thing under test, writes the Bundle to a file and
screens it through the public API at the index date 2026-12-01. All other
criteria stay met, so the verdict is driven by the scenario.

The records imitate three sources:

- Synthea: RxNorm brand / clinical-drug codes in ``MedicationRequest``
  (``authoredOn`` with a time and offset, ``subject`` as the patient's
  ``urn:uuid`` fullUrl), SNOMED CT conditions, CVX immunisations;
- CodeX / mCODE (structures as in ``../shared/fhir-examples/codex``): profiled
  MedicationStatements / MedicationAdministrations with the procedure-intent
  extension;
- hospital EHR exports: ICD-10-CM subcodes, ``Medication`` resources (bundled or
  contained) referenced by ``medicationReference`` and coded only through
  ``ingredient[].itemCodeableConcept``, text-only medications, local drug codes,
  LOINC method variants (LVEF by MUGA, HBsAg by neutralisation).

Where each code was verified (never invented; the local hospital code system of
the EX06 test is local by design):

- RxNorm 2267582 (T-DXd), 1371041 (T-DM1): CRITERIA.md FHIR input contract and
  ../shared/terminology/verified-codes.csv (CodeX trial-matching medications.json).
- RxNorm 1371046 "Kadcyla(TDM-1)", 101306 "Herceptin", 1298949 "Perjeta":
  emitted by Synthea, synthetichealth/synthea@1c97483f
  src/main/resources/modules/breast_cancer/hormonetherapy_breast.json (read).
- RxNorm 202982 "Taxotere" (docetaxel brand): emitted by Synthea,
  synthetichealth/synthea@c83055e1 .../breast_cancer/chemotherapy_breast.json
  (read); also verified-codes.csv.
- RxNorm 1922512 "Herceptin 150 MG Injection", 1298953 "Perjeta 420 MG per 14 ML
  Injection", 1860486 "4 ML Taxotere 20 MG/ML Injection": verified-codes.csv
  (mcode/clinical-trial-matching-app medications.json).
- RxNorm 2193 "Ceftriaxone": public FHIR example (FSH MedicationStatement
  ``$rxnorm#2193 "Ceftriaxone"``, find_string hit id 10159408176).
- RxNorm 224905 trastuzumab, 1658084 Kadcyla product, 375983 vancomycin
  injectable solution; SNOMED 47625008 intravenous route, 22298006 MI, 363406005
  malignant tumour of colon, 10828004 positive, 11214006 reactive; LOINC 18043-0,
  10230-1, 5196-1; ICD-10-CM J84.112, J84.10, I26.99, G95.20, B20; CVX 21:
  the term module ontology/terms/*.ttl (each with its source there).
- LOINC 8812-0 (LVEF by nuclear blood pool), 7905-3 (HBsAg by neutralization);
  ICD-10-CM I50.32, I21.A1: verified-codes.csv (VSAC value sets).
- ICD-10-CM I50.81 "Right heart failure" (non-billable subcategory of I50.8, parent of
  I50.810-I50.814): https://littleden.blog/icd10/code/i50.81/ and
  https://www.healthassure.in/codes/icd10-i50810-right-heart-failure-unspecified (code hierarchy
  I50 > I50.8 > I50.81), pages corpus.
- SNOMED 700250006 "Idiopathic pulmonary fibrosis (disorder)": verified-codes.csv
  (VSAC) and a public code list ("('700250006','Idiopathic pulmonary fibrosis
  (disorder)','SNOMED-CT')", find_string hit id 9525616182).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import eligo
from eligo import Outcome, Verdict
from eligo.paths import EXAMPLES_DIR

INDEX = dt.date(2026, 12, 1)
ELIGIBLE = EXAMPLES_DIR / "eligible.json"

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
LOCAL_DRUGS = "http://hospital.example.org/fhir/CodeSystem/drugs"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"

PATIENT = {"reference": "Patient/eligible"}
SYNTHEA_PATIENT = {"reference": "urn:uuid:Patient-eligible"}  # Synthea refers to the patient's fullUrl
IV_ROUTE = {"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route (qualifier value)"}]}


# ---------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def screener() -> eligo.Screener:
    return eligo.Screener(trial="tdxd-her2-liquid-biopsy")


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    c = {"system": system, "code": code}
    if display is not None:
        c["display"] = display
    return c


def concept(*codings: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    cc: dict[str, Any] = {}
    if codings:
        cc["coding"] = list(codings)
    if text is not None:
        cc["text"] = text
    return cc


def base_bundle() -> dict[str, Any]:
    """A fresh copy of the eligible patient."""
    return copy.deepcopy(json.loads(ELIGIBLE.read_text(encoding="utf-8")))


def add(bundle: dict[str, Any], *resources: dict[str, Any]) -> dict[str, Any]:
    for r in resources:
        bundle["entry"].append({"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r})
    return bundle


def resource(bundle: dict[str, Any], rtype: str, rid: str) -> dict[str, Any]:
    for e in bundle["entry"]:
        if e["resource"]["resourceType"] == rtype and e["resource"].get("id") == rid:
            return e["resource"]
    raise KeyError(f"{rtype}/{rid} not in the bundle")


def screen(screener: eligo.Screener, tmp_path: Path, bundle: dict[str, Any]) -> eligo.Screening:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(bundle, indent=1), encoding="utf-8")
    return screener.check(path, index_date=INDEX)


def condition(rid: str, code: dict[str, Any], onset: str, *, clinical: str = "active",
              verification: str = "confirmed", category: str = "problem-list-item",
              subject: dict[str, str] = PATIENT) -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": rid, "subject": subject,
        "clinicalStatus": concept(coding("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical)),
        "verificationStatus": concept(coding("http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                             verification)),
        "category": [concept(coding("http://terminology.hl7.org/CodeSystem/condition-category", category))],
        "code": code, "onsetDateTime": onset,
    }


def observation(rid: str, code: dict[str, Any], when: str, **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": PATIENT,
            "code": code, "effectiveDateTime": when, **value}


def percent(v: float) -> dict[str, Any]:
    return {"valueQuantity": {"value": v, "unit": "%", "system": UCUM, "code": "%"}}


def administration(rid: str, when: str, *, medication: dict[str, Any], route: dict[str, Any] | None = IV_ROUTE,
                   **extra: Any) -> dict[str, Any]:
    """A MedicationAdministration; ``medication`` is {"medicationCodeableConcept": ...} or
    {"medicationReference": ...}."""
    r: dict[str, Any] = {"resourceType": "MedicationAdministration", "id": rid, "status": "completed",
                         "subject": PATIENT, **medication, "effectiveDateTime": when, **extra}
    if route is not None:
        r["dosage"] = {"route": route}
    return r


def statement(rid: str, medication: dict[str, Any], when: str) -> dict[str, Any]:
    """An mCODE cancer-related MedicationStatement (profile as in the CodeX examples)."""
    return {"resourceType": "MedicationStatement", "id": rid,
            "meta": {"profile": [MCODE + "mcode-cancer-related-medication-statement"]},
            "status": "completed", "subject": PATIENT, "medicationCodeableConcept": medication,
            "effectiveDateTime": when}


def synthea_request(rid: str, code: str, display: str, authored: str) -> dict[str, Any]:
    """A MedicationRequest as Synthea's FHIR R4 exporter writes it."""
    return {"resourceType": "MedicationRequest", "id": rid, "status": "stopped", "intent": "order",
            "medicationCodeableConcept": concept(coding(RXNORM, code, display), text=display),
            "subject": SYNTHEA_PATIENT, "authoredOn": authored}


def cited(result: eligo.CriterionResult) -> list[str]:
    return [e.source_id for e in result.evidence]


def explain(s: eligo.Screening) -> str:
    return "\n".join([f"verdict {s.verdict.value}"]
                     + [f"{c.id} {c.outcome.value}: {c.reason} | needs {list(c.needs)} | cites {cited(c)}"
                        for c in s.criteria if c.outcome is not Outcome.MET]
                     + [f"warning: {w}" for w in s.warnings])


def assert_outcome(s: eligo.Screening, cid: str, outcome: Outcome, *, verdict: Verdict | None = None,
                   cites: str | None = None) -> eligo.CriterionResult:
    r = s.result(cid)
    assert r.outcome is outcome, f"{cid}: expected {outcome.value}\n{explain(s)}"
    if verdict is not None:
        assert s.verdict is verdict, explain(s)
    if cites is not None:
        assert cites in cited(r), f"{cid} should cite {cites}\n{explain(s)}"
    return r


# ---------------------------------------------------------------------------- the base patient
def test_base_patient_is_eligible(screener: eligo.Screener, tmp_path: Path) -> None:
    """examples/eligible.json, written back through the helper, is eligible at 2026-12-01 with every
    criterion met (IN10 not applicable: no brain metastasis)."""
    s = screen(screener, tmp_path, base_bundle())
    assert s.verdict is Verdict.ELIGIBLE, explain(s)
    assert {c.id: c.outcome for c in s.criteria if c.outcome is not Outcome.MET} == {"IN10": Outcome.NOT_APPLICABLE}
    assert screener.check(ELIGIBLE, index_date=INDEX).verdict is Verdict.ELIGIBLE


# ---------------------------------------------------------------------------- 1-3 EX01 by code
def test_ex01_prior_tdxd_ingredient_code(screener: eligo.Screener, tmp_path: Path) -> None:
    """1. An mCODE cancer-related MedicationAdministration of T-DXd coded with its RxNorm ingredient 2267582."""
    tdxd = administration(
        "tdxd", "2024-06-03T09:30:00+02:00",
        medication={"medicationCodeableConcept": concept(coding(RXNORM, "2267582", "trastuzumab deruxtecan"))},
        meta={"profile": [MCODE + "mcode-cancer-related-medication-administration"]})
    s = screen(screener, tmp_path, add(base_bundle(), tdxd))
    assert_outcome(s, "EX01", Outcome.NOT_MET, verdict=Verdict.INELIGIBLE,
                   cites="MedicationAdministration/tdxd")


@pytest.mark.parametrize(("code", "display"), [
    ("1371046", "Kadcyla(TDM-1)"),            # brand name, as Synthea emits it
    ("1371041", "ado-trastuzumab emtansine"),  # ingredient
], ids=["brand-1371046", "ingredient-1371041"])
def test_ex01_prior_kadcyla_synthea_request(screener: eligo.Screener, tmp_path: Path, code: str,
                                            display: str) -> None:
    """2. Kadcyla as a Synthea MedicationRequest, coded with the brand or the ingredient RxNorm code."""
    req = synthea_request("kadcyla", code, display, "2024-05-14T10:15:32-04:00")
    s = screen(screener, tmp_path, add(base_bundle(), req))
    assert_outcome(s, "EX01", Outcome.NOT_MET, verdict=Verdict.INELIGIBLE, cites="MedicationRequest/kadcyla")


TDM1_MEDICATION = {
    "resourceType": "Medication", "id": "tdm1-vial", "status": "active",
    "form": concept(text="powder for solution for infusion"),
    "ingredient": [{"itemCodeableConcept": concept(coding(RXNORM, "1371041", "ado-trastuzumab emtansine")),
                    "isActive": True}],
}


@pytest.mark.parametrize("form", ["bundled-by-id", "bundled-by-fullUrl", "contained"])
def test_ex01_tdm1_medication_resource_ingredient(screener: eligo.Screener, tmp_path: Path, form: str) -> None:
    """3. An EHR export: T-DM1 as a Medication resource without Medication.code, its RxNorm code only in
    ingredient[0].itemCodeableConcept, referenced by medicationReference (bundled entry, by id or by
    fullUrl; or contained in the administration)."""
    med = copy.deepcopy(TDM1_MEDICATION)
    bundle = base_bundle()
    extra: dict[str, Any] = {}
    if form == "contained":
        extra["contained"] = [med]
        ref = "#tdm1-vial"
    else:
        add(bundle, med)
        ref = "Medication/tdm1-vial" if form == "bundled-by-id" else "urn:uuid:Medication-tdm1-vial"
    admin = administration("tdm1", "2024-07-22T11:00:00Z", medication={"medicationReference": {"reference": ref}},
                           **extra)
    s = screen(screener, tmp_path, add(bundle, admin))
    assert_outcome(s, "EX01", Outcome.NOT_MET, verdict=Verdict.INELIGIBLE, cites="MedicationAdministration/tdm1")


# ---------------------------------------------------------------------------- 4 LVEF by MUGA
MUGA = concept(coding(LOINC, "8812-0", "Left ventricular Ejection fraction by Nuclear blood pool"))


@pytest.mark.parametrize("echo_code", ["10230-1", "18043-0"])
def test_in11_newer_muga_lvef_below_threshold(screener: eligo.Screener, tmp_path: Path, echo_code: str) -> None:
    """4. A MUGA LVEF of 45% (2026-11-25) newer than an echo LVEF of 58% (2026-11-18), both in the 28-day
    window: the most recent decides and is below tdxd:lvefMin (50%)."""
    bundle = base_bundle()
    resource(bundle, "Observation", "lvef")["code"] = concept(coding(LOINC, echo_code))
    add(bundle, observation("lvef-muga", MUGA, "2026-11-25T08:40:00-05:00", **percent(45)))
    s = screen(screener, tmp_path, bundle)
    assert_outcome(s, "IN11", Outcome.NOT_MET, verdict=Verdict.INELIGIBLE, cites="Observation/lvef-muga")
    assert s.result("EX02").outcome is Outcome.NOT_MET, explain(s)  # (d) LVEF < 50% in the same window


def test_in11_muga_only_lvef_is_read(screener: eligo.Screener, tmp_path: Path) -> None:
    """4 (control). When the only LVEF in the window is a MUGA of 58%, IN11 is met on it."""
    bundle = base_bundle()
    lvef = resource(bundle, "Observation", "lvef")
    lvef["code"] = MUGA
    s = screen(screener, tmp_path, bundle)
    assert_outcome(s, "IN11", Outcome.MET, verdict=Verdict.ELIGIBLE, cites="Observation/lvef")


# ---------------------------------------------------------------------------- 5 EX02 ICD-10-CM subcodes
@pytest.mark.parametrize(("code", "display"), [
    ("I50.32", "Chronic diastolic (congestive) heart failure"),
    ("I50.81", "Right heart failure"),
], ids=["I50.32", "I50.81"])
def test_ex02_heart_failure_icd10cm_subcode_without_nyha(screener: eligo.Screener, tmp_path: Path, code: str,
                                                         display: str) -> None:
    """5. Heart failure coded with an ICD-10-CM subcode. I50.81 (the non-billable subcategory "Right heart
    failure" above I50.810-I50.814, as legacy problem lists carry it) is listed nowhere in the term module:
    it must be found through its category I50. EX02: heart failure without a NYHA class is unknown."""
    hf = condition("heart-failure", concept(coding(ICD10CM, code, display), text=display), "2024-02-11")
    s = screen(screener, tmp_path, add(base_bundle(), hf))
    r = assert_outcome(s, "EX02", Outcome.UNKNOWN, verdict=Verdict.NEEDS_DATA, cites="Condition/heart-failure")
    assert r.needs, explain(s)


def test_ex02_recent_myocardial_infarction_type_2(screener: eligo.Screener, tmp_path: Path) -> None:
    """5. A type 2 MI (ICD-10-CM I21.A1) with onset 2026-09-15, within 6 months before the index date."""
    mi = condition("mi", concept(coding(ICD10CM, "I21.A1", "Myocardial infarction type 2")), "2026-09-15",
                   category="encounter-diagnosis")
    s = screen(screener, tmp_path, add(base_bundle(), mi))
    assert_outcome(s, "EX02", Outcome.NOT_MET, verdict=Verdict.INELIGIBLE, cites="Condition/mi")


# ---------------------------------------------------------------------------- 6 IPF
@pytest.mark.parametrize("code", [
    coding(ICD10CM, "J84.112", "Idiopathic pulmonary fibrosis"),
    coding(SNOMED, "700250006", "Idiopathic pulmonary fibrosis (disorder)"),
], ids=["icd10cm-J84.112", "snomed-700250006"])
def test_ex03_idiopathic_pulmonary_fibrosis(screener: eligo.Screener, tmp_path: Path, code: dict[str, Any]) -> None:
    """6. Active idiopathic pulmonary fibrosis: current non-infectious ILD, read by EX03."""
    ipf = condition("ipf", concept(code), "2023-04-20")
    s = screen(screener, tmp_path, add(base_bundle(), ipf))
    assert_outcome(s, "EX03", Outcome.NOT_MET, verdict=Verdict.INELIGIBLE, cites="Condition/ipf")


# ---------------------------------------------------------------------------- 7 HBsAg
@pytest.mark.parametrize(("loinc", "display", "result"), [
    ("5196-1", "Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Immunoassay",
     coding(SNOMED, "10828004", "Positive (qualifier value)")),
    ("7905-3", "Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Neutralization test",
     coding(SNOMED, "10828004", "Positive (qualifier value)")),
    ("5196-1", "Hepatitis B virus surface Ag [Presence] in Serum or Plasma by Immunoassay",
     coding(SNOMED, "11214006", "Reactive (qualifier value)")),
], ids=["5196-1-positive", "7905-3-positive", "5196-1-reactive"])
def test_ex07_positive_hbsag(screener: eligo.Screener, tmp_path: Path, loinc: str, display: str,
                             result: dict[str, Any]) -> None:
    """7. The most recent HBsAg is positive: active hepatitis B, EX07 not-met (its shape)."""
    hbsag = observation("hbsag", concept(coding(LOINC, loinc, display)), "2026-11-24T07:55:00Z",
                        valueCodeableConcept=concept(result))
    s = screen(screener, tmp_path, add(base_bundle(), hbsag))
    assert_outcome(s, "EX07", Outcome.NOT_MET, verdict=Verdict.INELIGIBLE, cites="Observation/hbsag")


# ---------------------------------------------------------------------------- 8 IV ceftriaxone
def test_ex06_iv_ceftriaxone_six_days_before(screener: eligo.Screener, tmp_path: Path) -> None:
    """8. IV ceftriaxone (RxNorm 2193) administered 2026-11-25, six days before the index date."""
    cef = administration("ceftriaxone", "2026-11-25T14:05:00-05:00",
                         medication={"medicationCodeableConcept": concept(coding(RXNORM, "2193", "Ceftriaxone"),
                                                                          text="ceftriaxone 2 g IV")})
    s = screen(screener, tmp_path, add(base_bundle(), cef))
    assert_outcome(s, "EX06", Outcome.NOT_MET, verdict=Verdict.INELIGIBLE,
                   cites="MedicationAdministration/ceftriaxone")


# ---------------------------------------------------------------------------- 9 brand codes in the first line
FIRST_LINE_BRANDS = {
    "brand-names": {"trastuzumab": ("101306", "Herceptin"), "pertuzumab": ("1298949", "Perjeta"),
                    "docetaxel": ("202982", "Taxotere")},
    "branded-drugs": {"trastuzumab": ("1922512", "Herceptin 150 MG Injection"),
                      "pertuzumab": ("1298953", "Perjeta 420 MG per 14 ML Injection"),
                      "docetaxel": ("1860486", "4 ML Taxotere 20 MG/ML Injection")},
}


@pytest.mark.parametrize("kind", sorted(FIRST_LINE_BRANDS))
def test_in05_first_line_coded_with_brands(screener: eligo.Screener, tmp_path: Path, kind: str) -> None:
    """9. The first line (trastuzumab + pertuzumab + docetaxel) coded only with brand codes (Synthea's
    Herceptin / Perjeta / Taxotere) or branded clinical drugs: still trastuzumab + taxane, IN05 met, and
    the patient stays eligible."""
    bundle = base_bundle()
    for rid, (code, display) in FIRST_LINE_BRANDS[kind].items():
        resource(bundle, "MedicationStatement", rid)["medicationCodeableConcept"] = concept(
            coding(RXNORM, code, display), text=display)
    s = screen(screener, tmp_path, bundle)
    r = assert_outcome(s, "IN05", Outcome.MET, verdict=Verdict.ELIGIBLE)
    assert {"MedicationStatement/trastuzumab", "MedicationStatement/docetaxel"} <= set(cited(r)), explain(s)


# ---------------------------------------------------------------------------- 10 text safety net (EX01)
@pytest.mark.parametrize("medication", [
    concept(text="Enhertu 100 mg IV"),
    concept(coding(RXNORM, "224905", "trastuzumab deruxtecan")),
    concept(coding(RXNORM, "224905", "trastuzumab"), text="trastuzumab deruxtecan 5.4 mg/kg IV"),
], ids=["text-only-Enhertu", "trastuzumab-code-deruxtecan-display", "trastuzumab-code-deruxtecan-text"])
def test_ex01_text_names_an_adc(screener: eligo.Screener, tmp_path: Path, medication: dict[str, Any]) -> None:
    """10. A medication whose only code is unrecognised or absent, or is plain trastuzumab, while its text
    or display names T-DXd: EX01 unknown, asking to confirm, citing the record; never eligible."""
    ms = statement("adc-by-text", medication, "2025-03-04")
    s = screen(screener, tmp_path, add(base_bundle(), ms))
    r = assert_outcome(s, "EX01", Outcome.UNKNOWN, verdict=Verdict.NEEDS_DATA,
                       cites="MedicationStatement/adc-by-text")
    assert r.needs, explain(s)


def test_ex01_plain_trastuzumab_named_herceptin_is_not_an_adc(screener: eligo.Screener, tmp_path: Path) -> None:
    """10 (negative control). Plain trastuzumab whose text says Herceptin is no ADC: EX01 met."""
    ms = statement("herceptin", concept(coding(RXNORM, "224905", "trastuzumab"), text="Herceptin"), "2025-03-04")
    s = screen(screener, tmp_path, add(base_bundle(), ms))
    assert_outcome(s, "EX01", Outcome.MET, verdict=Verdict.ELIGIBLE)


# ---------------------------------------------------------------------------- 11 EX06 safety net
def test_ex06_unrecognised_iv_drug_five_days_before(screener: eligo.Screener, tmp_path: Path) -> None:
    """11. An IV administration 5 days before the index date of a drug coded only with a hospital's local
    code (Zerbaxa, an antibiotic, unknown to the term module): EX06 unknown, asking to confirm that it is
    not an anti-infective."""
    local = concept(coding(LOCAL_DRUGS, "ZERB-1500", "Zerbaxa 1.5 g IV"), text="Zerbaxa 1.5 g IV")
    admin = administration("local-iv-drug", "2026-11-26T21:10:00+01:00",
                           medication={"medicationCodeableConcept": local})
    s = screen(screener, tmp_path, add(base_bundle(), admin))
    r = assert_outcome(s, "EX06", Outcome.UNKNOWN, verdict=Verdict.NEEDS_DATA,
                       cites="MedicationAdministration/local-iv-drug")
    assert any(word in n.lower() for n in r.needs for word in ("anti-infective", "antibiotic")), explain(s)


# ---------------------------------------------------------------------------- 12 one realistic exclusion each
def _ex01() -> dict[str, Any]:
    # EHR: Kadcyla product code with its ATC code, IV, in the adjuvant period
    return administration("ex01", "2024-08-19T10:00:00+02:00", medication={"medicationCodeableConcept": concept(
        coding(RXNORM, "1658084"), coding("http://www.whocc.no/atc", "L01FD03", "trastuzumab emtansine"),
        text="KADCYLA (ado-trastuzumab emtansine) IV infusion")})


def _ex02() -> dict[str, Any]:
    # Synthea: myocardial infarction 3.5 months before the index date
    return condition("ex02", concept(coding(SNOMED, "22298006", "Myocardial infarction (disorder)"),
                                     text="Myocardial infarction (disorder)"),
                     "2026-08-14T03:12:45-04:00", category="encounter-diagnosis", subject=SYNTHEA_PATIENT)


def _ex03() -> dict[str, Any]:
    # EHR problem list: pulmonary fibrosis, active
    return condition("ex03", concept(coding(ICD10CM, "J84.10", "Pulmonary fibrosis, unspecified")), "2026-02-03")


def _ex04() -> dict[str, Any]:
    # EHR: pulmonary embolism 2 months before the index date
    return condition("ex04", concept(coding(ICD10CM, "I26.99", "Other pulmonary embolism without acute cor "
                                                                 "pulmonale")),
                     "2026-10-02", category="encounter-diagnosis")


def _ex05() -> dict[str, Any]:
    # EHR: metastatic cord compression, active
    return condition("ex05", concept(coding(ICD10CM, "G95.20", "Unspecified cord compression")), "2026-11-12",
                     category="encounter-diagnosis")


def _ex06() -> dict[str, Any]:
    # EHR: IV vancomycin 7 days before the index date
    return administration("ex06", "2026-11-24T08:00:00-05:00", medication={"medicationCodeableConcept": concept(
        coding(RXNORM, "375983", "vancomycin Injectable Solution"))})


def _ex07() -> dict[str, Any]:
    # EHR: HIV disease
    return condition("ex07", concept(coding(ICD10CM, "B20", "Human immunodeficiency virus [HIV] disease")),
                     "2019-05-06")


def _ex08() -> dict[str, Any]:
    # Synthea: varicella vaccine 19 days before the index date
    return {"resourceType": "Immunization", "id": "ex08", "status": "completed",
            "vaccineCode": concept(coding(CVX, "21", "varicella"), text="varicella"),
            "patient": SYNTHEA_PATIENT, "occurrenceDateTime": "2026-11-12T09:20:11-05:00", "primarySource": True}


def _ex09() -> dict[str, Any]:
    # Synthea: colon cancer diagnosed 18 months before the index date, active
    return condition("ex09", concept(coding(SNOMED, "363406005", "Malignant neoplasm of colon"),
                                     text="Malignant neoplasm of colon"),
                     "2025-06-02T14:30:00-04:00", category="encounter-diagnosis", subject=SYNTHEA_PATIENT)


EXCLUSIONS = {"EX01": _ex01, "EX02": _ex02, "EX03": _ex03, "EX04": _ex04, "EX05": _ex05, "EX06": _ex06,
              "EX07": _ex07, "EX08": _ex08, "EX09": _ex09}


@pytest.mark.parametrize("cid", sorted(EXCLUSIONS))
def test_each_exclusion_coded_as_exported(screener: eligo.Screener, tmp_path: Path, cid: str) -> None:
    """12. One realistic exported record per exclusion: that exclusion is not met and the patient is not
    eligible; the exclusion cites the record."""
    rec = EXCLUSIONS[cid]()
    s = screen(screener, tmp_path, add(base_bundle(), rec))
    r = s.result(cid)
    assert r.outcome is not Outcome.MET, explain(s)
    assert s.verdict is not Verdict.ELIGIBLE, explain(s)
    assert f"{rec['resourceType']}/{rec['id']}" in cited(r), explain(s)
