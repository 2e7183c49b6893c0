"""Medication codes at product level are recognised as their ingredient's groups through FHIR."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from eligo import Screener
from eligo.notices import WarningKind

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def patient_with(tmp_path: Path, code: str, display: str) -> Path:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": "1970-01-01"}},
        {"resource": {"resourceType": "MedicationAdministration", "id": "m1", "status": "completed",
                      "subject": {"reference": "Patient/p"}, "effectivePeriod": {"start": "2025-03-01",
                                                                                  "end": "2025-08-01"},
                      "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code,
                                                                "display": display}]}}},
    ]}
    f = tmp_path / f"{code}.json"
    f.write_text(json.dumps(bundle), encoding="utf-8")
    return f


@pytest.mark.parametrize(("code", "display"), [
    ("1658084", "Kadcyla (ado-trastuzumab emtansine) product"),
    ("2267576", "Enhertu (fam-trastuzumab deruxtecan) product"),
])
def test_adc_brand_products_exclude(tmp_path: Path, screener: Screener, code: str, display: str) -> None:
    s = screener.check(patient_with(tmp_path, code, display), index_date=dt.date(2026, 12, 1))
    ex01 = s.result("EX01")
    assert ex01.outcome.value == "not-met", ex01.reason
    assert [e.source_id for e in ex01.evidence] == ["MedicationAdministration/m1"]
    assert not [w for w in s.warnings if w.kind is WarningKind.UNRECOGNISED_CODE]


def test_biosimilar_product_counts_as_trastuzumab(tmp_path: Path, screener: Screener) -> None:
    s = screener.check(patient_with(tmp_path, "2289227", "Ontruzant (trastuzumab-dttb) product"),
                       index_date=dt.date(2026, 12, 1))
    assert not [w for w in s.warnings if w.kind is WarningKind.UNRECOGNISED_CODE]
    assert s.result("EX01").outcome.value == "met"  # an antibody, not an antibody-drug conjugate
    assert "MedicationAdministration/m1" in {e.source_id for e in s.result("IN13").evidence}
